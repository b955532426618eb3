package siplimit

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// PacketConn is a net.PacketConn for a SIP stack's UDP transport (sipgo's
// ServeUDP). Its ReadFrom returns only the datagrams worth parsing: it
// drops, before the SIP stack sees them, keep-alives, datagrams that do not
// start with a SIP request line, requests from a source over its rate,
// and requests beyond the window cap, which bounds the server transactions
// the stack keeps alive; it answers a request over the size limit with
// 513 and one with an invalid Content-Length or CSeq with 400 itself.
// What it remembers per source is bounded. WriteTo writes through; a 2xx
// answer to a REGISTER makes its destination a known source (see
// Limits.KnownFor).
type PacketConn struct {
	inner net.PacketConn
	udp   addrPortReader // inner, when it reads without allocating (a *net.UDPConn does)
	lim   Limits
	log   *slog.Logger
	epoch time.Time

	rmu sync.Mutex // one reader at a time
	fr  framer
	ans []byte

	mu        sync.Mutex
	sources   map[netip.Addr]*source
	win       window
	lastSweep int64

	received, admitted, keepAlives, notRequest, rateLimited, tooManySources atomic.Uint64
	windowFull, tooLarge, badFraming, answered, readErrors                  atomic.Uint64

	summaryGate logGate
	summarized  PacketStats
	readGate    logGate
}

// source is what a PacketConn remembers of a source IP address.
type source struct {
	tokens float64
	last   int64 // when tokens was computed, ns since epoch
	known  int64 // known until, ns since epoch
	addr   *net.UDPAddr
}

// addrPortReader is a socket that reads a datagram's source address
// without allocating, as *net.UDPConn does.
type addrPortReader interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
}

// NewPacketConn wraps inner, a UDP socket: a *net.UDPConn, or a
// net.PacketConn over UDP sockets, read through its ReadFromUDPAddrPort
// method when it has one.
func NewPacketConn(inner net.PacketConn, lim Limits, opts ...Option) *PacketConn {
	o := buildOptions(opts)
	p := &PacketConn{inner: inner, lim: lim.Effective(), log: o.log, epoch: time.Now(), sources: map[netip.Addr]*source{}}
	p.udp, _ = inner.(addrPortReader)
	p.fr = newFramer(p.lim.MaxMessageSize, false)
	p.win.slot = max(1, int64(p.lim.Window)/windowSlots)
	return p
}

// Datagram verdicts.
const (
	vDrop = iota
	vPass
	vAnswer
)

// ReadFrom returns the next datagram worth passing to the SIP stack. It
// returns an error only when the socket is closed or a read deadline set
// through the PacketConn passed; other read errors are waited out.
func (p *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	var pause time.Duration
	for {
		n, ap, err := p.read(b)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, nil, err
			}
			p.readErrors.Add(1)
			pause = nextPause(pause)
			p.readGate.warn(p.log, 5*time.Second, "siplimit: UDP read failed; reading again after a pause",
				"listen", p.inner.LocalAddr().String(), "error", err, "pause", pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		v, addr := p.admit(b[:n], len(b), ap)
		switch v {
		case vPass:
			return n, addr, nil
		case vAnswer:
			if _, err := p.inner.WriteTo(p.ans, net.UDPAddrFromAddrPort(ap)); err == nil {
				p.answered.Add(1)
			}
		}
	}
}

