package siplimit

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/mtlstrust"
)

// streamCase is one stream transport under test: plain TCP or TLS,
// behind a siplimit Listener or (to show what the limits prevent) the
// plain listener a program would otherwise hand to sipgo.
type streamCase struct {
	name    string
	tls     bool
	limited bool
}

var streamCases = []streamCase{{"tcp", false, true}, {"tls", true, true}}

// start serves a real sipgo server on a new listener on 127.0.0.1 with
// lim.
func (sc streamCase) start(t *testing.T, lim Limits) (addr string, roots *x509.CertPool, srv *sipServer, l *Listener) {
	t.Helper()
	return sc.serveOn(t, listenTCP(t), lim)
}

// serveOn serves a real sipgo server on ln with lim.
func (sc streamCase) serveOn(t *testing.T, ln net.Listener, lim Limits) (addr string, roots *x509.CertPool, srv *sipServer, l *Listener) {
	t.Helper()
	srv = newSIPServer(t)
	var p pki
	if sc.tls {
		p = newPKI(t)
		roots = p.roots
	}
	var served net.Listener = ln
	switch {
	case sc.limited && sc.tls:
		l = NewTLSListener(ln, p.server, lim, mtlstrust.ListenerOptions{Side: diag.NodeSide})
		served = l
	case sc.limited:
		l = NewListener(ln, lim)
		served = l
	case sc.tls:
		served = tls.NewListener(ln, p.server)
	}
	srv.serve(t, served, sc.tls)
	return ln.Addr().String(), roots, srv, l
}

func (sc streamCase) transport() string {
	if sc.tls {
		return "TLS"
	}
	return "TCP"
}

