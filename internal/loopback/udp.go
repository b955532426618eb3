package loopback

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// PacketConn is one net.PacketConn over two UDP sockets, on 127.0.0.1
// and on ::1, the same port: ReadFrom returns the datagrams of either,
// WriteTo writes through the socket of the destination's address family.
// Like a *net.UDPConn it reads source addresses without allocating
// (ReadFromUDPAddrPort), and so does a siplimit.PacketConn over it.
type PacketConn struct {
	v4, v6 *net.UDPConn
	ch     chan datagram
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	rdl     time.Time     // read deadline; zero for none
	changed chan struct{} // closed, and replaced, when rdl changes
}

// datagram is one read of a socket; buf goes back to back once copied.
type datagram struct {
	buf  []byte
	n    int
	from netip.AddrPort
	err  error
	back chan []byte
}

// portAttempts bounds the search of ListenUDP(0) for a port free on both
// addresses.
const portAttempts = 32

// ListenUDP listens on 127.0.0.1:port and [::1]:port. With port 0 it
// picks a port free on both.
func ListenUDP(port int) (*PacketConn, error) {
	if port < 0 || port > 65535 {
		return nil, errors.New("loopback: port out of range")
	}
	var err error
	for range portAttempts {
		var v4, v6 *net.UDPConn
		v4, err = net.ListenUDP("udp", udpAddr(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port)))
		if err != nil {
			return nil, err
		}
		p := uint16(v4.LocalAddr().(*net.UDPAddr).Port)
		v6, err = net.ListenUDP("udp", udpAddr(netip.IPv6Loopback(), p))
		if err == nil {
			return newPacketConn(v4, v6), nil
		}
		v4.Close()
		if port != 0 {
			break
		}
	}
	return nil, err
}

func udpAddr(ip netip.Addr, port uint16) *net.UDPAddr {
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port))
}

func newPacketConn(v4, v6 *net.UDPConn) *PacketConn {
	d := &PacketConn{v4: v4, v6: v6, ch: make(chan datagram), done: make(chan struct{}), changed: make(chan struct{})}
	go d.pump(v4)
	go d.pump(v6)
	return d
}

// pump reads c into a buffer of its own, hands each datagram to a reader
// and waits for the buffer back, until c or d is closed.
func (d *PacketConn) pump(c *net.UDPConn) {
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

// ReadFromUDPAddrPort reads the next datagram to either address into b,
// and returns its length (at most len(b): the rest of a longer one is
// lost, as with a *net.UDPConn) and its source. It returns
// os.ErrDeadlineExceeded once the read deadline passes, also while
// waiting, and net.ErrClosed after Close.
func (d *PacketConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		d.mu.Lock()
		dl, changed := d.rdl, d.changed
		d.mu.Unlock()
		var expired <-chan time.Time
		var timer *time.Timer
		if !dl.IsZero() {
			wait := time.Until(dl)
			if wait <= 0 {
				return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(wait)
			expired = timer.C
		}
		select {
		case dg := <-d.ch:
			stop(timer)
			n := copy(b, dg.buf[:dg.n])
			dg.back <- dg.buf
			return n, dg.from, dg.err
		case <-d.done:
			stop(timer)
			return 0, netip.AddrPort{}, net.ErrClosed
		case <-expired:
			return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
		case <-changed:
			stop(timer) // and wait again, until the new deadline
		}
	}
}

func stop(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// ReadFrom is ReadFromUDPAddrPort with the source as a *net.UDPAddr.
func (d *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := d.ReadFromUDPAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteTo writes b through the 127.0.0.1 socket to an IPv4 address
// (IPv4-mapped ones included), through the ::1 one to an IPv6 address.
func (d *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
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

// Close closes both sockets, and unblocks the reads in progress.
func (d *PacketConn) Close() error {
	d.once.Do(func() { close(d.done) })
	return errors.Join(d.v4.Close(), d.v6.Close())
}

// LocalAddr is the address on 127.0.0.1.
func (d *PacketConn) LocalAddr() net.Addr { return d.v4.LocalAddr() }

// LocalAddr6 is the address on ::1: the same port as LocalAddr's.
func (d *PacketConn) LocalAddr6() net.Addr { return d.v6.LocalAddr() }

// SetDeadline sets the read and write deadlines.
func (d *PacketConn) SetDeadline(t time.Time) error {
	_ = d.SetReadDeadline(t)
	return d.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline, for the reads in progress too;
// the zero time means none.
func (d *PacketConn) SetReadDeadline(t time.Time) error {
	d.mu.Lock()
	d.rdl = t
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
	return nil
}

// SetWriteDeadline sets the write deadline of both sockets.
func (d *PacketConn) SetWriteDeadline(t time.Time) error {
	return errors.Join(d.v4.SetWriteDeadline(t), d.v6.SetWriteDeadline(t))
}
