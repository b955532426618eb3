package mtlstrust

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
)

func TestListener(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	failures := make(chan *HandshakeError, 4)
	ln := NewListener(raw, p.edgeServer(), ListenerOptions{
		Side: diag.NodeSide, HandshakeTimeout: 300 * time.Millisecond,
		OnError: func(e *HandshakeError) { failures <- e },
	})
	defer ln.Close()
	if ln.Addr().String() != raw.Addr().String() {
		t.Fatalf("Addr %s, want %s", ln.Addr(), raw.Addr())
	}

	dial := func(cfg *tls.Config) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", raw.Addr().String(), cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		// TLS 1.3: the server's verdict on the client's certificate
		// arrives with the first read.
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = c.Read(make([]byte, 1))
		return err
	}
	nextFailure := func() *HandshakeError {
		t.Helper()
		select {
		case e := <-failures:
			return e
		case <-time.After(3 * time.Second):
			t.Fatal("no handshake failure reported")
			return nil
		}
	}

	// A proxy signed by a CA the node does not trust: scenario 3.
	rogue := testca.New(t, "Rogue CA").Client(t, "expc1.example.com")
	rc, err := NewCertSource(rogue.TLS())
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(EdgeClientConfig(rc, p.proxyTrust, nodeName)); err == nil {
		t.Fatal("untrusted proxy: connection accepted")
	}
	e := nextFailure()
	if e.Diagnosis.Scenario != 3 || e.Diagnosis.Code != diag.CodeUnknownCAAtNode {
		t.Fatalf("diagnosis %+v, want scenario 3 %s", e.Diagnosis, diag.CodeUnknownCAAtNode)
	}
	if e.Remote == nil || !errors.Is(e, e.Err) {
		t.Fatalf("HandshakeError %v: remote %v", e, e.Remote)
	}

	// A trusted proxy: Accept returns the handshaken connection.
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := tls.Dial("tcp", raw.Addr().String(), p.edgeClient())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sc net.Conn
	select {
	case sc = <-accepted:
	case <-time.After(3 * time.Second):
		t.Fatal("trusted proxy not accepted")
	}
	tc, ok := sc.(*tls.Conn)
	if !ok {
		t.Fatalf("Accept returned %T, want *tls.Conn", sc)
	}
	st := tc.ConnectionState()
	if !st.HandshakeComplete || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "expc1.example.com" {
		t.Fatalf("state: complete %v, peer %v", st.HandshakeComplete, st.PeerCertificates)
	}
	sc.Close()

	// A client that never speaks TLS: the handshake times out.
	idle, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	e = nextFailure()
	if !errors.Is(e.Err, errors.Unwrap(e)) || e.Diagnosis.Scenario != 0 {
		t.Fatalf("idle client: %v, diagnosis %+v", e, e.Diagnosis)
	}
	var ne net.Error
	if !errors.As(e.Err, &ne) || !ne.Timeout() {
		t.Fatalf("idle client: %v, want a timeout", e.Err)
	}

	// Close ends Accept.
	ln.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// flakyListener fails its first Accept with a transient error, as a
// listener out of file descriptors does.
type flakyListener struct {
	net.Listener
	failed bool
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if !f.failed {
		f.failed = true
		return nil, errors.New("accept tcp: too many open files")
	}
	return f.Listener.Accept()
}

// TestListenerSurvivesAcceptErrors: a transient Accept error does not end
// the listener; closing the inner listener does.
func TestListenerSurvivesAcceptErrors(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewListener(&flakyListener{Listener: raw}, OAuthServerConfig(p.nodeCert), ListenerOptions{})
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := tls.Dial("tcp", raw.Addr().String(), &tls.Config{RootCAs: p.nodeCA.Pool(), ServerName: nodeName})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case sc := <-accepted:
		if _, ok := sc.(*tls.Conn); !ok {
			t.Fatalf("Accept returned %T", sc)
		}
		sc.Close()
	case <-time.After(3 * time.Second):
		t.Fatal("no connection accepted after a transient error")
	}
	raw.Close()
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after the inner listener closed: %v", err)
	}
}