// A client registers through the listeners, and the registrar finds the
// TLS state of a TLS connection through the ConnectionState interface,
// and none on plain TCP.
func TestStreamRegister(t *testing.T) {
	t.Parallel()
	for _, sc := range streamCases {
		t.Run(sc.name, func(t *testing.T) {
			addr, roots, srv, l := sc.start(t, Limits{})
			c := dial(t, "", addr, roots)
			br := bufio.NewReader(c)
			for i := range 3 {
				// Keep-alives between the requests pass.
				ka := "\r\n"
				if i == 0 {
					ka = "\r\n\r\n"
				}
				if _, err := c.Write([]byte(ka)); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					// The pong to a double CRLF (RFC 5626 §3.5.1).
					_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
					pong := make([]byte, 2)
					if _, err := br.Read(pong); err != nil || string(pong) != "\r\n" {
						t.Fatalf("pong %q, %v", pong, err)
					}
				}
				if _, err := c.Write([]byte(request(sc.transport(), "reg-"+sc.name+string(rune('a'+i)), "0", ""))); err != nil {
					t.Fatal(err)
				}
				res, err := readResponse(c, br, 5*time.Second)
				if err != nil || statusLine(res) != "SIP/2.0 200 OK" {
					t.Fatalf("answer %q, %v", res, err)
				}
			}
			if got := <-srv.tlsState; got != sc.tls {
				t.Fatalf("TLS state found: %v, want %v", got, sc.tls)
			}
			if s := l.Stats(); s.Accepted != 1 || s.Messages != 3 || s.Open != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// Connections that send nothing, or a message a byte at a time, are
// closed by the timeouts; a client that sends CRLF keep-alives stays.
// Behind a plain listener, the same connections stay open.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	lim := Limits{HandshakeTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, MessageTimeout: 600 * time.Millisecond}
	cases := append(streamCases, streamCase{"tcp plain", false, false}, streamCase{"tls plain", true, false})
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			addr, roots, _, l := sc.start(t, lim)
			idle := dial(t, "", addr, roots)
			dribble := dial(t, "", addr, roots)
			alive := dial(t, "", addr, roots)
			var silent net.Conn // TCP only, no handshake
			if sc.tls {
				silent = dial(t, "", addr, nil)
			}
			stop := make(chan struct{})
			defer close(stop)
			go func() { // a message, a byte every 50 ms: 16 s in all
				msg := request(sc.transport(), "slow", "0", "")
				for i := range len(msg) {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
					if _, err := dribble.Write([]byte{msg[i]}); err != nil {
						return
					}
				}
			}()
			go func() { // keep-alives every 100 ms
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					if _, err := alive.Write([]byte("\r\n")); err != nil {
						return
					}
				}
			}()

			// Behind a plain listener, twice the timeouts show the
			// connections would stay.
			wait := 3 * time.Second
			if !sc.limited {
				wait = 1200 * time.Millisecond
			}
			start := time.Now()
			closed := closedWithin(idle, wait)
			if sc.limited != closed {
				t.Fatalf("idle connection closed: %v after %v", closed, time.Since(start))
			}
			closed = closedWithin(dribble, wait)
			if sc.limited != closed {
				t.Fatalf("dribbling connection closed: %v after %v", closed, time.Since(start))
			}
			if silent != nil {
				if closed := closedWithin(silent, wait); sc.limited != closed {
					t.Fatalf("connection without a handshake closed: %v", closed)
				}
			}
			if !sc.limited {
				return // the plain listener keeps them all: the attack works
			}
			// The keep-alive client outlived the idle timeout several times
			// over and still registers.
			if res, err := registerOver(alive, sc.transport(), "alive"); err != nil || statusLine(res) != "SIP/2.0 200 OK" {
				t.Fatalf("keep-alive client: %q, %v", res, err)
			}
			s := l.Stats()
			if s.ClosedIdle != 1 || s.ClosedSlowMessage != 1 || sc.tls && s.HandshakeFailures != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// Connections over the per-source and total caps are closed as soon as
// accepted: 127.0.0.1 keeps three (its cap), then ::1, under its own cap,
// the two left under the total. Once connections close, both register
// again. A plain listener accepts them all.
// Not parallel: a connection counts as kept when it is not closed within
// 150 ms, which parallel load would stretch.
func TestCaps(t *testing.T) {
	for _, sc := range []streamCase{{"tcp", false, true}, {"tls", true, true}, {"tcp plain", false, false}} {
		t.Run(sc.name, func(t *testing.T) {
			dl := listenTCPDual(t)
			addr4, addr6 := dl.Addr().String(), dl.Addr6().String()
			_, roots, _, l := sc.serveOn(t, dl, Limits{MaxConns: 5, MaxConnsPerSource: 3})
			var flood []net.Conn
			open := func(from, addr string, n int) (kept int) {
				for range n {
					c, err := dialErr(from, addr, roots)
					if err != nil {
						continue // TLS: refused before the handshake ended
					}
					flood = append(flood, c)
					if !closedWithin(c, 150*time.Millisecond) {
						kept++
					}
				}
				return kept
			}
			a := open("127.0.0.1", addr4, 5)
			b := open("::1", addr6, 5)
			if !sc.limited {
				if a != 5 || b != 5 {
					t.Fatalf("plain listener kept %d and %d", a, b)
				}
				return
			}
			if a != 3 || b != 2 {
				t.Fatalf("kept %d from 127.0.0.1 and %d from ::1, want 3 and 2", a, b)
			}
			s := l.Stats()
			if s.Open != 5 || s.RefusedPerSource != 2 || s.RefusedTotal != 3 {
				t.Fatalf("stats %+v", s)
			}
			for _, c := range flood {
				c.Close()
			}
			if !waitFor(2*time.Second, func() bool { return l.Stats().Open == 0 }) {
				t.Fatalf("still open: %+v", l.Stats())
			}
			mustRegister(t, "127.0.0.1", addr4, roots)
			mustRegister(t, "::1", addr6, roots)
		})
	}
}

// A REGISTER with an invalid Content-Length or a CSeq sipgo does not
// read (a number of 2**31 or more, letters, no method) gets 400 Bad
// Request, one over the size limit 513 Message Too Large, from the
// listener itself, with the request's Call-ID and CSeq; sipgo never sees
// them and the connection closes. A plain listener closes it without a
// word.
func TestStreamRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cl, cseq, status string
	}{
		{"negative", "-5", "", "SIP/2.0 400 Bad Request"},
		{"letters", "12abc", "", "SIP/2.0 400 Bad Request"},
		{"too large", "60000", "", "SIP/2.0 513 Message Too Large"},
		{"CSeq 2**31", "0", "2147483648 REGISTER", "SIP/2.0 400 Bad Request"},
		{"CSeq letters", "0", "abc REGISTER", "SIP/2.0 400 Bad Request"},
		{"CSeq no method", "0", "7", "SIP/2.0 400 Bad Request"},
	}
	cases := append(streamCases, streamCase{"tcp plain", false, false})
	for _, sc := range cases {
		for _, tt := range tests {
			t.Run(sc.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				addr, roots, srv, l := sc.start(t, Limits{})
				c := dial(t, "", addr, roots)
				callID := "bad-" + strings.ReplaceAll(tt.name, " ", "-")
				msg, cseq := request(sc.transport(), callID, tt.cl, ""), "7 REGISTER"
				if tt.cseq != "" {
					msg, cseq = strings.Replace(msg, "CSeq: 7 REGISTER", "CSeq: "+tt.cseq, 1), tt.cseq
				}
				if _, err := c.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				wait := 3 * time.Second
				if !sc.limited {
					wait = time.Second
				}
				res, err := readResponse(c, bufio.NewReader(c), wait)
				if !sc.limited {
					// sipgo drops the message and the connection silently.
					if res != "" || err == nil {
						t.Fatalf("plain listener answered %q", res)
					}
					return
				}
				if err != nil || !strings.HasPrefix(res, tt.status+"\r\n") {
					t.Fatalf("answer %q, %v", res, err)
				}
				if !strings.Contains(res, "\r\nCall-ID: "+callID+"\r\n") || !strings.Contains(res, "\r\nCSeq: "+cseq+"\r\n") ||
					!strings.Contains(header(res, "To"), ";tag=") || !strings.Contains(header(res, "Via"), "branch=z9hG4bK-"+callID) {
					t.Fatalf("answer does not match the request:\n%s", res)
				}
				if !closedWithin(c, 3*time.Second) {
					t.Fatal("connection left open")
				}
				s := l.Stats()
				bad, large := uint64(1), uint64(0)
				if strings.Contains(tt.status, "513") {
					bad, large = 0, 1
				}
				if s.Answered != 1 || s.BadFraming != bad || s.TooLarge != large || srv.registers.Load() != 0 || srv.parseErrors.Load() != 0 {
					t.Fatalf("stats %+v, sipgo saw %d, %d parse errors", s, srv.registers.Load(), srv.parseErrors.Load())
				}
			})
		}
	}
}

