package siplimit

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipoauth/sdk/internal/chans"
	"github.com/sipoauth/sdk/mtlstrust"
)

// Listener is a net.Listener for a SIP stack's stream transport (sipgo's
// ServeTCP or ServeTLS). Its Accept returns only connections within the
// caps, each a *Conn (or, from NewTLSListener, a *TLSConn) that enforces
// the timeouts and the message size; it waits out accept errors such as
// running out of file descriptors instead of returning them, and returns
// only net.ErrClosed, once the Listener or the listener it wraps is closed.
type Listener struct {
	guard *guard
	next  net.Listener // the guard, or the mtlstrust.Listener over it
	lim   Limits
	log   *slog.Logger
	c     *streamCounters

	done      chan struct{}
	closeOnce sync.Once
}

// NewListener wraps inner, a TCP listener, for plain SIP over TCP.
func NewListener(inner net.Listener, lim Limits, opts ...Option) *Listener {
	l := newListener(inner, lim, opts)
	l.next = l.guard
	return l
}

// NewTLSListener wraps inner, a TCP listener, for SIP over TLS with cfg:
// an mtlstrust.Listener completes each handshake, within
// Limits.HandshakeTimeout (which replaces lo.HandshakeTimeout), before
// Accept returns the connection, and reports each failed handshake with
// its diagnosis to lo.OnError; lo.Side and lo.MaxPending apply as given.
// The caps count a connection from its TCP accept, handshake included.
// The handshakes in progress are bounded by the caps too: lo.MaxPending is
// raised to MaxConns, so that silent connections from one address, held
// to MaxConnsPerSource, cannot stop the handshakes of every other.
func NewTLSListener(inner net.Listener, cfg *tls.Config, lim Limits, lo mtlstrust.ListenerOptions, opts ...Option) *Listener {
	l := newListener(inner, lim, opts)
	lo.HandshakeTimeout = l.lim.HandshakeTimeout
	if l.lim.MaxConns > 0 {
		lo.MaxPending = max(lo.MaxPending, l.lim.MaxConns)
	}
	onError := lo.OnError
	lo.OnError = func(e *mtlstrust.HandshakeError) {
		l.c.handshakeFailures.Add(1)
		if onError != nil {
			onError(e)
		}
	}
	l.next = mtlstrust.NewListener(l.guard, cfg, lo)
	return l
}

func newListener(inner net.Listener, lim Limits, opts []Option) *Listener {
	o := buildOptions(opts)
	l := &Listener{lim: lim.Effective(), log: o.log, c: new(streamCounters), done: make(chan struct{})}
	l.guard = &guard{inner: inner, lim: &l.lim, c: l.c, log: o.log, bySource: map[netip.Addr]int{}, done: make(chan struct{})}
	return l
}

// Accept returns the next connection, a *Conn or a *TLSConn.
func (l *Listener) Accept() (net.Conn, error) {
	var pause time.Duration
	for {
		c, err := l.next.Accept()
		if err != nil {
			if l.isClosed() || l.guard.closed.Load() || errors.Is(err, net.ErrClosed) {
				return nil, net.ErrClosed
			}
			// The guard returns no other error; should the layer over it,
			// wait as the guard does.
			pause = nextPause(pause)
			if !sleep(pause, l.done) {
				return nil, net.ErrClosed
			}
			continue
		}
		pause = 0
		l.c.accepted.Add(1)
		if tc, ok := c.(*tls.Conn); ok {
			raw, _ := tc.NetConn().(*counted)
			return &TLSConn{newConn(l, tc, raw, tc)}, nil
		}
		raw, _ := c.(*counted)
		return newConn(l, c, raw, nil), nil
	}
}

// Close closes the listener and the one it wraps; connections already
// accepted stay open.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.next.Close()
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.guard.inner.Addr() }

// Limits returns the limits in force, defaults filled in.
func (l *Listener) Limits() Limits { return l.lim }

