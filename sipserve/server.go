package sipserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/internal/sipmsg"
)

// Peer is what the server knows of the connection a request came on.
type Peer struct {
	Local, Remote net.Addr
	// TLS is the connection's TLS state, nil for plain TCP or UDP.
	TLS *tls.ConnectionState
	// Flow is the connection, for requests back to the peer; nil over
	// UDP.
	Flow *Flow
}

// Handler answers requests. ServeSIP returns the final response to send,
// or nil to send none (an ACK, say). It is called from the server's
// workers and readers, several at once, and must not keep req after it
// returns.
type Handler interface {
	ServeSIP(ctx context.Context, req *sip.Request, peer Peer) *sip.Response
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *sip.Request, peer Peer) *sip.Response

// ServeSIP implements Handler.
func (f HandlerFunc) ServeSIP(ctx context.Context, req *sip.Request, peer Peer) *sip.Response {
	return f(ctx, req, peer)
}

// Defaults of a Server.
const (
	// DefaultWorkers is how many requests are handled at once when
	// Server.Workers is 0: enough to keep both the CPUs and a backend
	// with a round trip of a millisecond (a Redis store) busy.
	DefaultWorkers = 256
	// DefaultWriteTimeout bounds each write of an answer on a stream.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultRetransmitBytes bounds the answers kept for UDP
	// retransmissions (RetransmitBytes): at 900 bytes an answer, the 2xx
	// of 270 registrations a second for Timer J (40,000 devices
	// re-registering every 150 s), or of 8,000 a second for 1.1 s.
	DefaultRetransmitBytes = 8 << 20
	// DefaultUDPReceiveBuffer is the receive buffer to ask for a UDP
	// socket a registrar serves (net.UDPConn.SetReadBuffer; the kernel
	// doubles it, within net.core.rmem_max): 1 MiB, four times Kamailio's
	// default maxbuffer. With 256 KiB, REGISTERs at 6,000/s on 127.0.0.1
	// (bench/compare.sh) lost a few datagrams to a full buffer in 15 s,
	// each a retransmission 500 ms later; with 1 MiB, none.
	DefaultUDPReceiveBuffer = 1 << 20
	// TimerJ is how long an answer over UDP is kept for retransmissions
	// of its request when the byte bound allows: 64*T1 (RFC 3261 §17.2.2).
	TimerJ = 64 * 500 * time.Millisecond
)

// Server answers SIP requests over UDP, TCP and TLS without a transaction
// per request: a request is parsed, handed to the Handler by its reader
// or by one of a pool of workers, and its answer written back on the socket or
// connection it came on. Over UDP, the answers are kept in a bounded
// cache, so that a retransmitted request gets the same answer again and
// a retransmission that arrives while its request is being handled is
// dropped (RFC 3261 §17.2.2), without running the Handler twice.
//
// Bound the sockets themselves with package siplimit (connections,
// message size, timeouts, UDP admission) and give the Server the
// wrapped listener or packet connection.
//
// Set the fields before the first Serve call; a Server must not be
// copied after.
type Server struct {
	Handler Handler
	// Logger receives the errors of the sockets and of the writes, at
	// Debug for what clients cause (a connection closed under its
	// answer) and at Warn for the rest. Nil discards them.
	Logger *slog.Logger
	// Workers is how many requests the workers handle at once;
	// DefaultWorkers when 0. A reader that finds every worker busy waits,
	// and the socket's buffer then holds the requests (the kernel drops
	// UDP datagrams when it is full; TCP pushes back on the sender). A
	// stream connection's reader also handles, itself, a request that
	// arrived with nothing after it, so a connection has at most one
	// request of its own in hand besides those given to workers.
	Workers int
	// WriteTimeout bounds each write on a stream; DefaultWriteTimeout
	// when 0.
	WriteTimeout time.Duration
	// RetransmitBytes bounds the memory of the UDP answers kept for
	// retransmissions, keys included; DefaultRetransmitBytes when 0, none
	// kept when negative. RetransmitTime is how long each is kept at most;
	// TimerJ when 0. When the bound is reached the oldest go first.
	RetransmitBytes int
	RetransmitTime  time.Duration
	// Keep, if set, says which UDP answers are kept for retransmissions;
	// nil keeps every one. An answer the Handler gives again to the same
	// request need not take room: its retransmission is handled again.
	// SuccessfulRegister keeps the 2xx to REGISTER only: a challenge or a
	// refusal costs little to give again, while a 2xx costs a store
	// update (the registrar recognizes a retransmitted REGISTER by its
	// branch and answers it from its bindings, registrar.Apply).
	// Retransmissions that arrive while their request is handled are
	// dropped whatever Keep says.
	Keep func(req *sip.Request, res *sip.Response) bool

	started bool
	slots   chan struct{} // one per request handed to a worker and not done
	idle    []*worker     // workers waiting, the last to finish on top
	idleMu  sync.Mutex
	workers sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc

	mu       sync.Mutex // guards started, closed, draining and sockets
	closed   bool
	draining atomic.Bool // Shutdown was called: serve no new request
	sockets  map[io.Closer]struct{}
	serving  sync.WaitGroup // serve loops and connection readers

	stats counters
}

