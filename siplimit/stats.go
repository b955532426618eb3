package siplimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// StreamStats counts what a Listener did since it was made. Each field
// is a total except Open.
type StreamStats struct {
	// Accepted is the connections handed to the SIP stack (for TLS, after
	// their handshake).
	Accepted uint64
	// Open is the connections open now, TLS handshakes in progress included.
	Open int
	// RefusedTotal and RefusedPerSource are the connections closed as soon
	// as accepted because MaxConns or MaxConnsPerSource was reached.
	RefusedTotal     uint64
	RefusedPerSource uint64
	// AcceptErrors is the accept errors waited out (out of file
	// descriptors, a connection reset before it was accepted, ...).
	AcceptErrors uint64
	// HandshakeFailures is the TLS handshakes that failed or timed out.
	HandshakeFailures uint64
	// Messages is the complete messages passed on.
	Messages uint64
	// ClosedIdle is the connections closed after IdleTimeout without a byte.
	ClosedIdle uint64
	// ClosedSlowMessage is the connections closed because a message was not
	// complete within MessageTimeout of its first byte.
	ClosedSlowMessage uint64
	// ClosedWriteTimeout is the connections closed because a write did not
	// finish within WriteTimeout.
	ClosedWriteTimeout uint64
	// TooLarge is the messages over MaxMessageSize; BadFraming the ones
	// with an invalid, conflicting or missing Content-Length, an invalid
	// CSeq or a broken header line; NotSIP the connections whose bytes
	// were not SIP. Each closed its connection.
	TooLarge   uint64
	BadFraming uint64
	NotSIP     uint64
	// Answered is the 400 and 513 answers sent to such messages.
	Answered uint64
}

type streamCounters struct {
	accepted, refusedTotal, refusedPerSource, acceptErrors, handshakeFailures atomic.Uint64
	messages, closedIdle, closedSlow, closedWrite                             atomic.Uint64
	tooLarge, badFraming, notSIP, answered                                    atomic.Uint64
}

// PacketStats counts what a PacketConn did since it was made. Each field
// is a total except Sources and InWindow. A datagram is counted once,
// under the first reason it was dropped for.
type PacketStats struct {
	// Received is the datagrams read; Admitted the ones passed on.
	Received uint64
	Admitted uint64
	// KeepAlives is the datagrams of only CR, LF or NUL bytes, dropped:
	// sipgo would ignore them.
	KeepAlives uint64
	// NotRequest is the datagrams dropped for not starting with a SIP
	// request line (responses too, unless Limits.AcceptResponses).
	NotRequest uint64
	// RateLimited is the requests dropped because their source was over
	// SourceRate; TooManySources the ones from a new source while
	// MaxSources busy ones were remembered.
	RateLimited    uint64
	TooManySources uint64
	// WindowFull is the requests dropped because MaxPerWindow were passed
	// on in the last Window (or the share of it left to unknown sources).
	WindowFull uint64
	// TooLarge is the datagrams over MaxMessageSize; BadFraming the
	// requests with an invalid Content-Length or CSeq, or a header section
	// or body cut short. Both get an answer when one can be built.
	TooLarge   uint64
	BadFraming uint64
	// Answered is the 400 and 513 answers sent.
	Answered uint64
	// ReadErrors is the read errors waited out.
	ReadErrors uint64
	// Sources is the source addresses remembered now; InWindow the
	// requests passed on in the current window.
	Sources  int
	InWindow int
}

// logGate lets one log line of a kind through every so often and counts
// the ones it held back, so that an attack cannot flood the log.
type logGate struct {
	next       atomic.Int64 // unix nanoseconds
	suppressed atomic.Int64
}

// allow reports whether a line may be logged now, and how many were held
// back since the last one.
func (g *logGate) allow(every time.Duration) (bool, int64) {
	now := time.Now().UnixNano()
	next := g.next.Load()
	if now < next || !g.next.CompareAndSwap(next, now+int64(every)) {
		g.suppressed.Add(1)
		return false, 0
	}
	return true, g.suppressed.Swap(0)
}

func (g *logGate) warn(log *slog.Logger, every time.Duration, msg string, args ...any) {
	if !log.Enabled(context.Background(), slog.LevelWarn) {
		return
	}
	ok, held := g.allow(every)
	if !ok {
		return
	}
	if held > 0 {
		args = append(args, "similar_suppressed", held)
	}
	log.Warn(msg, args...)
}
