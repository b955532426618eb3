package testca

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// Handshake is what each side of one TLS connection saw.
type Handshake struct {
	ServerErr, ClientErr error
	Server, Client       tls.ConnectionState
}

// RunHandshake runs one TLS connection over 127.0.0.1: the server
// completes its handshake and writes a byte; the client handshakes and
// reads it (in TLS 1.3 the server's refusal of a client certificate
// arrives then). Each side gives up after 5 seconds.
func RunHandshake(tb testing.TB, server, client *tls.Config) Handshake {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	done := make(chan Handshake, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- Handshake{ServerErr: err}
			return
		}
		defer c.Close()
		done <- serve(c, server)
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	return dial(c, client, done)
}

// RunPipeHandshake is RunHandshake over net.Pipe: the same exchange in
// memory, for tests in a synctest bubble, where a real socket does not
// count as blocked and the bubble's clock would not move.
func RunPipeHandshake(tb testing.TB, server, client *tls.Config) Handshake {
	tb.Helper()
	sc, cc := net.Pipe()
	defer cc.Close()
	done := make(chan Handshake, 1)
	go func() {
		defer sc.Close()
		done <- serve(sc, server)
	}()
	return dial(cc, client, done)
}

// serve is the server's side: handshake, then one byte.
func serve(c net.Conn, server *tls.Config) Handshake {
	var h Handshake
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Server(c, server)
	if h.ServerErr = tc.Handshake(); h.ServerErr == nil {
		h.Server = tc.ConnectionState()
		_, h.ServerErr = tc.Write([]byte{1})
	}
	return h
}

// dial is the client's side, then the server's outcome from done.
func dial(c net.Conn, client *tls.Config, done <-chan Handshake) Handshake {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(c, client)
	clientErr := tc.Handshake()
	if clientErr == nil {
		var b [1]byte
		_, clientErr = io.ReadFull(tc, b[:])
	}
	cs := tc.ConnectionState()
	c.Close() // a server still writing its alert gives up
	h := <-done
	h.ClientErr, h.Client = clientErr, cs
	return h
}

// HandshakeBench runs full handshakes over loopback TCP, one at a time,
// for benchmarks (buffers let the server's post-handshake messages
// through, as on a real network).
type HandshakeBench struct {
	ln   net.Listener
	errc chan error
}

// NewHandshakeBench serves handshakes with server until the benchmark
// ends.
func NewHandshakeBench(b *testing.B, server *tls.Config) *HandshakeBench {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	h := &HandshakeBench{ln: ln, errc: make(chan error, 1)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s := tls.Server(c, server)
			h.errc <- s.Handshake()
			c.Close()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return h
}

// Run makes one handshake with client, failing the benchmark if either
// side fails.
func (h *HandshakeBench) Run(b *testing.B, client *tls.Config) {
	conn, err := net.Dial("tcp", h.ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c := tls.Client(conn, client)
	if err := c.Handshake(); err != nil {
		b.Fatal(err)
	}
	if err := <-h.errc; err != nil {
		b.Fatal(err)
	}
	conn.Close()
}
