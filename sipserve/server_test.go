package sipserve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/testca"
)

// register is a REGISTER with a branch of its own.
func register(branch string, cseq int) string {
	return "REGISTER sip:cluster.example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=" + branch + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:rado@cluster.example.com>;tag=f1\r\n" +
		"To: <sip:rado@cluster.example.com>\r\n" +
		"Call-ID: call-1@127.0.0.1\r\n" +
		fmt.Sprintf("CSeq: %d REGISTER\r\n", cseq) +
		"Contact: <sip:rado@127.0.0.1:5062>\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// counting answers 200 OK with a header counting its calls: answers to
// two runs of the same request differ.
type counting struct {
	calls atomic.Int64
	gate  chan struct{} // if set, each call waits for a value
	peers chan Peer
}

func (c *counting) ServeSIP(_ context.Context, req *sip.Request, p Peer) *sip.Response {
	n := c.calls.Add(1)
	if c.peers != nil {
		c.peers <- p
	}
	if c.gate != nil {
		<-c.gate
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("X-Call", fmt.Sprint(n)))
	return res
}

// udpPair starts s on a UDP socket of 127.0.0.1 and returns a client
// socket connected to it.
func udpPair(t *testing.T, s *Server) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeUDP(pc) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeUDP after Close: %v", err)
		}
	})
	c, err := net.DialUDP("udp", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readDatagram(t *testing.T, c *net.UDPConn, wait time.Duration) (string, bool) {
	t.Helper()
	buf := make([]byte, 65535)
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", false
		}
		t.Fatal(err)
	}
	return string(buf[:n]), true
}

func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestUDPRetransmission: a retransmitted request gets the bytes of the
// first answer again, and the Handler runs once.
func TestUDPRetransmission(t *testing.T) {
	t.Parallel()
	h := &counting{}
	s := &Server{Handler: h}
	c := udpPair(t, s)
	req := register("z9hG4bK-a1", 1)
	c.Write([]byte(req))
	first, ok := readDatagram(t, c, 5*time.Second)
	if !ok {
		t.Fatal("no answer")
	}
	if !strings.HasPrefix(first, "SIP/2.0 200 OK\r\n") || header(first, "X-Call") != "1" {
		t.Fatalf("first answer:\n%s", first)
	}
	// RFC 3581: the answer says where the request came from.
	if via := header(first, "Via"); !strings.Contains(via, "received=127.0.0.1") || !strings.Contains(via, fmt.Sprintf("rport=%d", c.LocalAddr().(*net.UDPAddr).Port)) {
		t.Errorf("Via of the answer: %s", via)
	}
	for range 3 {
		c.Write([]byte(req))
		again, ok := readDatagram(t, c, 5*time.Second)
		if !ok {
			t.Fatal("no answer to the retransmission")
		}
		if again != first {
			t.Fatalf("retransmission answered\n%s\nwant the first answer\n%s", again, first)
		}
	}
	// Another transaction (a new branch) runs the Handler again.
	c.Write([]byte(register("z9hG4bK-a2", 2)))
	next, _ := readDatagram(t, c, 5*time.Second)
	if header(next, "X-Call") != "2" {
		t.Fatalf("new transaction answered:\n%s", next)
	}
	st := s.Stats()
	if h.calls.Load() != 2 || st.Requests != 2 || st.Retransmissions != 3 || st.Cached != 2 {
		t.Fatalf("handler calls %d, stats %+v", h.calls.Load(), st)
	}
}

// TestUDPAbsorbed: retransmissions that arrive while their request is
// being handled are dropped; the one answer follows.
func TestUDPAbsorbed(t *testing.T) {
	t.Parallel()
	h := &counting{gate: make(chan struct{}), peers: make(chan Peer, 1)}
	s := &Server{Handler: h}
	c := udpPair(t, s)
	req := []byte(register("z9hG4bK-b1", 1))
	c.Write(req)
	p := <-h.peers // being handled
	if p.TLS != nil || p.Remote.String() != c.LocalAddr().String() || p.Local.String() != c.RemoteAddr().String() {
		t.Errorf("peer %+v, want remote %s local %s", p, c.LocalAddr(), c.RemoteAddr())
	}
	for range 3 {
		c.Write(req)
	}
	// Each retransmission is read before the answer is released.
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Absorbed < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(h.gate)
	if a, ok := readDatagram(t, c, 5*time.Second); !ok || header(a, "X-Call") != "1" {
		t.Fatalf("answer %q", a)
	}
	if extra, ok := readDatagram(t, c, 200*time.Millisecond); ok {
		t.Fatalf("a second answer:\n%s", extra)
	}
	if h.calls.Load() != 1 {
		t.Fatalf("handler ran %d times", h.calls.Load())
	}
}

