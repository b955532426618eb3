package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// dualConn is the target's UDP socket: one net.PacketConn over two real
// ones, on 127.0.0.1 and on ::1, the same port. ReadFrom returns the
// datagrams of either; WriteTo writes through the socket of the
// destination's address family. Like a *net.UDPConn it reads source
// addresses without allocating (ReadFromUDPAddrPort), and so does a
// siplimit.PacketConn over it.
type dualConn struct {
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

// listenDual listens on 127.0.0.1:port and [::1]:port.
func listenDual(port int) (*dualConn, error) {
	v4, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))))
	if err != nil {
		return nil, err
	}
	v6, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port))))
	if err != nil {
		v4.Close()
		return nil, fmt.Errorf("listening on ::1, for the legitimate client: %w", err)
	}
	d := &dualConn{v4: v4, v6: v6, ch: make(chan datagram), done: make(chan struct{})}
	go d.pump(v4)
	go d.pump(v6)
	return d, nil
}

func (d *dualConn) pump(c *net.UDPConn) {
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
func (d *dualConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
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

func (d *dualConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := d.ReadFromUDPAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo writes through the 127.0.0.1 socket to an IPv4 address, through
// the ::1 one to an IPv6 address.
func (d *dualConn) WriteTo(b []byte, addr net.Addr) (int, error) {
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

func (d *dualConn) Close() error {
	d.once.Do(func() { close(d.done) })
	return errors.Join(d.v4.Close(), d.v6.Close())
}

// LocalAddr is the 127.0.0.1 address.
func (d *dualConn) LocalAddr() net.Addr { return d.v4.LocalAddr() }

func (d *dualConn) SetDeadline(t time.Time) error {
	_ = d.SetReadDeadline(t)
	return d.SetWriteDeadline(t)
}

func (d *dualConn) SetReadDeadline(t time.Time) error {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	d.rdl.Store(ns)
	return nil
}

func (d *dualConn) SetWriteDeadline(t time.Time) error {
	return errors.Join(d.v4.SetWriteDeadline(t), d.v6.SetWriteDeadline(t))
}
