package siplimit

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tests' traffic goes to 127.0.0.1 and ::1 only. A test that needs
// two source addresses (per-source caps and rates, a client beside a
// flood) uses one of each, and serves on both through one listener or
// socket that merges two real ones.

// loopback6 is whether ::1 can be bound here, checked once.
var loopback6 = sync.OnceValue(func() error {
	c, err := net.ListenPacket("udp", "[::1]:0")
	if err != nil {
		return err
	}
	return c.Close()
})

// needLoopback6 skips a test that needs ::1 where it is not configured,
// and fails it there when SIPOAUTH_INTEGRATION=1 asks that every test
// run.
func needLoopback6(t testing.TB) {
	t.Helper()
	if err := loopback6(); err != nil {
		if os.Getenv("SIPOAUTH_INTEGRATION") == "1" {
			t.Fatalf("::1 is required (SIPOAUTH_INTEGRATION=1): the test needs a second source address beside 127.0.0.1: %v", err)
		}
		t.Skipf("::1 is not configured (%v): the test needs a second source address beside 127.0.0.1", err)
	}
}

// dualListener is one net.Listener over two TCP listeners, on 127.0.0.1
// and on ::1: Accept returns the connections of either.
type dualListener struct {
	v4, v6   net.Listener
	accepted chan acceptResult
	done     chan struct{}
	once     sync.Once
}

type acceptResult struct {
	c   net.Conn
	err error
}

// listenDual listens on 127.0.0.1 and ::1, each on a port of its own.
func listenDual() (*dualListener, error) {
	v4, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	v6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		v4.Close()
		return nil, err
	}
	l := &dualListener{v4: v4, v6: v6, accepted: make(chan acceptResult), done: make(chan struct{})}
	go l.pump(v4)
	go l.pump(v6)
	return l, nil
}

// listenTCPDual is listenDual for a test, which it skips without ::1.
func listenTCPDual(t *testing.T) *dualListener {
	t.Helper()
	needLoopback6(t)
	l, err := listenDual()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func (l *dualListener) pump(ln net.Listener) {
	for {
		c, err := ln.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Accept returns the next connection to either address, or the error of
// either listener's Accept (a closed one's ends the dualListener's use).
func (l *dualListener) Accept() (net.Conn, error) {
	select {
	case a := <-l.accepted:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *dualListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return errors.Join(l.v4.Close(), l.v6.Close())
}

// Addr is the 127.0.0.1 address; Addr6 the ::1 one.
func (l *dualListener) Addr() net.Addr  { return l.v4.Addr() }
func (l *dualListener) Addr6() net.Addr { return l.v6.Addr() }

// dualPacketConn is one net.PacketConn over two UDP sockets, on 127.0.0.1
// and on ::1: ReadFrom returns the datagrams of either, WriteTo writes
// through the socket of the destination's address family. Like a
// *net.UDPConn it reads source addresses without allocating
// (ReadFromUDPAddrPort).
type dualPacketConn struct {
	v4, v6 *net.UDPConn
	ch     chan datagram
	done   chan struct{}
	once   sync.Once
	rdl    atomic.Int64 // read deadline, unix ns; 0 for none
}

// datagram is one read of a socket; buf goes back to back once copied.
type datagram struct {
	buf  []byte
	n    int
	from netip.AddrPort
	err  error
	back chan []byte
}

// listenDualUDP listens on 127.0.0.1 and ::1, each on a port of its own.
func listenDualUDP() (*dualPacketConn, error) {
	v4, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	v6, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		v4.Close()
		return nil, err
	}
	d := &dualPacketConn{v4: v4, v6: v6, ch: make(chan datagram), done: make(chan struct{})}
	go d.pump(v4)
	go d.pump(v6)
	return d, nil
}

func (d *dualPacketConn) pump(c *net.UDPConn) {
	buf := make([]byte, 65536)
	back := make(chan []byte, 1)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		select {
		case d.ch <- datagram{buf, n, from, err, back}:
		case <-d.done:
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		select {
		case buf = <-back:
		case <-d.done:
			return
		}
	}
}

// ReadFromUDPAddrPort reads the next datagram to either address.
func (d *dualPacketConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	var expired <-chan time.Time
	if ns := d.rdl.Load(); ns != 0 {
		t := time.NewTimer(time.Until(time.Unix(0, ns)))
		defer t.Stop()
		expired = t.C
	}
	select {
	case dg := <-d.ch:
		n := copy(b, dg.buf[:dg.n])
		dg.back <- dg.buf
		return n, dg.from, dg.err
	case <-d.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	case <-expired:
		return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
	}
}

func (d *dualPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := d.ReadFromUDPAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo writes through the 127.0.0.1 socket to an IPv4 address, through
// the ::1 one to an IPv6 address.
func (d *dualPacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	var ap netip.AddrPort
	if u, ok := addr.(*net.UDPAddr); ok {
		ap = u.AddrPort()
	} else if addr != nil {
		ap, _ = netip.ParseAddrPort(addr.String())
	}
	if ip := ap.Addr().Unmap(); ip.Is4() {
		return d.v4.WriteToUDPAddrPort(b, netip.AddrPortFrom(ip, ap.Port()))
	}
	return d.v6.WriteToUDPAddrPort(b, ap)
}

func (d *dualPacketConn) Close() error {
	d.once.Do(func() { close(d.done) })
	return errors.Join(d.v4.Close(), d.v6.Close())
}

// LocalAddr is the 127.0.0.1 address; LocalAddr6 the ::1 one.
func (d *dualPacketConn) LocalAddr() net.Addr  { return d.v4.LocalAddr() }
func (d *dualPacketConn) LocalAddr6() net.Addr { return d.v6.LocalAddr() }

func (d *dualPacketConn) SetDeadline(t time.Time) error {
	d.rdl.Store(unixNano(t))
	return d.SetWriteDeadline(t)
}

func (d *dualPacketConn) SetReadDeadline(t time.Time) error {
	d.rdl.Store(unixNano(t))
	return nil
}

func (d *dualPacketConn) SetWriteDeadline(t time.Time) error {
	return errors.Join(d.v4.SetWriteDeadline(t), d.v6.SetWriteDeadline(t))
}
