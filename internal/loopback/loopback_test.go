package loopback_test

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/loopback"
)

var (
	ip4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	ip6 = netip.IPv6Loopback()
)

// listenUDP is loopback.ListenUDP(port) for a test, which it skips
// without ::1; the socket closes when the test ends.
func listenUDP(t *testing.T, port int) *loopback.PacketConn {
	t.Helper()
	loopback.Need6(t)
	d, err := loopback.ListenUDP(port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// udpClient is a UDP socket on ip, port 0.
func udpClient(t *testing.T, ip netip.Addr) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// addrPort is a as a netip.AddrPort.
func addrPort(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// wantErr waits (at most 5 s) for the error of what, from errc, and checks
// that it is want.
func wantErr(t *testing.T, errc <-chan error, want error, what string) {
	t.Helper()
	select {
	case err := <-errc:
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: still blocked after 5 s", what)
	}
}

// The listener accepts connections to either address, and Close ends a
// waiting Accept.
func TestListener(t *testing.T) {
	t.Parallel()
	loopback.Need6(t)
	l, err := loopback.ListenTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ip := addrPort(t, l.Addr()).Addr(); ip != ip4 {
		t.Fatalf("Addr on %v", ip)
	}
	if ip := addrPort(t, l.Addr6()).Addr(); ip != ip6 {
		t.Fatalf("Addr6 on %v", ip)
	}
	for _, to := range []net.Addr{l.Addr(), l.Addr6()} {
		c, err := net.Dial("tcp", to.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got, want := addrPort(t, s.RemoteAddr()), addrPort(t, c.LocalAddr()); got != want {
			t.Fatalf("accepted from %v, dialled from %v", got, want)
		}
		if got, want := addrPort(t, s.LocalAddr()), addrPort(t, to); got != want {
			t.Fatalf("accepted on %v, dialled %v", got, want)
		}
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(s, buf); err != nil {
			t.Fatal(err)
		}
	}

	errc := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wantErr(t, errc, net.ErrClosed, "Accept during Close")
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}

func TestPacketConnRoundTrips(t *testing.T) {
	t.Parallel()
	d := listenUDP(t, 0)
	a4, a6 := addrPort(t, d.LocalAddr()), addrPort(t, d.LocalAddr6())
	if a4.Addr() != ip4 || a6.Addr() != ip6 || a4.Port() != a6.Port() || a4.Port() == 0 {
		t.Fatalf("listening on %v and %v", a4, a6)
	}
	d.SetDeadline(time.Now().Add(5 * time.Second))
	for _, tc := range []struct {
		from netip.Addr
		to   netip.AddrPort
	}{{ip4, a4}, {ip6, a6}} {
		c := udpClient(t, tc.from)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		msg := []byte("ping from " + tc.from.String())
		if _, err := c.WriteToUDPAddrPort(msg, tc.to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		n, from, err := d.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if want := addrPort(t, c.LocalAddr()); from != want || string(buf[:n]) != string(msg) {
			t.Fatalf("read %q from %v, want %q from %v", buf[:n], from, msg, want)
		}
		// The answer goes to the source through the socket of its family,
		// so it comes from the address the client wrote to.
		if _, err := d.WriteTo([]byte("pong"), net.UDPAddrFromAddrPort(from)); err != nil {
			t.Fatal(err)
		}
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != "pong" || src != tc.to {
			t.Fatalf("client read %q from %v, want pong from %v", buf[:n], src, tc.to)
		}

		// ReadFrom reports the same source as a *net.UDPAddr.
		if _, err := c.WriteToUDPAddrPort(msg, tc.to); err != nil {
			t.Fatal(err)
		}
		_, addr, err := d.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if u, ok := addr.(*net.UDPAddr); !ok || u.AddrPort() != from {
			t.Fatalf("ReadFrom: source %#v, want %v", addr, from)
		}
	}
}

func TestPacketConnWriteToIPv4Mapped(t *testing.T) {
	t.Parallel()
	d := listenUDP(t, 0)
	c := udpClient(t, ip4)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	port := addrPort(t, c.LocalAddr()).Port()
	mapped := netip.AddrPortFrom(netip.AddrFrom16(ip4.As16()), port)
	if _, err := d.WriteTo([]byte("x"), net.UDPAddrFromAddrPort(mapped)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	_, src, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := addrPort(t, d.LocalAddr()); src != want {
		t.Fatalf("from %v, want %v", src, want)
	}
}

// TestListenUDPPort is not parallel: it frees a port and takes it again,
// which a parallel test's listener could take in between.
func TestListenUDPPort(t *testing.T) {
	d := listenUDP(t, 0)
	port := addrPort(t, d.LocalAddr()).Port()
	// The port is taken on both addresses now.
	if d2, err := loopback.ListenUDP(int(port)); err == nil {
		d2.Close()
		t.Fatalf("listened twice on port %d", port)
	}
	d.Close()
	d2 := listenUDP(t, int(port))
	if got := addrPort(t, d2.LocalAddr6()).Port(); got != port {
		t.Fatalf("::1 port %d, want %d", got, port)
	}
}

func TestPacketConnDeadline(t *testing.T) {
	t.Parallel()
	d := listenUDP(t, 0)
	buf := make([]byte, 10)

	// A deadline in the past: at once.
	d.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := d.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}

	// A deadline ahead: once it passes.
	start := time.Now()
	d.SetDeadline(start.Add(50 * time.Millisecond))
	if _, _, err := d.ReadFromUDPAddrPort(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Fatalf("returned after %v, before the deadline", waited)
	}

	// A deadline set while a read waits applies to it.
	d.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		_, _, err := d.ReadFromUDPAddrPort(buf)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	d.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	wantErr(t, errc, os.ErrDeadlineExceeded, "a read when its deadline is set")

	// No deadline: the next datagram is read.
	d.SetReadDeadline(time.Time{})
	c := udpClient(t, ip6)
	if _, err := c.WriteTo([]byte("x"), d.LocalAddr6()); err != nil {
		t.Fatal(err)
	}
	if n, _, err := d.ReadFromUDPAddrPort(buf); err != nil || n != 1 {
		t.Fatalf("after clearing the deadline: %d, %v", n, err)
	}
}

func TestPacketConnCloseUnblocksRead(t *testing.T) {
	t.Parallel()
	d := listenUDP(t, 0)
	errc := make(chan error, 2)
	for range 2 {
		go func() {
			_, _, err := d.ReadFrom(make([]byte, 10))
			errc <- err
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		wantErr(t, errc, net.ErrClosed, "a read during Close")
	}
}