// A valid request pipelined before a refused one is served and both are
// answered; the answers never interleave.
func TestStreamPipelinedRefusal(t *testing.T) {
	t.Parallel()
	addr, roots, srv, _ := streamCase{"tcp", false, true}.start(t, Limits{})
	c := dial(t, "", addr, roots)
	msgs := request("TCP", "first", "0", "") + request("TCP", "second", "-1", "")
	if _, err := c.Write([]byte(msgs)); err != nil {
		t.Fatal(err)
	}
	var got []string
	br := bufio.NewReader(c)
	for {
		res, err := readResponse(c, br, 3*time.Second)
		if err != nil {
			break
		}
		got = append(got, statusLine(res)+" "+header(res, "Call-ID"))
		if n, err := sipgoParses([]byte(res)); n != 1 || err != nil {
			t.Fatalf("answer does not parse: %q", res)
		}
	}
	if len(got) != 2 || !contains(got, "SIP/2.0 400 Bad Request second") || !contains(got, "SIP/2.0 200 OK first") || srv.registers.Load() != 1 {
		t.Fatalf("answers %q; sipgo saw %d", got, srv.registers.Load())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Accept returns net.ErrClosed once the listener is closed, or the
// listener it wraps.
func TestListenerClose(t *testing.T) {
	t.Parallel()
	for _, wrapped := range []bool{false, true} {
		for _, useTLS := range []bool{false, true} {
			ln := listenTCP(t)
			var l *Listener
			if useTLS {
				l = NewTLSListener(ln, newPKI(t).server, Limits{}, mtlstrust.ListenerOptions{})
			} else {
				l = NewListener(ln, Limits{})
			}
			done := make(chan error, 1)
			go func() { _, err := l.Accept(); done <- err }()
			time.Sleep(20 * time.Millisecond)
			if wrapped {
				ln.Close()
			} else {
				l.Close()
			}
			select {
			case err := <-done:
				if err != net.ErrClosed {
					t.Fatalf("tls %v, inner closed %v: %v", useTLS, wrapped, err)
				}
			case <-time.After(3 * time.Second):
				t.Fatalf("tls %v, inner closed %v: Accept still waiting", useTLS, wrapped)
			}
		}
	}
}

// A TLS listener hands out *TLSConn, which alone has ConnectionState and
// NetConn (the *tls.Conn); a TCP listener hands out *Conn.
func TestConnTypes(t *testing.T) {
	t.Parallel()
	type tlsState interface{ ConnectionState() tls.ConnectionState }
	p := newPKI(t)
	for _, useTLS := range []bool{false, true} {
		ln := listenTCP(t)
		var l *Listener
		var roots *x509.CertPool
		if useTLS {
			l, roots = NewTLSListener(ln, p.server, Limits{}, mtlstrust.ListenerOptions{}), p.roots
		} else {
			l = NewListener(ln, Limits{})
		}
		defer l.Close()
		go func() {
			if c, err := dialErr("", ln.Addr().String(), roots); err == nil {
				defer c.Close()
				time.Sleep(time.Second)
			}
		}()
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		_, hasState := c.(tlsState)
		if tc, ok := c.(*TLSConn); useTLS != ok || useTLS != hasState {
			t.Fatalf("tls %v: %T", useTLS, c)
		} else if ok {
			if _, ok := tc.NetConn().(*tls.Conn); !ok || tc.ConnectionState().Version < tls.VersionTLS12 {
				t.Fatalf("NetConn %T, version %x", tc.NetConn(), tc.ConnectionState().Version)
			}
		} else if _, ok := c.(*Conn); !ok {
			t.Fatalf("%T", c)
		}
		c.Close()
	}
}

// TestSilentHandshakes: connections from one address that never start
// their TLS handshake, as many as its per-source cap allows, do not stop
// the handshakes of another address. (mtlstrust.Listener on its own
// stops accepting at 256 handshakes in progress, under the per-source
// cap of 512.)
// Not parallel: it bounds a registration's wall time.
func TestSilentHandshakes(t *testing.T) {
	dl := listenTCPDual(t)
	addr4, addr6 := dl.Addr().String(), dl.Addr6().String()
	p := newPKI(t)
	srv := newSIPServer(t)
	l := NewTLSListener(dl, p.server, Limits{MaxConns: 700, MaxConnsPerSource: 300}, mtlstrust.ListenerOptions{Side: diag.NodeSide})
	srv.serve(t, l, true)
	var silent []net.Conn
	t.Cleanup(func() {
		for _, c := range silent {
			c.Close()
		}
	})
	for range 300 {
		silent = append(silent, dial(t, "127.0.0.1", addr4, nil))
	}
	if !waitFor(5*time.Second, func() bool { return l.Stats().Open == 300 }) {
		t.Fatalf("stats %+v", l.Stats())
	}
	start := time.Now()
	mustRegister(t, "::1", addr6, p.roots)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the handshake from ::1 took %v", took)
	}
}