// job is one request on its way to a worker, with where its answer goes.
type job struct {
	req  *sip.Request
	peer *Peer
	// Over UDP: the socket, the source and the cache key; on a stream,
	// its writer.
	pc     net.PacketConn
	to     net.Addr
	key    string
	stream *streamConn
	// pending, for a job handed to a worker, counts it among those of
	// its socket or connection, which waits for them before it closes.
	pending *sync.WaitGroup
}

// ErrServerClosed is returned by the Serve methods after Close.
var ErrServerClosed = errors.New("sipserve: server closed")

// start runs the workers on the first Serve call.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Handler == nil {
		return errors.New("sipserve: Server needs a Handler")
	}
	if s.closed {
		return ErrServerClosed
	}
	if s.started {
		return nil
	}
	s.started = true
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.slots = make(chan struct{}, defaults.Positive(s.Workers, DefaultWorkers))
	return nil
}

// worker is a goroutine that handles the jobs given to it, one at a time.
type worker struct{ jobs chan job }

// open starts the server if need be and takes sock, a socket to serve, to
// close with it; after Close it closes sock and returns ErrServerClosed.
func (s *Server) open(sock io.Closer) error {
	if err := s.start(); err != nil {
		return err
	}
	if !s.track(sock) {
		sock.Close()
		return ErrServerClosed
	}
	return nil
}

// track registers a socket or connection to close with the server; false
// when the server is closed already.
func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.draining.Load() {
		if _, ok := c.(net.Listener); ok {
			return false
		}
		// A connection accepted as the server began to drain: it takes
		// no request either.
		if d, ok := c.(interface{ SetReadDeadline(time.Time) error }); ok {
			_ = d.SetReadDeadline(time.Now())
		}
	}
	if s.sockets == nil {
		s.sockets = map[io.Closer]struct{}{}
	}
	s.sockets[c] = struct{}{}
	s.serving.Add(1)
	return true
}

func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.sockets, c)
	s.mu.Unlock()
	s.serving.Done()
}

// Shutdown stops the server gracefully: it closes the listeners, so that
// no connection is accepted, stops reading the sockets and connections,
// so that no new request is taken, waits until every request read has
// been answered, then closes the connections (their clients register
// again elsewhere) and the sockets, and returns when the workers have
// stopped. When ctx ends first, it closes everything as Close does and
// returns ctx.Err(). The Serve calls return ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || !s.started {
		s.mu.Unlock()
		return s.Close()
	}
	s.draining.Store(true)
	for c := range s.sockets {
		switch c := c.(type) {
		case net.Listener:
			_ = c.Close()
		case interface{ SetReadDeadline(time.Time) error }:
			// The reader wakes, sees the server draining, and stops once
			// the requests it handed out are answered.
			_ = c.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.serving.Wait(); close(done) }()
	select {
	case <-done:
		return s.Close()
	case <-ctx.Done():
		_ = s.Close()
		return ctx.Err()
	}
}

// Close closes every socket and connection the server serves, lets the
// requests being handled finish (their answers are dropped when the
// connection is gone), and returns when the workers have stopped. The
// Serve calls return ErrServerClosed.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	started := s.started
	if started {
		// First, so that the loops that see their socket closed know why.
		s.cancel()
	}
	for c := range s.sockets {
		_ = c.Close()
	}
	s.mu.Unlock()
	if !started {
		return nil
	}
	s.serving.Wait() // no reader hands out a job after this
	// Every slot back: every job done, every worker idle.
	for range cap(s.slots) {
		s.slots <- struct{}{}
	}
	s.idleMu.Lock()
	for _, w := range s.idle {
		close(w.jobs)
	}
	s.idle = nil
	s.idleMu.Unlock()
	s.workers.Wait()
	return nil
}