// Stats returns the listener's counts so far.
func (l *Listener) Stats() StreamStats {
	c := l.c
	return StreamStats{
		Accepted:           c.accepted.Load(),
		Open:               l.guard.openNow(),
		RefusedTotal:       c.refusedTotal.Load(),
		RefusedPerSource:   c.refusedPerSource.Load(),
		AcceptErrors:       c.acceptErrors.Load(),
		HandshakeFailures:  c.handshakeFailures.Load(),
		Messages:           c.messages.Load(),
		ClosedIdle:         c.closedIdle.Load(),
		ClosedSlowMessage:  c.closedSlow.Load(),
		ClosedWriteTimeout: c.closedWrite.Load(),
		TooLarge:           c.tooLarge.Load(),
		BadFraming:         c.badFraming.Load(),
		NotSIP:             c.notSIP.Load(),
		Answered:           c.answered.Load(),
	}
}

func (l *Listener) isClosed() bool { return chans.Closed(l.done) }

// nextPause doubles the pause after an accept error, from 5 ms to 1 s, as
// net/http does.
func nextPause(p time.Duration) time.Duration {
	return min(max(2*p, 5*time.Millisecond), time.Second)
}

// sleep waits d; false if done closed first.
func sleep(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// guard accepts TCP connections for a Listener: it waits out accept
// errors and closes at once the connections over the caps.
type guard struct {
	inner net.Listener
	lim   *Limits
	c     *streamCounters
	log   *slog.Logger

	mu       sync.Mutex
	open     int
	bySource map[netip.Addr]int

	closed    atomic.Bool
	done      chan struct{}
	closeOnce sync.Once

	acceptGate, refuseGate logGate
}

func (g *guard) Accept() (net.Conn, error) {
	var pause time.Duration
	for {
		c, err := g.inner.Accept()
		if err != nil {
			if g.closed.Load() || errors.Is(err, net.ErrClosed) {
				g.closed.Store(true)
				return nil, net.ErrClosed
			}
			// Out of file descriptors, a connection reset before it was
			// accepted, ...: a SIP stack would stop serving. Wait and
			// accept again; the caps keep such pauses rare.
			g.c.acceptErrors.Add(1)
			pause = nextPause(pause)
			g.acceptGate.warn(g.log, 5*time.Second, "siplimit: accept failed; accepting again after a pause",
				"listen", g.inner.Addr().String(), "error", err, "pause", pause, "open", g.openNow())
			if !sleep(pause, g.done) {
				return nil, net.ErrClosed
			}
			continue
		}
		pause = 0
		ip := remoteIP(c.RemoteAddr())
		if over := g.take(ip); over != "" {
			c.Close()
			g.refuseGate.warn(g.log, 5*time.Second, "siplimit: connection refused: too many connections",
				"listen", g.inner.Addr().String(), "remote", c.RemoteAddr().String(), "cap", over, "open", g.openNow())
			continue
		}
		return &counted{Conn: c, g: g, ip: ip}, nil
	}
}

// take counts a new connection from ip; it returns the cap that refuses
// it instead, if any.
func (g *guard) take(ip netip.Addr) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.lim.MaxConnsPerSource > 0 && g.bySource[ip] >= g.lim.MaxConnsPerSource {
		g.c.refusedPerSource.Add(1)
		return "MaxConnsPerSource"
	}
	if g.lim.MaxConns > 0 && g.open >= g.lim.MaxConns {
		g.c.refusedTotal.Add(1)
		return "MaxConns"
	}
	g.open++
	g.bySource[ip]++
	return ""
}

func (g *guard) release(ip netip.Addr) {
	g.mu.Lock()
	g.open--
	if n := g.bySource[ip] - 1; n > 0 {
		g.bySource[ip] = n
	} else {
		delete(g.bySource, ip)
	}
	g.mu.Unlock()
}

func (g *guard) openNow() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

func (g *guard) Close() error {
	g.closed.Store(true)
	g.closeOnce.Do(func() { close(g.done) })
	return g.inner.Close()
}

func (g *guard) Addr() net.Addr { return g.inner.Addr() }

// remoteIP is a connection's remote IP address, IPv4 unmapped.
func remoteIP(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort().Addr().Unmap()
	}
	if a != nil {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			return ap.Addr().Unmap()
		}
	}
	return netip.Addr{}
}

// counted is an accepted TCP connection that gives its place back under
// the caps when closed.
type counted struct {
	net.Conn
	g        *guard
	ip       netip.Addr
	released atomic.Bool
}

func (c *counted) Close() error {
	err := c.Conn.Close()
	if c.released.CompareAndSwap(false, true) {
		c.g.release(c.ip)
	}
	return err
}

// CloseWrite shuts the sending side down, when the connection can.
func (c *counted) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
