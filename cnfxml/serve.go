//go:build !js

// The HTTP handler is left out of js/wasm builds (a browser serves no
// files), which keeps net/http and crypto/tls out of them.

package cnfxml

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sipoauth/sdk/internal/bounded"
	"github.com/sipoauth/sdk/internal/defaults"
)

// Source gives the configuration file of a device. The Handler calls it
// only with names that ValidDeviceName accepts.
type Source interface {
	// ReadConfig returns the file of the named device, or an error that
	// wraps fs.ErrNotExist when there is none.
	ReadConfig(ctx context.Context, device string) ([]byte, error)
}

// Dir is a Source that reads <device>.cnf.xml files from a directory,
// through os.Root, so that no name can reach outside it.
type Dir struct {
	Path    string
	MaxSize int // largest file read; DefaultMaxSize when 0
}

// ReadConfig reads Path/<device>.cnf.xml.
func (d Dir) ReadConfig(_ context.Context, device string) ([]byte, error) {
	if !ValidDeviceName(device) {
		return nil, fmt.Errorf("cnfxml: device name %q: %w", device, fs.ErrNotExist)
	}
	root, err := os.OpenRoot(d.Path)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(device + Suffix)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	max := defaults.Positive(d.MaxSize, DefaultMaxSize)
	b, err := bounded.ReadAll(f, int64(max))
	if errors.Is(err, bounded.ErrTooLarge) {
		return nil, &ParseError{Err: ErrTooLarge, Path: device + Suffix}
	}
	return b, err
}

// ParseFile reads and parses a configuration file, and sets DeviceName
// from its name.
func ParseFile(name string) (*Config, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	base := name[strings.LastIndexAny(name, `/\`)+1:]
	c.DeviceName = strings.TrimSuffix(base, Suffix)
	return c, nil
}

// Handler serves GET and HEAD /<device>.cnf.xml from a Source, as Unified
// CM's TFTP service does on port 6970. Files are checked with Reader
// before they are served; the ETag is the file's versionStamp (a hash of
// the file when it has none), so a client that sends If-None-Match gets
// 304 Not Modified until the configuration changes. Unknown devices and
// names that are not device names, including any attempt to leave the
// source (../, encoded or absolute paths, NUL), get 404.
type Handler struct {
	Source Source
	// Reader bounds the files served.
	Reader Reader
	// ErrorLog, if set, is told about files that cannot be read or are
	// not valid configurations; the client gets 500.
	ErrorLog func(device string, err error)
}

// NewHandler returns a Handler serving the files of directory dir.
func NewHandler(dir string) *Handler { return &Handler{Source: Dir{Path: dir}} }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	device, ok := deviceFromPath(r.URL)
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := h.Source.ReadConfig(r.Context(), device)
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err == nil {
		var c *Config
		if c, err = h.Reader.Parse(b); err == nil {
			w.Header().Set("ETag", etag(c.VersionStamp, b))
		}
	}
	if err != nil {
		if h.ErrorLog != nil {
			h.ErrorLog(device, err)
		}
		http.Error(w, "configuration unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// deviceFromPath accepts only /<device>.cnf.xml, with the path as sent:
// an encoded slash, backslash, dot or NUL makes it no device name.
func deviceFromPath(u *url.URL) (string, bool) {
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, Suffix) {
		return "", false
	}
	name := p[1 : len(p)-len(Suffix)]
	return name, ValidDeviceName(name)
}

// etag quotes the versionStamp when it can be an entity tag, else hashes
// the file.
func etag(stamp string, b []byte) string {
	ok := stamp != ""
	for i := 0; i < len(stamp) && ok; i++ {
		c := stamp[i]
		ok = c > 0x20 && c < 0x7f && c != '"'
	}
	if ok {
		return `"` + stamp + `"`
	}
	sum := sha256.Sum256(b)
	return `"sha256-` + hex.EncodeToString(sum[:16]) + `"`
}
