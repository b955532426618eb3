package mtlstrust

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/defaults"
)

// HandshakeError is a handshake that failed on a Listener, with its
// diagnosis.
type HandshakeError struct {
	Remote    net.Addr
	Err       error
	Diagnosis diag.TLSDiagnosis
}

// Error implements error.
func (e *HandshakeError) Error() string {
	return "mtlstrust: handshake with " + addrString(e.Remote) + ": " + e.Err.Error()
}

// Unwrap returns the handshake's error.
func (e *HandshakeError) Unwrap() error { return e.Err }

func addrString(a net.Addr) string {
	if a == nil {
		return "?"
	}
	return a.String()
}

// ListenerOptions tune a Listener.
type ListenerOptions struct {
	// Side is the side the listener is on, for Diagnose: diag.NodeSide for the
	// node's ports, diag.EdgeSide for an edge proxy's own listener.
	Side diag.Side
	// HandshakeTimeout bounds each handshake; 10 s when 0.
	HandshakeTimeout time.Duration
	// MaxPending bounds the handshakes in progress; 256 when 0. Beyond it
	// the listener stops accepting until one ends.
	MaxPending int
	// OnError, if set, is told of every failed handshake. It runs on the
	// handshake's goroutine and should not block.
	OnError func(*HandshakeError)
}

// Listener is a TLS listener whose Accept returns only connections whose
// handshake succeeded, so that the handshake failures a SIP stack would
// swallow (an edge proxy the node does not trust, an unknown CA) reach
// OnError with their diagnosis. Handshakes run concurrently, each bounded
// in time; the connections Accept returns are *tls.Conn.
type Listener struct {
	inner net.Listener
	cfg   *tls.Config
	opts  ListenerOptions
	conns chan *tls.Conn
	done  chan struct{}
	errc  chan error
	close sync.Once
}

// NewListener starts completing handshakes of the TCP connections inner
// accepts, with cfg.
func NewListener(inner net.Listener, cfg *tls.Config, opts ListenerOptions) *Listener {
	opts.HandshakeTimeout = defaults.Positive(opts.HandshakeTimeout, 10*time.Second)
	opts.MaxPending = defaults.Positive(opts.MaxPending, 256)
	l := &Listener{inner: inner, cfg: cfg, opts: opts, conns: make(chan *tls.Conn), done: make(chan struct{}), errc: make(chan error, 1)}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	sem := make(chan struct{}, l.opts.MaxPending)
	var backoff time.Duration
	for {
		select {
		case sem <- struct{}{}:
		case <-l.done:
			return
		}
		c, err := l.inner.Accept()
		if err != nil {
			<-sem
			if errors.Is(err, net.ErrClosed) {
				l.errc <- err
				return
			}
			// Anything else (out of file descriptors, a connection
			// reset before it was accepted) passes: wait a little, as
			// net/http does, and accept again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-l.done:
				return
			}
			continue
		}
		backoff = 0
		go func() {
			defer func() { <-sem }()
			l.handshake(c)
		}()
	}
}

func (l *Listener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		c.Close()
		if l.opts.OnError != nil {
			l.opts.OnError(&HandshakeError{Remote: c.RemoteAddr(), Err: err, Diagnosis: Diagnose(err, l.opts.Side)})
		}
		return
	}
	select {
	case l.conns <- tc:
	case <-l.done:
		tc.Close()
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case err := <-l.errc:
		l.errc <- err
		return nil, err
	}
}

// Close stops the listener; handshakes in progress are dropped.
func (l *Listener) Close() error {
	err := net.ErrClosed
	l.close.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }
