package sipserve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestShutdownStream: Shutdown stops taking connections and requests,
// answers those already read (one handled by the connection's reader, one
// handed to a worker), then closes the connection, and returns nil.
func TestShutdownStream(t *testing.T) {
	t.Parallel()
	h := &counting{gate: make(chan struct{}), peers: make(chan Peer, 2)}
	s := &Server{Handler: Methods{sip.REGISTER: h}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeStream(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Two requests together: the second goes to a worker.
	var two bytes.Buffer
	two.WriteString(register("z9hG4bK-s1", 1))
	two.WriteString(register("z9hG4bK-s2", 2))
	c.Write(two.Bytes())
	<-h.peers
	<-h.peers // both in the Handler
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	// The listener closes: no new connection.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c2, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c2.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts during Shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with requests unanswered", err)
	case <-time.After(100 * time.Millisecond):
	}
	h.gate <- struct{}{}
	h.gate <- struct{}{}
	rs := readResponses(t, c, 2)
	if rs[0].StatusCode != 200 || rs[1].StatusCode != 200 || rs[0].CSeq().SeqNo+rs[1].CSeq().SeqNo != 3 {
		t.Fatalf("answers %v, %v", rs[0], rs[1])
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Then the connection is closed by the server.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after Shutdown the connection reads %d, %v; want EOF", n, err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeStream: %v", err)
	}
	if h.calls.Load() != 2 {
		t.Errorf("%d requests handled, want 2", h.calls.Load())
	}
}

// TestShutdownUDP: a request being handled over UDP is answered after
// Shutdown began; ServeUDP returns ErrServerClosed.
func TestShutdownUDP(t *testing.T) {
	t.Parallel()
	h := &counting{gate: make(chan struct{}), peers: make(chan Peer, 1)}
	s := &Server{Handler: Methods{sip.REGISTER: h}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeUDP(pc) }()
	c, err := net.DialUDP("udp", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(register("z9hG4bK-u1", 1)))
	<-h.peers
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	h.gate <- struct{}{}
	msg, ok := readDatagram(t, c, 5*time.Second)
	if !ok || header(msg, "X-Call") != "1" {
		t.Fatalf("answer %q, %v", msg, ok)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeUDP: %v", err)
	}
	// Nothing reads the socket any more (its port may even answer with
	// an ICMP refusal, which the next read reports).
	c.Write([]byte(register("z9hG4bK-u2", 2)))
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 2048)); err == nil {
		t.Errorf("answered after Shutdown: %d bytes", n)
	}
}

// TestShutdownDeadline: a request that is not answered before ctx ends
// is abandoned: Shutdown closes everything and returns ctx's error.
func TestShutdownDeadline(t *testing.T) {
	t.Parallel()
	stuck := HandlerFunc(func(ctx context.Context, req *sip.Request, _ Peer) *sip.Response {
		<-ctx.Done() // released by Close only
		return nil
	})
	s := &Server{Handler: stuck}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeStream(ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(register("z9hG4bK-d1", 1)))
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the deadline's error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v past a 200ms deadline", d)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("connection after Shutdown: %v, want EOF", err)
	}
}
