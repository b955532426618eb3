package siplimit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/loopback"
	"github.com/sipoauth/sdk/internal/testca"
)

// The tests' traffic goes to 127.0.0.1 and ::1 only. A test that needs
// two source addresses (per-source caps and rates, a client beside a
// flood) uses one of each, and serves on both through one listener or
// socket that merges two real ones (package loopback).

// listenTCPDual listens on 127.0.0.1 and ::1 through one listener, closed
// when the test ends; it skips the test without ::1.
func listenTCPDual(t *testing.T) *loopback.Listener {
	t.Helper()
	loopback.Need6(t)
	l, err := loopback.ListenTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// sipServer is a real sipgo server that answers every REGISTER with 200,
// but those of a flood (Call-ID "flood-...") with 403, as a registrar
// refuses tokens it did not issue.
type sipServer struct {
	srv       *sipgo.Server
	registers atomic.Int64
	flood     atomic.Int64 // REGISTERs whose Call-ID starts with "flood-"
	// parseErrors counts the messages sipgo's transports failed to parse.
	parseErrors atomic.Int64
	// tlsState records, per Call-ID, whether the request's connection
	// exposed a TLS state through the ConnectionState interface.
	tlsState chan bool
}

func newSIPServer(t *testing.T) *sipServer {
	t.Helper()
	s, closeUA, err := startSIPServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeUA)
	return s
}

func startSIPServer() (*sipServer, func(), error) {
	quiet := slog.New(slog.DiscardHandler)
	s := &sipServer{tlsState: make(chan bool, 1000)}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("siplimit-test"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(slog.New(parseErrorCounter{&s.parseErrors}))),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		return nil, nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		return nil, nil, err
	}
	s.srv = srv
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		s.registers.Add(1)
		if strings.HasPrefix(req.CallID().Value(), "flood-") {
			s.flood.Add(1)
			_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
			return
		}
		select {
		case s.tlsState <- hasTLSState(tx):
		default:
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	return s, func() { ua.Close() }, nil
}

// hasTLSState finds the request's connection as a registrar does: through
// sipgo's *sip.TCPConnection to a net.Conn with a ConnectionState method.
func hasTLSState(tx sip.ServerTransaction) bool {
	st, ok := tx.(interface{ Connection() sip.Connection })
	if !ok {
		return false
	}
	tc, ok := st.Connection().(*sip.TCPConnection)
	if !ok {
		return false
	}
	cs, ok := tc.Conn.(interface{ ConnectionState() tls.ConnectionState })
	return ok && cs.ConnectionState().HandshakeComplete
}

// serve runs the server on a stream listener until the test ends; the
// returned channel gets what the serve loop returned.
func (s *sipServer) serve(t *testing.T, ln net.Listener, useTLS bool) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		if useTLS {
			done <- s.srv.ServeTLS(ln)
		} else {
			done <- s.srv.ServeTCP(ln)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return done
}

func (s *sipServer) serveUDP(t *testing.T, pc net.PacketConn) {
	t.Helper()
	go s.srv.ServeUDP(pc)
	t.Cleanup(func() { pc.Close() })
}

// pki is a CA and a node certificate for 127.0.0.1 and ::1.
type pki struct {
	server *tls.Config
	roots  *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	ca := testca.New(t, "siplimit test CA")
	leaf := ca.Issue(t, testca.Options{CommonName: "node", IPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return pki{server: &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}, MinVersion: tls.VersionTLS12}, roots: ca.Pool()}
}

func listenTCP(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// dial opens a connection from the loopback address from (127.0.0.1 or
// ::1; "" for the one the system picks) to addr, over TLS when roots is
// set.
func dial(t *testing.T, from, addr string, roots *x509.CertPool) net.Conn {
	t.Helper()
	c, err := dialErr(from, addr, roots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialErr(from, addr string, roots *x509.CertPool) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	if roots != nil {
		return tls.DialWithDialer(&d, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	}
	return d.Dial("tcp", addr)
}

// request is a REGISTER over transport (TCP, TLS or UDP) with the given
// Content-Length value and body.
func request(transport, callID string, cl, body string) string {
	return "REGISTER sip:127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/" + transport + " 127.0.0.1:5999;branch=z9hG4bK-" + callID + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:1001@127.0.0.1>;tag=t-" + callID + "\r\n" +
		"To: <sip:1001@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 7 REGISTER\r\n" +
		"Contact: <sip:1001@127.0.0.1:5999>\r\n" +
		"Expires: 120\r\n" +
		"Content-Length: " + cl + "\r\n\r\n" + body
}

// readResponse reads one SIP message from a stream within d.
func readResponse(c net.Conn, br *bufio.Reader, d time.Duration) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return head.String(), err
		}
		if line == "\r\n" {
			break
		}
	}
	n := 0
	for _, l := range strings.Split(head.String(), "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, n)
	_, err := io.ReadFull(br, body)
	return head.String() + string(body), err
}

// registerOver sends a REGISTER on c and returns the answer.
func registerOver(c net.Conn, transport, callID string) (string, error) {
	if _, err := c.Write([]byte(request(transport, callID, "0", ""))); err != nil {
		return "", err
	}
	return readResponse(c, bufio.NewReader(c), 5*time.Second)
}

// mustRegister registers over a new connection from from and wants 200.
func mustRegister(t *testing.T, from, addr string, roots *x509.CertPool) {
	t.Helper()
	transport := "TCP"
	if roots != nil {
		transport = "TLS"
	}
	c := dial(t, from, addr, roots)
	res, err := registerOver(c, transport, fmt.Sprintf("legit-%d", time.Now().UnixNano()))
	if err != nil || !strings.HasPrefix(res, "SIP/2.0 200 OK\r\n") {
		t.Fatalf("legitimate REGISTER from %s: %q, %v", from, res, err)
	}
	c.Close()
}

// closedWithin reports whether the peer closes c within d (reads EOF or
// a reset), rather than keeping it open.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// header returns a header's value in a message, "" if none.
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func statusLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\r\n")
	return line
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// sipgoParses reports whether every message in a stream parses with sipgo.
func sipgoParses(stream []byte) (int, error) {
	par := sip.NewParser().NewSIPStream()
	n := 0
	err := par.ParseSIPStream(stream, func(sip.Message) { n++ })
	if errors.Is(err, sip.ErrParseSipPartial) && len(bytes.TrimSpace(stream)) > 0 {
		return n, err
	}
	return n, nil
}

// parseErrorCounter is a log handler that counts sipgo's "failed to
// parse" records and drops everything.
type parseErrorCounter struct{ n *atomic.Int64 }

func (h parseErrorCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h parseErrorCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "failed to parse") {
		h.n.Add(1)
	}
	return nil
}
func (h parseErrorCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h parseErrorCounter) WithGroup(string) slog.Handler      { return h }