// work handles the jobs given to w until the server closes. Done with a
// job, w goes on top of the idle workers, then gives its slot back: the
// next job goes to the worker that finished last, whose stack and caches
// are warm, and at a low rate a few workers do all the work while the
// others stay parked (the garbage collector shrinks their stacks once,
// not at every turn of a round robin).
func (s *Server) work(w *worker) {
	defer s.workers.Done()
	for j := range w.jobs {
		s.handle(j)
		if j.pending != nil {
			j.pending.Done()
		}
		s.idleMu.Lock()
		s.idle = append(s.idle, w)
		s.idleMu.Unlock()
		<-s.slots
	}
}

// handle runs one request through the Handler and sends its answer.
func (s *Server) handle(j job) {
	res := s.call(j)
	if res == nil {
		if c := s.stats.cache.Load(); c != nil && j.key != "" {
			c.abandon(j.key)
		}
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	res.StringWrite(buf)
	if j.pc != nil {
		if j.key != "" && s.Keep != nil && !s.Keep(j.req, res) {
			s.stats.cache.Load().abandon(j.key)
			j.key = ""
		}
		s.answerUDP(j, buf.Bytes())
	} else {
		s.answerStream(j, buf.Bytes())
	}
	if buf.Cap() <= maxPooled {
		bufPool.Put(buf)
	}
}

// call is the Handler's answer; a Handler that panics is logged and
// answered 500, and the server goes on.
func (s *Server) call(j job) (res *sip.Response) {
	defer func() {
		if v := recover(); v != nil {
			s.stats.panics.Add(1)
			s.log(slog.LevelError, "handler panicked", "panic", fmt.Sprint(v), "method", string(j.req.Method))
			res = sipmsg.NewResponse(j.req, 500, "Server Internal Error")
		}
	}()
	return s.Handler.ServeSIP(s.ctx, j.req, *j.peer)
}

// SuccessfulRegister is a Server.Keep for a registrar: it keeps the 2xx
// answers to REGISTER only, those that cost a store update to give again.
func SuccessfulRegister(req *sip.Request, res *sip.Response) bool {
	return req.Method == sip.REGISTER && res.StatusCode >= 200 && res.StatusCode < 300
}

// maxPooled is the largest answer buffer kept for reuse.
const maxPooled = 64 << 10

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// dispatch hands a request to a worker, the one that finished last or a
// new one; it waits while Workers are busy. False when the server closed
// meanwhile.
func (s *Server) dispatch(j job) bool {
	select {
	case s.slots <- struct{}{}:
	case <-s.ctx.Done():
		return false
	}
	if j.pending != nil {
		j.pending.Add(1)
	}
	s.stats.requests.Add(1)
	s.idleMu.Lock()
	var w *worker
	if n := len(s.idle); n > 0 {
		w = s.idle[n-1]
		s.idle[n-1] = nil
		s.idle = s.idle[:n-1]
	}
	s.idleMu.Unlock()
	if w == nil {
		// No worker idle, and a slot free: the workers there are, busy,
		// are fewer than Workers.
		w = &worker{jobs: make(chan job, 1)}
		s.workers.Add(1)
		go s.work(w)
	}
	w.jobs <- j
	return true
}

func (s *Server) log(level slog.Level, msg string, args ...any) {
	if s.Logger != nil {
		s.Logger.Log(context.Background(), level, "sip: "+msg, args...)
	}
}

// isClosedErr reports whether err is a socket closed under its reader or
// writer, by the server or the peer.
func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection reset by peer") || strings.Contains(err.Error(), "broken pipe")
}

// Stats are a Server's counts since it started.
type Stats struct {
	// Requests is how many requests were handed to the Handler.
	Requests uint64
	// Retransmissions is how many UDP requests were answered again from
	// the cache; Absorbed how many were dropped because the same request
	// was still being handled.
	Retransmissions, Absorbed uint64
	// Malformed is how many messages the parser refused; Responses how
	// many responses arrived (a server sends no requests: they are
	// dropped).
	Malformed, Responses uint64
	// WriteErrors is how many answers could not be written; Panics how
	// many requests made the Handler panic.
	WriteErrors, Panics uint64
	// Cached is how many UDP answers the cache holds now, CachedBytes
	// their size, keys included.
	Cached, CachedBytes int
}

type counters struct {
	requests, retransmissions, absorbed, malformed, responses, writeErrors, panics atomic.Uint64
	cache                                                                          atomic.Pointer[txCache]
}

// Stats returns the server's counts so far.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		Requests: c.requests.Load(), Retransmissions: c.retransmissions.Load(), Absorbed: c.absorbed.Load(),
		Malformed: c.malformed.Load(), Responses: c.responses.Load(), WriteErrors: c.writeErrors.Load(), Panics: c.panics.Load(),
	}
	if tc := c.cache.Load(); tc != nil {
		st.Cached, st.CachedBytes = tc.size()
	}
	return st
}
