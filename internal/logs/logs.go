package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
)

// SIPStack wraps h for the SIP stack's logger (sip.SetDefaultLogger, or
// the transport layer's): a warning or error record whose "error"
// attribute says the peer closed or reset the connection is logged at
// Debug instead, since a client hanging up is normal. These are sipgo's
// "Read error" when a client resets or hangs up without a TLS
// close_notify, and its "connection pool not clean cleanup" when the
// close_notify it then sends finds the connection gone. Every other record
// passes unchanged.
func SIPStack(h slog.Handler) slog.Handler { return sipStack{h} }

type sipStack struct{ h slog.Handler }

// Enabled lets warnings and errors through: Handle decides once it sees
// the error.
func (s sipStack) Enabled(ctx context.Context, l slog.Level) bool {
	return s.h.Enabled(ctx, l) || l >= slog.LevelWarn
}

func (s sipStack) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn && peerClosed(r) {
		r = demote(r, slog.LevelDebug)
	}
	if !s.h.Enabled(ctx, r.Level) {
		return nil
	}
	return s.h.Handle(ctx, r)
}

func (s sipStack) WithAttrs(as []slog.Attr) slog.Handler { return sipStack{s.h.WithAttrs(as)} }
func (s sipStack) WithGroup(name string) slog.Handler    { return sipStack{s.h.WithGroup(name)} }

// demote returns r at level l.
func demote(r slog.Record, l slog.Level) slog.Record {
	d := slog.NewRecord(r.Time, l, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		d.AddAttrs(a)
		return true
	})
	return d
}

// peerClosed reports whether r's "error" attribute is an error of a
// connection its peer closed or reset.
func peerClosed(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "error" {
			return true
		}
		if err, ok := a.Value.Resolve().Any().(error); ok {
			found = PeerClosed(err)
		}
		return false
	})
	return found
}

// PeerClosed reports whether err says the peer ended the connection: end
// of stream (clean or in the middle of a TLS record), connection reset or
// aborted, broken pipe, or a connection already closed.
func PeerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// Redis adapts a slog logger to go-redis's logger interface
// (redis.SetLogger(logs.Redis{Logger: log})): each line it writes (a
// failed connection, a pool or cluster event) becomes one record at Warn
// with the text as its message and "component=redis".
type Redis struct {
	// Logger receives the lines; slog.Default() when nil.
	Logger *slog.Logger
	// Quiet, if set, sends the lines it is true for at Debug instead:
	// go-redis's failed dials, say, when a monitor reports Redis's
	// outages on a line of its own.
	Quiet func(msg string) bool
}

// Printf logs go-redis's line at Warn (Debug while Quiet).
func (r Redis) Printf(ctx context.Context, format string, v ...any) {
	l := r.Logger
	if l == nil {
		l = slog.Default()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if !l.Enabled(ctx, slog.LevelWarn) {
		return // nothing formatted: Warn is the highest level it writes at
	}
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	level := slog.LevelWarn
	if r.Quiet != nil && r.Quiet(msg) {
		level = slog.LevelDebug
		if !l.Enabled(ctx, level) {
			return
		}
	}
	l.LogAttrs(ctx, level, msg, slog.String("component", "redis"))
}
