package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/sipserve"
)

// relay forwards the connections it accepts on addr to the node at to,
// byte for byte (the node's TLS passes through), until it is closed: a
// node that can be taken down and brought back on the same address.
type relay struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startRelay(t *testing.T, addr, to string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, up)
			r.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(r.close)
	return r
}

func (r *relay) close() {
	r.ln.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
}

// TestFailback: the primary node is down, so the client registers on the
// secondary; when the primary is back, the client moves back to it
// within the Failback interval, as Jabber returns to its primary.
func TestFailback(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	primary := closedPort(t)
	ev := newEvents()
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, primary, l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet, OnEvent: ev.on, Failback: 300 * time.Millisecond,
	})
	run, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(run) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	if e := ev.wait(t, client.EventRegistered, 10*time.Second); e.Target.Addr != l.addr {
		t.Fatalf("registered on %s, want the secondary %s", e.Target.Addr, l.addr)
	}
	back := time.Now()
	startRelay(t, primary, l.addr)
	e := ev.wait(t, client.EventRegistered, 5*time.Second)
	if e.Target.Addr != primary || e.Target.Priority != 0 {
		t.Fatalf("registered on %s (priority %d), want the primary %s", e.Target.Addr, e.Target.Priority, primary)
	}
	if d := time.Since(back); d > 2*time.Second {
		t.Errorf("back on the primary %v after it returned, Failback 300ms", d)
	}
	// The binding the primary made is the device's own, refreshed in place
	// (same +sip.instance), not a second one.
	if bs := l.bindings(); len(bs) != 1 {
		t.Errorf("%d bindings after the failback, want 1: %+v", len(bs), bs)
	}
}

// TestRetryAfter503: a node that answers 503 with Retry-After is not
// asked again before that time; the client registers on the next node
// meanwhile.
func TestRetryAfter503(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	var mu sync.Mutex
	var asked []time.Time
	busy := &sipserve.Server{Handler: sipserve.HandlerFunc(func(_ context.Context, req *sip.Request, _ sipserve.Peer) *sip.Response {
		mu.Lock()
		asked = append(asked, time.Now())
		mu.Unlock()
		res := sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", "2"))
		return res
	})}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go busy.ServeStream(tls.NewListener(raw, &tls.Config{Certificates: []tls.Certificate{l.ca.Server(t, "127.0.0.1").TLS()}}))
	t.Cleanup(func() { busy.Close() })

	ev := newEvents()
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, raw.Addr().String(), l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet, OnEvent: ev.on, Failback: 100 * time.Millisecond,
	})
	run, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	c.Run(run)
	if e := ev.wait(t, client.EventRegistered, time.Second); e.Target.Addr != l.addr {
		t.Fatalf("registered on %s, want %s", e.Target.Addr, l.addr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) < 2 {
		t.Fatalf("the busy node was asked %d times in 3.5 s, want it tried again after its Retry-After", len(asked))
	}
	for i := 1; i < len(asked); i++ {
		if gap := asked[i].Sub(asked[i-1]); gap < 2*time.Second {
			t.Errorf("asked again %v after a Retry-After of 2 s", gap)
		}
	}
}
