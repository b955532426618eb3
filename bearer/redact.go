package bearer

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
)

// redactHandler is the handler RedactHandler returns.
type redactHandler struct{ h slog.Handler }

// RedactHandler returns a slog.Handler that passes records to h with
// credentials withheld: an attribute named "data" (the raw bytes a SIP
// stack logs when it cannot parse a message) and any value that mentions
// Authorization, Proxy-Authorization or Bearer are replaced by their
// length. A SIP stack's logger wrapped with it never writes a token, e.g.
//
//	sip.SetDefaultLogger(slog.New(bearer.RedactHandler(slog.Default().Handler())))
func RedactHandler(h slog.Handler) slog.Handler { return redactHandler{h} }

func (r redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return redactHandler{r.h.WithAttrs(red)}
}

func (r redactHandler) WithGroup(name string) slog.Handler { return redactHandler{r.h.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		as := v.Group()
		red := make([]any, len(as))
		for i, g := range as {
			red[i] = redactAttr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindString:
		s := v.String()
		if a.Key == "data" || carriesCredentials(s) {
			return slog.String(a.Key, "["+strconv.Itoa(len(s))+" bytes withheld]")
		}
		return slog.String(a.Key, s)
	default:
		if carriesCredentials(v.String()) {
			return slog.String(a.Key, "[withheld]")
		}
		return slog.Attr{Key: a.Key, Value: v}
	}
}

// carriesCredentials reports whether s may hold a token: an
// Authorization or Proxy-Authorization header, or a bearer value.
func carriesCredentials(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "authorization") || strings.Contains(l, "bearer")
}