func (p *PacketConn) read(b []byte) (int, netip.AddrPort, error) {
	if p.udp != nil {
		return p.udp.ReadFromUDPAddrPort(b)
	}
	n, a, err := p.inner.ReadFrom(b)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	var ap netip.AddrPort
	if u, ok := a.(*net.UDPAddr); ok {
		ap = u.AddrPort()
	} else if a != nil {
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return n, ap, nil
}

// admit decides on a datagram d read into a buffer of bufLen bytes.
func (p *PacketConn) admit(d []byte, bufLen int, ap netip.AddrPort) (int, net.Addr) {
	p.received.Add(1)
	if keepAlive(d) {
		p.keepAlives.Add(1)
		return vDrop, nil
	}
	kind := datagramKind(d)
	if kind == slNone || kind == slResponse && !p.lim.AcceptResponses {
		p.notRequest.Add(1)
		p.summarize()
		return vDrop, nil
	}
	now := int64(time.Since(p.epoch))
	ip := ap.Addr().Unmap()

	p.mu.Lock()
	s := p.sources[ip]
	if s == nil {
		if len(p.sources) >= p.lim.MaxSources {
			if now-p.lastSweep >= int64(100*time.Millisecond) {
				p.sweep(now)
			}
			if len(p.sources) >= p.lim.MaxSources {
				p.mu.Unlock()
				p.tooManySources.Add(1)
				p.summarize()
				return vDrop, nil
			}
		}
		s = &source{tokens: float64(p.lim.SourceBurst), last: now}
		p.sources[ip] = s
	} else if now-p.lastSweep >= int64(10*time.Second) {
		p.sweep(now)
	}
	if p.lim.SourceRate > 0 {
		s.tokens = min(float64(p.lim.SourceBurst), s.tokens+float64(now-s.last)*p.lim.SourceRate/1e9)
		s.last = now
		if s.tokens < 1 {
			p.mu.Unlock()
			p.rateLimited.Add(1)
			p.summarize()
			return vDrop, nil
		}
		s.tokens--
	} else {
		s.last = now
	}
	known := s.known > now
	p.mu.Unlock()

	// The whole datagram is one message: check its size and framing.
	p.fr.reset()
	p.fr.feed(d)
	p.fr.endDatagram()
	why := p.fr.fail
	if why == failNone && len(d) >= bufLen {
		why = failTooLarge // cut short by the buffer: it was larger
	}
	switch why {
	case failNotSIP:
		p.notRequest.Add(1)
		p.summarize()
		return vDrop, nil
	case failTooLarge, failFraming:
		if why == failTooLarge {
			p.tooLarge.Add(1)
		} else {
			p.badFraming.Add(1)
		}
		p.summarize()
		code, reason := statusFor(why)
		var ok bool
		p.ans, ok = p.fr.answer(p.ans[:0], code, reason, ap)
		if ok {
			return vAnswer, nil
		}
		return vDrop, nil
	}

	p.mu.Lock()
	if kind == slRequest && p.lim.MaxPerWindow > 0 {
		p.win.advance(now)
		allowed := p.lim.MaxPerWindow
		if !known && p.lim.KnownFor > 0 {
			allowed -= p.lim.MaxPerWindow / 4
		}
		if p.win.sum >= allowed {
			p.mu.Unlock()
			p.windowFull.Add(1)
			p.summarize()
			return vDrop, nil
		}
		p.win.add()
	}
	// The SIP stack gets a net.Addr; the last one given for this source
	// serves again while its port is the same, so that steady traffic
	// allocates none. sipgo does not change it.
	a := s.addr
	if a == nil || a.Port != int(ap.Port()) {
		a = net.UDPAddrFromAddrPort(ap)
		s.addr = a
	}
	p.mu.Unlock()
	p.admitted.Add(1)
	return vPass, a
}

// sweep forgets the sources whose rate allowance is full again and that
// are not known. It runs under p.mu.
func (p *PacketConn) sweep(now int64) {
	p.lastSweep = now
	idle := int64(time.Minute)
	if p.lim.SourceRate > 0 {
		idle = int64(float64(p.lim.SourceBurst) / p.lim.SourceRate * 1e9)
	}
	for ip, s := range p.sources {
		if now-s.last >= idle && s.known <= now {
			delete(p.sources, ip)
		}
	}
}

// WriteTo writes a datagram. A 2xx answer to a REGISTER makes addr a
// known source for Limits.KnownFor.
func (p *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if p.lim.KnownFor > 0 && registerOK(b) {
		var ap netip.AddrPort
		if u, ok := addr.(*net.UDPAddr); ok {
			ap = u.AddrPort()
		} else if addr != nil {
			ap, _ = netip.ParseAddrPort(addr.String())
		}
		if ap.IsValid() {
			now := int64(time.Since(p.epoch))
			ip := ap.Addr().Unmap()
			p.mu.Lock()
			s := p.sources[ip]
			if s == nil && len(p.sources) < p.lim.MaxSources {
				s = &source{tokens: float64(p.lim.SourceBurst), last: now}
				p.sources[ip] = s
			}
			if s != nil {
				s.known = now + int64(p.lim.KnownFor)
			}
			p.mu.Unlock()
		}
	}
	return p.inner.WriteTo(b, addr)
}

// Close closes the socket.
func (p *PacketConn) Close() error { return p.inner.Close() }

// LocalAddr returns the socket's address.
func (p *PacketConn) LocalAddr() net.Addr { return p.inner.LocalAddr() }

// SetDeadline sets the socket's read and write deadlines.
func (p *PacketConn) SetDeadline(t time.Time) error { return p.inner.SetDeadline(t) }

// SetReadDeadline sets the socket's read deadline.
func (p *PacketConn) SetReadDeadline(t time.Time) error { return p.inner.SetReadDeadline(t) }

// SetWriteDeadline sets the socket's write deadline.
func (p *PacketConn) SetWriteDeadline(t time.Time) error { return p.inner.SetWriteDeadline(t) }

// Limits returns the limits in force, defaults filled in.
func (p *PacketConn) Limits() Limits { return p.lim }

// Stats returns the socket's counts so far.
func (p *PacketConn) Stats() PacketStats {
	s := p.counts()
	p.mu.Lock()
	s.Sources = len(p.sources)
	p.win.advance(int64(time.Since(p.epoch)))
	s.InWindow = p.win.sum
	p.mu.Unlock()
	return s
}

func (p *PacketConn) counts() PacketStats {
	return PacketStats{
		Received:       p.received.Load(),
		Admitted:       p.admitted.Load(),
		KeepAlives:     p.keepAlives.Load(),
		NotRequest:     p.notRequest.Load(),
		RateLimited:    p.rateLimited.Load(),
		TooManySources: p.tooManySources.Load(),
		WindowFull:     p.windowFull.Load(),
		TooLarge:       p.tooLarge.Load(),
		BadFraming:     p.badFraming.Load(),
		Answered:       p.answered.Load(),
		ReadErrors:     p.readErrors.Load(),
	}
}

// summarize logs, every ten seconds at most while datagrams are dropped,
// how many were dropped since the last summary and why.
func (p *PacketConn) summarize() {
	if ok, _ := p.summaryGate.allow(10 * time.Second); !ok {
		return
	}
	s, last := p.counts(), p.summarized
	p.summarized = s
	p.log.Warn("siplimit: UDP datagrams dropped", "listen", p.inner.LocalAddr().String(),
		"not_request", s.NotRequest-last.NotRequest, "rate_limited", s.RateLimited-last.RateLimited,
		"too_many_sources", s.TooManySources-last.TooManySources, "window_full", s.WindowFull-last.WindowFull,
		"too_large", s.TooLarge-last.TooLarge, "bad_framing", s.BadFraming-last.BadFraming,
		"admitted", s.Admitted-last.Admitted)
}

// keepAlive reports whether d is only CR, LF and NUL bytes.
func keepAlive(d []byte) bool {
	for _, b := range d {
		if b != '\r' && b != '\n' && b != 0 {
			return false
		}
	}
	return true
}

// datagramKind classifies a datagram by its first line: a SIP request,
// a SIP response, or neither. It looks at 1 KiB at most.
func datagramKind(d []byte) int {
	head := d[:min(len(d), 1024)]
	i := bytes.IndexByte(head, '\r')
	if i < 0 || i+1 >= len(d) || d[i+1] != '\n' {
		return slNone
	}
	return startLineKind(d[:i])
}

// registerOK reports whether b is a 2xx answer to a REGISTER.
func registerOK(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("SIP/2.0 2")) {
		return false
	}
	_, rest := cutLine(b)
	for len(rest) > 0 {
		line, next := cutLine(rest)
		if len(line) == 0 {
			return false
		}
		if c := bytes.IndexByte(line, ':'); c > 0 && bytes.EqualFold(bytes.TrimSpace(line[:c]), []byte("cseq")) {
			return bytes.HasSuffix(bytes.TrimSpace(line[c+1:]), []byte(" REGISTER"))
		}
		rest = next
	}
	return false
}

// windowSlots is how finely a window is counted: a request stays counted
// for between one and 1+1/windowSlots windows.
const windowSlots = 16

// window counts the requests passed on in the last window, in slots.
type window struct {
	slot  int64 // ns
	count [windowSlots + 1]int
	cur   int64 // the current slot's number
	sum   int
}

func (w *window) advance(now int64) {
	s := now / w.slot
	if s-w.cur > windowSlots {
		w.count = [windowSlots + 1]int{}
		w.sum = 0
		w.cur = s
		return
	}
	for w.cur < s {
		w.cur++
		i := w.cur % (windowSlots + 1)
		w.sum -= w.count[i]
		w.count[i] = 0
	}
}

func (w *window) add() {
	w.count[w.cur%(windowSlots+1)]++
	w.sum++
}
