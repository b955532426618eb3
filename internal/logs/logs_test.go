package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

// textHandler logs into buf at level, without times.
func textHandler(buf *bytes.Buffer, level slog.Level) slog.Handler {
	return slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level, ReplaceAttr: func(g []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(g) == 0 {
			return slog.Attr{}
		}
		return a
	}})
}

func TestSIPStack(t *testing.T) {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	tests := []struct {
		name  string
		level slog.Level // the program's level
		log   func(l *slog.Logger)
		want  string
	}{
		{"a reset at Warn is not shown", slog.LevelWarn,
			func(l *slog.Logger) { l.Error("Read error", "error", reset) }, ""},
		{"a reset at Debug is a debug line", slog.LevelDebug,
			func(l *slog.Logger) { l.Error("Read error", "error", reset) },
			`level=DEBUG msg="Read error" caller=TransportLayer error="read tcp: read: connection reset by peer"` + "\n"},
		{"an unexpected EOF, wrapped", slog.LevelWarn,
			func(l *slog.Logger) { l.Error("Read error", "error", fmt.Errorf("tls: %w", io.ErrUnexpectedEOF)) }, ""},
		{"a broken pipe", slog.LevelWarn,
			func(l *slog.Logger) { l.Error("Read error", "error", syscall.EPIPE) }, ""},
		{"another read error stays an error", slog.LevelWarn,
			func(l *slog.Logger) { l.Error("Read error", "error", errors.New("tls: bad record MAC")) },
			`level=ERROR msg="Read error" caller=TransportLayer error="tls: bad record MAC"` + "\n"},
		{"an error without an error attribute stays", slog.LevelWarn,
			func(l *slog.Logger) { l.Error("Failed to accept connection") },
			`level=ERROR msg="Failed to accept connection" caller=TransportLayer` + "\n"},
		{"the close_notify after a hang-up is Debug too", slog.LevelDebug,
			func(l *slog.Logger) {
				l.Warn("connection pool not clean cleanup", "error",
					fmt.Errorf("tls: failed to send closeNotify alert (but connection was closed anyway): %w", syscall.EPIPE))
			},
			`level=DEBUG msg="connection pool not clean cleanup" caller=TransportLayer error="tls: failed to send closeNotify alert (but connection was closed anyway): broken pipe"` + "\n"},
		{"other warnings pass", slog.LevelWarn,
			func(l *slog.Logger) {
				l.Warn("connection pool not clean cleanup", "error", errors.New("no such connection"))
			},
			`level=WARN msg="connection pool not clean cleanup" caller=TransportLayer error="no such connection"` + "\n"},
		{"info passes", slog.LevelInfo,
			func(l *slog.Logger) { l.Info("listening", "error", io.EOF) },
			`level=INFO msg=listening caller=TransportLayer error=EOF` + "\n"},
		{"debug below the level is dropped", slog.LevelInfo,
			func(l *slog.Logger) { l.Debug("connection was closed", "error", io.EOF) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(SIPStack(textHandler(&buf, tt.level))).With("caller", "TransportLayer")
			tt.log(l)
			if buf.String() != tt.want {
				t.Errorf("logged %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

func TestPeerClosed(t *testing.T) {
	for _, err := range []error{io.EOF, io.ErrUnexpectedEOF, net.ErrClosed, syscall.ECONNRESET, syscall.ECONNABORTED,
		fmt.Errorf("read: %w", syscall.EPIPE)} {
		if !PeerClosed(err) {
			t.Errorf("PeerClosed(%v) = false", err)
		}
	}
	for _, err := range []error{nil, errors.New("EOF"), os.ErrDeadlineExceeded, syscall.ECONNREFUSED} {
		if PeerClosed(err) {
			t.Errorf("PeerClosed(%v) = true", err)
		}
	}
}

func TestRedis(t *testing.T) {
	var buf bytes.Buffer
	r := Redis{Logger: slog.New(textHandler(&buf, slog.LevelInfo)).With("node", "UCM1")}
	r.Printf(context.Background(), "redis: %s:%d: connection pool: failed to dial after %d attempts: %v\n", "127.0.0.1", 6379, 5, syscall.ECONNREFUSED)
	want := `level=WARN msg="redis: 127.0.0.1:6379: connection pool: failed to dial after 5 attempts: connection refused" node=UCM1 component=redis` + "\n"
	if buf.String() != want {
		t.Errorf("logged %q, want %q", buf.String(), want)
	}

	// Quiet lines go at Debug: none at Info, the others as before.
	buf.Reset()
	r.Quiet = func(msg string) bool { return strings.Contains(msg, "failed to dial") }
	r.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts", 2)
	r.Printf(context.Background(), "redis: discarding bad PubSub connection")
	if want := `level=WARN msg="redis: discarding bad PubSub connection" node=UCM1 component=redis` + "\n"; buf.String() != want {
		t.Errorf("with Quiet, logged %q, want %q", buf.String(), want)
	}
	buf.Reset()
	debug := Redis{Logger: slog.New(textHandler(&buf, slog.LevelDebug)), Quiet: r.Quiet}
	debug.Printf(context.Background(), "redis: connection pool: failed to dial")
	if !strings.HasPrefix(buf.String(), `level=DEBUG msg="redis: connection pool: failed to dial"`) {
		t.Errorf("a quiet line at Debug: %q", buf.String())
	}

	// Below the logger's level nothing is formatted or written.
	buf.Reset()
	quiet := Redis{Logger: slog.New(textHandler(&buf, slog.LevelError))}
	quiet.Printf(context.Background(), "%v", panicker{})
	if buf.Len() != 0 {
		t.Errorf("logged %q at Error", buf.String())
	}
}

// panicker fails the test if it is formatted.
type panicker struct{}

func (panicker) String() string { panic("formatted below the level") }

func TestRedisDefault(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	defer slog.SetDefault(old)
	slog.SetDefault(slog.New(textHandler(&buf, slog.LevelInfo)))
	Redis{}.Printf(context.Background(), "pool closed")
	if !strings.Contains(buf.String(), `level=WARN msg="pool closed" component=redis`) {
		t.Errorf("logged %q", buf.String())
	}
}
