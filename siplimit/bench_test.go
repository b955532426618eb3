package siplimit

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// pipelined is n copies of a REGISTER with a body, back to back.
func pipelined(n int) []byte {
	return bytes.Repeat([]byte(register("bench", "5", "hello")), n)
}

// The framer alone, over 32 KiB reads of pipelined REGISTERs.
func BenchmarkFramer(b *testing.B) {
	msg := []byte(register("bench", "5", "hello"))
	stream := pipelined(1000)
	f := newFramer(DefaultMaxMessageSize, true)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		for off := 0; off < len(stream) && done < b.N; off += 32 << 10 {
			before := f.completed
			f.feed(stream[off:min(off+32<<10, len(stream))])
			done += int(f.completed - before)
		}
	}
}

// Conn.Read over a real TCP connection: a writer sends pipelined
// REGISTERs, the reader reads them in 32 KiB reads as sipgo does; an
// operation is one message.
func BenchmarkConnRead(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	l := NewListener(ln, Limits{})
	defer l.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	server, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer server.Close()
	msg := []byte(register("bench", "5", "hello"))
	stream := pipelined(200)
	go func() {
		for {
			if _, err := client.Write(stream); err != nil {
				return
			}
		}
	}()
	c := server.(*Conn)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for c.g.fr.completed < uint64(b.N) {
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// The UDP admission of one datagram: a valid REGISTER passed on, junk,
// and a REGISTER from a source over its rate.
func BenchmarkPacketConnAdmit(b *testing.B) {
	inner, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer inner.Close()
	reg := []byte(udpRequest("bench", "0", ""))
	src := netip.MustParseAddrPort("192.0.2.1:5060")
	for _, tt := range []struct {
		name string
		lim  Limits
		d    []byte
		want int
	}{
		{"pass", Limits{SourceRate: -1, MaxPerWindow: -1}, reg, vPass},
		{"junk", Limits{}, []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03junk"), vDrop},
		{"rate limited", Limits{SourceRate: 1e-9, SourceBurst: 1}, reg, vDrop},
	} {
		b.Run(tt.name, func(b *testing.B) {
			p := NewPacketConn(inner, tt.lim)
			p.admit(tt.d, 32<<10, src) // the source's first datagram makes its entry
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if v, _ := p.admit(tt.d, 32<<10, src); v != tt.want {
					b.Fatalf("verdict %d", v)
				}
			}
		})
	}
}

// PacketConn.ReadFrom over a real UDP socket, a valid REGISTER each; an
// operation is one datagram read and passed on.
func BenchmarkPacketConnReadFrom(b *testing.B) {
	inner, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p := NewPacketConn(inner, Limits{SourceRate: -1, MaxPerWindow: -1})
	defer p.Close()
	client, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	to := inner.LocalAddr().(*net.UDPAddr).AddrPort()
	reg := []byte(udpRequest("bench", "0", ""))
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = client.WriteToUDPAddrPort(reg, to)
			if i%64 == 63 {
				time.Sleep(50 * time.Microsecond) // spare the socket buffer
			}
		}
	}()
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(reg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, _, err := p.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
	}
}