// TestUDPCacheBound: the answers kept never pass RetransmitBytes; the
// oldest go first, and a retransmission of one that went runs the
// Handler again.
func TestUDPCacheBound(t *testing.T) {
	t.Parallel()
	h := &counting{}
	s := &Server{Handler: h, RetransmitBytes: 4000}
	c := udpPair(t, s)
	for i := range 40 {
		c.Write([]byte(register(fmt.Sprintf("z9hG4bK-c%d", i), i+1)))
		if _, ok := readDatagram(t, c, 5*time.Second); !ok {
			t.Fatal("no answer")
		}
		if st := s.Stats(); st.CachedBytes > 4000 {
			t.Fatalf("cache at %d bytes, bound 4000", st.CachedBytes)
		}
	}
	st := s.Stats()
	if st.Cached < 3 || st.Cached > 10 {
		t.Fatalf("%d answers kept in 4000 bytes", st.Cached)
	}
	// The last is kept, the first is not.
	c.Write([]byte(register("z9hG4bK-c39", 40)))
	if a, _ := readDatagram(t, c, 5*time.Second); header(a, "X-Call") != "40" {
		t.Fatalf("retransmission of the newest answered:\n%s", a)
	}
	c.Write([]byte(register("z9hG4bK-c0", 1)))
	if a, _ := readDatagram(t, c, 5*time.Second); header(a, "X-Call") != "41" {
		t.Fatalf("retransmission of the oldest answered:\n%s", a)
	}
}

// TestUDPNoCache: with RetransmitBytes below zero every datagram runs the
// Handler.
func TestUDPNoCache(t *testing.T) {
	t.Parallel()
	h := &counting{}
	s := &Server{Handler: h, RetransmitBytes: -1}
	c := udpPair(t, s)
	req := []byte(register("z9hG4bK-d1", 1))
	for i := 1; i <= 2; i++ {
		c.Write(req)
		if a, _ := readDatagram(t, c, 5*time.Second); header(a, "X-Call") != fmt.Sprint(i) {
			t.Fatalf("answer %d:\n%s", i, a)
		}
	}
	if st := s.Stats(); st.Cached != 0 || st.Retransmissions != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestUDPJunk: keep-alives, junk, responses and requests without a Via
// get nothing, and the server goes on answering.
func TestUDPJunk(t *testing.T) {
	t.Parallel()
	h := &counting{}
	s := &Server{Handler: h}
	c := udpPair(t, s)
	for _, d := range []string{
		"\r\n\r\n", "\x00", "GET / HTTP/1.1\r\n\r\n", "\x16\x03\x01\x00\xa5",
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		strings.Replace(register("z9hG4bK-e0", 1), "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-e0;rport\r\n", "", 1),
	} {
		c.Write([]byte(d))
	}
	if a, ok := readDatagram(t, c, 200*time.Millisecond); ok {
		t.Fatalf("junk answered:\n%s", a)
	}
	c.Write([]byte(register("z9hG4bK-e1", 1)))
	if a, _ := readDatagram(t, c, 5*time.Second); header(a, "X-Call") != "1" {
		t.Fatalf("answer after junk:\n%s", a)
	}
	st := s.Stats()
	if st.Responses != 1 || st.Malformed < 3 || st.Requests != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// streamPair starts s on ln and dials it.
func streamPair(t *testing.T, s *Server, ln net.Listener, dial func(addr string) (net.Conn, error)) net.Conn {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.ServeStream(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeStream after Close: %v", err)
		}
	})
	c, err := dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readResponses reads n messages from a stream.
func readResponses(t *testing.T, c net.Conn, n int) []*sip.Response {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var out []*sip.Response
	for len(out) < n {
		var msg bytes.Buffer
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("after %d answers: %v", len(out), err)
			}
			if line == "\r\n" && msg.Len() == 0 {
				continue // a pong
			}
			msg.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		m, err := sip.ParseMessage(msg.Bytes())
		if err != nil {
			t.Fatalf("answer %q: %v", msg.String(), err)
		}
		res, ok := m.(*sip.Response)
		if !ok {
			t.Fatalf("not a response: %s", msg.String())
		}
		out = append(out, res)
	}
	return out
}

