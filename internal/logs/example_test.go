package logs_test

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/sipoauth/sdk/internal/logs"
)

// The SIP stack's logger: a client that hangs up is a debug event, not an
// error. The program would call sip.SetDefaultLogger(sipLog) and
// redis.SetLogger(logs.Redis{Logger: log}).
func Example() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	sipLog := slog.New(logs.SIPStack(h))
	sipLog.Error("Read error", "error", io.ErrUnexpectedEOF) // a hang-up: Debug, not shown at Warn

	logs.Redis{Logger: slog.New(h)}.Printf(context.Background(), "redis: connection pool: failed to dial: %s", "connection refused")
	// Output:
	// level=WARN msg="redis: connection pool: failed to dial: connection refused" component=redis
}
