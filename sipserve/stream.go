package sipserve

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/internal/sipstream"
)

// streamConn is a served stream connection: its writer, shared by the
// workers that answer its requests.
type streamConn struct {
	conn         net.Conn
	w            *sipstream.Writer
	writeTimeout time.Duration
	// pending counts the requests handed to workers and not answered.
	pending sync.WaitGroup
}

// StreamOption adjusts how ServeStream serves a listener's connections.
type StreamOption interface{ apply(*streamOptions) }

type streamOptions struct{ shared bool }

type streamOptionFunc func(*streamOptions)

func (f streamOptionFunc) apply(o *streamOptions) { f(o) }

// Shared says that each connection of the listener carries the requests of
// many clients, as an edge proxy's do on port 5091: every request then goes
// to the workers, so that a slow one (a key fetched, a store that stalls)
// holds up none of those behind it on the connection. Without it, a
// request that arrives with nothing after it is handled by the
// connection's reader, which is cheaper and delays only the next request
// of the same client.
func Shared() StreamOption { return streamOptionFunc(func(o *streamOptions) { o.shared = true }) }

// ServeStream answers the requests of the connections l accepts, TCP or
// TLS (a connection with a ConnectionState method, as *tls.Conn and
// siplimit's TLS connections have, is TLS), until l fails or the server
// is closed; it closes l when it returns. Each connection is read by a
// goroutine of its own and closed when its peer closes it, when it
// breaks the framing of SIP (the reader's bounds: package sipstream), or
// when the server closes. A connection's double-CRLF pings are answered
// with a CRLF (RFC 5626 §4.4.1).
func (s *Server) ServeStream(l net.Listener, opts ...StreamOption) error {
	var o streamOptions
	for _, opt := range opts {
		opt.apply(&o)
	}
	if err := s.open(l); err != nil {
		return err
	}
	defer s.untrack(l)
	defer l.Close()
	var pause time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.ctx.Err() != nil || s.draining.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors (EMFILE), say: wait a little and go on,
			// as net/http does for its temporary errors.
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			s.log(slog.LevelWarn, "accept", "error", err, "retry-in", pause)
			select {
			case <-time.After(pause):
			case <-s.ctx.Done():
				return ErrServerClosed
			}
			continue
		}
		pause = 0
		if !s.track(c) {
			c.Close()
			return ErrServerClosed
		}
		go s.serveConn(c, o)
	}
}

// serveConn reads the requests of one connection until it ends.
func (s *Server) serveConn(c net.Conn, o streamOptions) {
	defer s.untrack(c)
	defer c.Close()
	peer := &Peer{Local: c.LocalAddr(), Remote: c.RemoteAddr()}
	transport := "TCP"
	if t, ok := c.(interface{ ConnectionState() tls.ConnectionState }); ok {
		// The listener handshook before Accept returned (mtlstrust's and
		// siplimit's do); a plain tls.Listener's connection handshakes on
		// its first read, and its state is taken after it.
		cs := t.ConnectionState()
		if !cs.HandshakeComplete {
			if h, ok := c.(interface{ Handshake() error }); ok {
				if err := h.Handshake(); err != nil {
					s.log(slog.LevelDebug, "handshake", "remote", peer.Remote.String(), "error", err)
					return
				}
				cs = t.ConnectionState()
			}
		}
		peer.TLS = &cs
		transport = "TLS"
	}
	wt := defaults.Positive(s.WriteTimeout, DefaultWriteTimeout)
	sc := &streamConn{conn: c, w: sipstream.NewWriter(c, wt), writeTimeout: wt}
	peer.Flow = newFlow(sc, transport)
	// The connection closes once the answers handed to workers are out
	// (each write bounded by WriteTimeout). Its flow is gone before:
	// nothing more can be read on it, and the requests waiting for an
	// answer must not wait for their time to end.
	defer sc.pending.Wait()
	defer peer.Flow.close()
	r := sipstream.NewReader(c, sipstream.WithPong(sc.w))
	source := peer.Remote.String()
	for {
		m, err := r.ReadMessage()
		if err != nil {
			level := slog.LevelDebug
			var se *sipstream.Error
			if errors.As(err, &se) {
				s.stats.malformed.Add(1)
			} else if !isClosedErr(err) && s.ctx.Err() == nil && !s.draining.Load() {
				level = slog.LevelInfo
			}
			s.log(level, "connection closed", "remote", source, "error", err)
			return
		}
		req, ok := m.(*sip.Request)
		if !ok {
			// The answer to a request sent on the flow.
			s.stats.responses.Add(1)
			peer.Flow.deliver(m.(*sip.Response))
			continue
		}
		req.SetTransport(transport)
		req.SetSource(source)
		j := job{req: req, peer: peer, stream: sc, pending: &sc.pending}
		if !o.shared && r.Buffered() == 0 {
			// Nothing else came with it: the reader handles it, with no
			// hand-over to a worker (and its wake-ups); a connection that
			// sends faster than one goroutine answers finds its next
			// messages buffered, and those go to the workers.
			s.stats.requests.Add(1)
			s.handle(j)
			continue
		}
		if !s.dispatch(j) {
			return
		}
	}
}

// answerStream writes an answer on its request's connection.
func (s *Server) answerStream(j job, answer []byte) {
	if err := j.stream.w.Write(answer, time.Time{}); err != nil {
		s.stats.writeErrors.Add(1)
		level := slog.LevelInfo
		if isClosedErr(err) {
			level = slog.LevelDebug
		} else {
			// A peer that does not read its answers within the timeout
			// holds a worker no longer: its connection goes.
			j.stream.conn.Close()
		}
		s.log(level, "write", "remote", j.peer.Remote.String(), "error", err)
	}
}
