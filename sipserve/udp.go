package sipserve

import (
	"errors"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipmsg"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// udpCache returns the cache of UDP answers, made on first use; nil when
// RetransmitBytes turns it off.
func (s *Server) udpCache() *txCache {
	if s.RetransmitBytes < 0 {
		return nil
	}
	if c := s.stats.cache.Load(); c != nil {
		return c
	}
	ttl := s.RetransmitTime
	if ttl <= 0 {
		ttl = TimerJ
	}
	max := s.RetransmitBytes
	if max == 0 {
		max = DefaultRetransmitBytes
	}
	s.stats.cache.CompareAndSwap(nil, newTxCache(max, ttl))
	return s.stats.cache.Load()
}

// ServeUDP answers the requests that arrive on pc until pc fails or the
// server is closed; it closes pc when it returns. Several goroutines, two
// per CPU, read the socket, and each handles what it read itself, with no
// hand-over to a worker, as long as another reader is left reading: the
// last one hands its requests to the workers, so that handlers that wait
// on a backend never leave the socket unread.
func (s *Server) ServeUDP(pc net.PacketConn) error {
	if err := s.open(pc); err != nil {
		return err
	}
	defer s.untrack(pc)
	defer pc.Close()
	cache := s.udpCache()
	u := &udpSocket{pc: pc, cache: cache, readers: int64(min(max(2*runtime.GOMAXPROCS(0), 2), 16))}
	errs := make(chan error, u.readers)
	var wg sync.WaitGroup
	for range u.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.readUDP(u)
		}()
	}
	err := <-errs
	if !s.draining.Load() {
		pc.Close() // stops the other readers
	}
	wg.Wait()
	// Answers handed to workers go out before the socket closes.
	u.pending.Wait()
	if s.ctx.Err() != nil || s.draining.Load() {
		return ErrServerClosed
	}
	return err
}

// udpSocket is a served UDP socket and its readers.
type udpSocket struct {
	pc      net.PacketConn
	cache   *txCache
	readers int64
	// handling counts the readers handling a request themselves.
	handling atomic.Int64
	// pending counts the requests handed to workers and not answered.
	pending sync.WaitGroup
}

// readUDP reads datagrams until the socket fails.
func (s *Server) readUDP(u *udpSocket) error {
	pc := u.pc
	buf := make([]byte, maxDatagram)
	peer := &Peer{Local: pc.LocalAddr()}
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && s.ctx.Err() == nil && !s.draining.Load() {
				continue
			}
			return err
		}
		s.datagram(u, buf[:n], from, peer)
	}
}

// datagram parses one datagram and handles its request, or hands it to
// the workers when this reader is the last one reading.
func (s *Server) datagram(u *udpSocket, d []byte, from net.Addr, local *Peer) {
	pc, cache := u.pc, u.cache
	if len(d) == 0 || isKeepAlive(d) {
		return
	}
	msg, err := sipmsg.Parse(d)
	if err != nil {
		s.stats.malformed.Add(1)
		s.log(slog.LevelDebug, "unparsable datagram", "source", from.String(), "error", err)
		return
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		s.stats.responses.Add(1)
		return
	}
	req.SetTransport("UDP")
	source := from.String()
	req.SetSource(source)
	j := job{req: req, pc: pc, to: from, pending: &u.pending}
	if cache != nil && !req.IsAck() {
		key, ok := txKey(req)
		if !ok {
			s.stats.malformed.Add(1)
			return
		}
		switch v, answer := cache.begin(key, source); v {
		case absorb:
			s.stats.absorbed.Add(1)
			return
		case resend:
			s.stats.retransmissions.Add(1)
			s.writeUDP(pc, answer, from)
			return
		case handleIt:
			j.key = key
		}
	}
	p := *local
	p.Remote = from
	j.peer = &p
	if u.handling.Add(1) < u.readers {
		s.stats.requests.Add(1)
		s.handle(j)
		u.handling.Add(-1)
		return
	}
	u.handling.Add(-1)
	if !s.dispatch(j) && j.key != "" {
		cache.abandon(j.key)
	}
}

// answerUDP sends an answer to its request's source and keeps it for the
// request's retransmissions.
func (s *Server) answerUDP(j job, answer []byte) {
	if j.key != "" {
		if c := s.stats.cache.Load(); c != nil {
			kept := make([]byte, len(answer))
			copy(kept, answer)
			c.finish(j.key, kept)
		}
	}
	s.writeUDP(j.pc, answer, j.to)
}

func (s *Server) writeUDP(pc net.PacketConn, b []byte, to net.Addr) {
	if _, err := pc.WriteTo(b, to); err != nil {
		s.stats.writeErrors.Add(1)
		level := slog.LevelWarn
		if isClosedErr(err) {
			level = slog.LevelDebug
		}
		s.log(level, "write", "transport", "udp", "to", to.String(), "error", err)
	}
}

// isKeepAlive reports whether a datagram is only CR, LF and NUL bytes, a
// NAT keep-alive (RFC 5626 §3.5.1 sends CRLF pairs; some clients send a
// NUL or four bytes of them).
func isKeepAlive(d []byte) bool {
	for _, c := range d {
		if c != '\r' && c != '\n' && c != 0 {
			return false
		}
	}
	return true
}
