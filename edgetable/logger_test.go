package edgetable

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

// TestHandlerLogger: with Logger set, the cause of a 500 is an Error
// record with the error as an attribute, and a lockout a Warn record with
// the source and its length. Not parallel: it replaces renameFile.
func TestHandlerLogger(t *testing.T) {
	ft, err := OpenFile(filepath.Join(t.TempDir(), "edge.json"))
	if err != nil {
		t.Fatal(err)
	}
	var logged syncbuf.Buffer
	h := NewHandler(ft, testUsers)
	h.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{ReplaceAttr: func(g []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(g) == 0 {
			return slog.Attr{}
		}
		return a
	}}))
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newClient(t, srv)

	renameFile = func(string, string) error { return errors.New("no space left on device (simulated)") }
	t.Cleanup(func() { renameFile = os.Rename })
	expect(t, "put on a full disk", c.as("PUT", "/entries", expc1JSON), 500, errBody("the edge-proxy table could not be read or updated"))
	lines := strings.Split(strings.TrimSuffix(logged.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], `level=ERROR msg="edgetable: handler: the table could not be read or updated" error=`) ||
		!strings.Contains(lines[0], "no space left on device (simulated)") {
		t.Fatalf("500 logged as %q", logged.String())
	}

	before := len(logged.String())
	for i := range DefaultMaxAuthFailures {
		c.do("GET", "/entries", "", "", "expc", fmt.Sprintf("guess-%d", i))
	}
	if got := logged.String()[before:]; !strings.HasPrefix(got, `level=WARN msg="edgetable: handler: source 127.0.0.1 locked out for `) ||
		!strings.Contains(got, " source=127.0.0.1 lockout=") || strings.Count(got, "\n") != 1 {
		t.Fatalf("lockout logged as %q", got)
	}
}

// TestHandlerLoggerDefault: with neither Logger nor ErrorLog, the
// records go to slog.Default(). Not parallel: it replaces renameFile and
// the default logger.
func TestHandlerLoggerDefault(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	ft, err := OpenFile(filepath.Join(t.TempDir(), "edge.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(NewHandler(ft, testUsers))
	defer srv.Close()
	renameFile = func(string, string) error { return errors.New("disk gone (simulated)") }
	t.Cleanup(func() { renameFile = os.Rename })
	expect(t, "put", newClient(t, srv).as("PUT", "/entries", expc1JSON), 500, errBody("the edge-proxy table could not be read or updated"))
	if got := logged.String(); !strings.Contains(got, `level=ERROR msg="edgetable: handler: the table could not be read or updated" error="`) ||
		!strings.Contains(got, "disk gone (simulated)") {
		t.Fatalf("default logger got %q", got)
	}
}