// TestStreamTCP: requests pipelined on one connection are all answered,
// pings get a pong, responses are dropped, and the peer is the
// connection.
func TestStreamTCP(t *testing.T) {
	t.Parallel()
	h := &counting{peers: make(chan Peer, 3)}
	s := &Server{Handler: Methods{sip.REGISTER: h, sip.OPTIONS: OK}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := streamPair(t, s, ln, func(a string) (net.Conn, error) { return net.Dial("tcp", a) })
	// A ping first: its pong is the first thing on the stream.
	c.Write([]byte("\r\n\r\n"))
	pong := make([]byte, 2)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, pong); err != nil || string(pong) != "\r\n" {
		t.Fatalf("pong %q, %v", pong, err)
	}
	opts := strings.NewReplacer("REGISTER sip:", "OPTIONS sip:", "1 REGISTER", "1 OPTIONS").Replace(register("z9hG4bK-o", 1))
	var all bytes.Buffer
	all.WriteString(register("z9hG4bK-t1", 1))
	all.WriteString("SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	all.WriteString(register("z9hG4bK-t2", 2))
	all.WriteString(opts)
	c.Write(all.Bytes())
	got := map[string]int{}
	for _, r := range readResponses(t, c, 3) {
		if r.StatusCode != 200 {
			t.Fatalf("answer %s", r.String())
		}
		got[r.CSeq().MethodName.String()+fmt.Sprint(r.CSeq().SeqNo)]++
	}
	if got["REGISTER1"] != 1 || got["REGISTER2"] != 1 || got["OPTIONS1"] != 1 {
		t.Fatalf("answers %v", got)
	}
	for range 2 {
		p := <-h.peers
		if p.TLS != nil || p.Remote.String() != c.LocalAddr().String() || p.Local.String() != c.RemoteAddr().String() {
			t.Fatalf("peer %+v", p)
		}
	}
	if st := s.Stats(); st.Requests != 3 || st.Responses != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestStreamTLS: over TLS the Handler sees the connection's state.
func TestStreamTLS(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "sipserve test CA")
	cert := ca.Server(t, "127.0.0.1").TLS()
	h := &counting{peers: make(chan Peer, 1)}
	s := &Server{Handler: h}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(inner, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	c := streamPair(t, s, ln, func(a string) (net.Conn, error) {
		return tls.Dial("tcp", a, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	})
	c.Write([]byte(register("z9hG4bK-s1", 1)))
	if r := readResponses(t, c, 1)[0]; r.StatusCode != 200 {
		t.Fatalf("answer %s", r.String())
	}
	p := <-h.peers
	if p.TLS == nil || !p.TLS.HandshakeComplete || p.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("peer TLS %+v", p.TLS)
	}
}

// TestStreamMalformed: a message that breaks SIP's framing closes its
// connection; the others go on.
func TestStreamMalformed(t *testing.T) {
	t.Parallel()
	s := &Server{Handler: &counting{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := streamPair(t, s, ln, func(a string) (net.Conn, error) { return net.Dial("tcp", a) })
	c.Write([]byte("REGISTER sip:x SIP/2.0\r\nContent-Length: nine\r\n\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 100)); err != io.EOF {
		t.Fatalf("read %d, %v: want the connection closed", n, err)
	}
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.Write([]byte(register("z9hG4bK-m1", 1)))
	if r := readResponses(t, c2, 1)[0]; r.StatusCode != 200 {
		t.Fatalf("answer %s", r.String())
	}
	if st := s.Stats(); st.Malformed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestMethods: 405 with Allow for a method without a Handler, 481 for
// CANCEL, nothing for ACK.
func TestMethods(t *testing.T) {
	t.Parallel()
	m := Methods{sip.REGISTER: &counting{}, sip.OPTIONS: OK}
	parse := func(s string) *sip.Request {
		msg, err := sip.ParseMessage([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return msg.(*sip.Request)
	}
	method := func(name string) *sip.Request {
		return parse(strings.NewReplacer("REGISTER sip:", name+" sip:", "1 REGISTER", "1 "+name).Replace(register("z9hG4bK-m", 1)))
	}
	res := m.ServeSIP(context.Background(), method("INVITE"), Peer{})
	if res.StatusCode != 405 || res.GetHeader("Allow").Value() != "OPTIONS, REGISTER" {
		t.Fatalf("INVITE: %s", res.String())
	}
	if res := m.ServeSIP(context.Background(), method("CANCEL"), Peer{}); res.StatusCode != 481 {
		t.Fatalf("CANCEL: %s", res.String())
	}
	if res := m.ServeSIP(context.Background(), method("ACK"), Peer{}); res != nil {
		t.Fatalf("ACK answered: %s", res.String())
	}
	if res := m.ServeSIP(context.Background(), method("OPTIONS"), Peer{}); res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %s", res.String())
	}
}

// TestPanic: a Handler that panics gets its request a 500, and the
// server goes on.
func TestPanic(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	s := &Server{Handler: HandlerFunc(func(_ context.Context, req *sip.Request, _ Peer) *sip.Response {
		if n.Add(1) == 1 {
			panic("boom")
		}
		return sip.NewResponseFromRequest(req, 200, "OK", nil)
	})}
	c := udpPair(t, s)
	c.Write([]byte(register("z9hG4bK-p1", 1)))
	if a, _ := readDatagram(t, c, 5*time.Second); !strings.HasPrefix(a, "SIP/2.0 500 ") {
		t.Fatalf("answer to the panic:\n%s", a)
	}
	c.Write([]byte(register("z9hG4bK-p2", 2)))
	if a, _ := readDatagram(t, c, 5*time.Second); !strings.HasPrefix(a, "SIP/2.0 200 ") {
		t.Fatalf("answer after the panic:\n%s", a)
	}
	if st := s.Stats(); st.Panics != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCloseStopsWorkers: Close returns after the workers and readers
// have stopped, with requests in flight.
func TestCloseStopsWorkers(t *testing.T) {
	before := runtime.NumGoroutine()
	gate := make(chan struct{})
	s := &Server{Handler: &counting{gate: gate}, Workers: 4}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.ServeUDP(pc) }()
	go func() { defer wg.Done(); s.ServeStream(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(register("z9hG4bK-w1", 1)))
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Requests < 1 {
		if time.Now().After(deadline) {
			t.Fatal("request not dispatched")
		}
		time.Sleep(5 * time.Millisecond)
	}
	go func() { time.Sleep(50 * time.Millisecond); close(gate) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := s.ServeUDP(pc); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServeUDP after Close: %v", err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNoHandler: a Server without a Handler refuses to serve.
func TestNoHandler(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := new(Server).ServeUDP(pc); err == nil || !strings.Contains(err.Error(), "Handler") {
		t.Fatalf("ServeUDP without a Handler: %v", err)
	}
}

// TestUDPKeep: with Keep set to SuccessfulRegister, a retransmission of a request
// refused is handled again, one of a request that succeeded gets its
// answer again.
func TestUDPKeep(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	s := &Server{Keep: SuccessfulRegister, Handler: HandlerFunc(func(_ context.Context, req *sip.Request, _ Peer) *sip.Response {
		n := calls.Add(1)
		code, reason := 200, "OK"
		if req.GetHeader("Proxy-Authorization") == nil {
			code, reason = 407, "Proxy Authentication Required"
		}
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		res.AppendHeader(sip.NewHeader("X-Call", fmt.Sprint(n)))
		return res
	})}
	c := udpPair(t, s)
	refused := register("z9hG4bK-k1", 1)
	for want := 1; want <= 2; want++ {
		c.Write([]byte(refused))
		if a, _ := readDatagram(t, c, 5*time.Second); !strings.HasPrefix(a, "SIP/2.0 407 ") || header(a, "X-Call") != fmt.Sprint(want) {
			t.Fatalf("refused request, try %d:\n%s", want, a)
		}
	}
	ok := strings.Replace(register("z9hG4bK-k2", 2), "Content-Length", "Proxy-Authorization: Bearer token=\"t\"\r\nContent-Length", 1)
	for range 2 {
		c.Write([]byte(ok))
		if a, _ := readDatagram(t, c, 5*time.Second); !strings.HasPrefix(a, "SIP/2.0 200 ") || header(a, "X-Call") != "3" {
			t.Fatalf("successful request:\n%s", a)
		}
	}
	if st := s.Stats(); st.Cached != 1 || st.Retransmissions != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestUDPAnswerToItsSourceOnly: the same request from another source is
// handled on its own; a kept answer never goes to anyone but the source
// of its request, and only so many times.
func TestUDPAnswerToItsSourceOnly(t *testing.T) {
	t.Parallel()
	h := &counting{}
	s := &Server{Handler: h}
	a := udpPair(t, s)
	b, err := net.DialUDP("udp", nil, a.RemoteAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	req := []byte(register("z9hG4bK-src", 1))
	a.Write(req)
	first, _ := readDatagram(t, a, 5*time.Second)
	b.Write(req)
	other, _ := readDatagram(t, b, 5*time.Second)
	if header(first, "X-Call") != "1" || header(other, "X-Call") != "2" {
		t.Fatalf("answers to the two sources:\n%s\n%s", first, other)
	}
	// a's retransmissions: its own answer, at most maxResends times.
	for i := range maxResends + 3 {
		a.Write(req)
		again, ok := readDatagram(t, a, 300*time.Millisecond)
		switch {
		case i < maxResends && again != first:
			t.Fatalf("retransmission %d answered\n%s", i+1, again)
		case i >= maxResends && ok:
			t.Fatalf("retransmission %d answered past the cap:\n%s", i+1, again)
		}
	}
	if h.calls.Load() != 2 {
		t.Fatalf("handler ran %d times", h.calls.Load())
	}
}

// TestSuccessfulRegister: only the 2xx to REGISTER are kept.
func TestSuccessfulRegister(t *testing.T) {
	t.Parallel()
	reg := parseReq(t, register("z9hG4bK-sr", 1))
	opts := parseReq(t, strings.NewReplacer("REGISTER sip:", "OPTIONS sip:", "1 REGISTER", "1 OPTIONS").Replace(register("z9hG4bK-so", 1)))
	for _, tc := range []struct {
		req  *sip.Request
		code int
		want bool
	}{{reg, 200, true}, {reg, 202, true}, {reg, 407, false}, {reg, 500, false}, {opts, 200, false}} {
		if got := SuccessfulRegister(tc.req, sip.NewResponseFromRequest(tc.req, tc.code, "x", nil)); got != tc.want {
			t.Errorf("%s %d: %v", tc.req.Method, tc.code, got)
		}
	}
}

// TestStreamShared: on a Shared listener a slow request holds up none
// behind it on its connection; on a plain one the connection's reader
// handles a lone request itself, and the next waits for it.
func TestStreamShared(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		s := &Server{Handler: HandlerFunc(func(_ context.Context, req *sip.Request, _ Peer) *sip.Response {
			if req.GetHeader("X-Slow") != nil {
				time.Sleep(500 * time.Millisecond)
			}
			return sip.NewResponseFromRequest(req, 200, "OK", nil)
		})}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var opts []StreamOption
		if shared {
			opts = append(opts, Shared())
		}
		done := make(chan error, 1)
		go func() { done <- s.ServeStream(ln, opts...) }()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(strings.Replace(register("z9hG4bK-slow", 1), "Content-Length", "X-Slow: 1\r\nContent-Length", 1)))
		time.Sleep(50 * time.Millisecond) // read alone
		c.Write([]byte(register("z9hG4bK-fast", 2)))
		first := readResponses(t, c, 1)[0]
		if got := first.CSeq().SeqNo == 2; got != shared {
			t.Errorf("shared %v: first answer to CSeq %d", shared, first.CSeq().SeqNo)
		}
		c.Close()
		s.Close()
		<-done
	}
}
