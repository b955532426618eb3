package client

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/bounded"
	"github.com/sipoauth/sdk/internal/defaults"
)

// DeviceConfig is a device configuration file as the client read it.
type DeviceConfig struct {
	*cnfxml.Config
	// Timers are the SIP stack timers the file sets.
	Timers StackTimers
}

// StackTimers are the registration timers of the file's
// sipProfile/sipStack, in seconds; 0 when absent.
type StackTimers struct {
	// RegisterExpires is timerRegisterExpires: the Expires a client asks
	// for (3600 in Unified CM's files).
	RegisterExpires int
	// RegisterDelta is timerRegisterDelta: how many seconds before the
	// granted expiry a client registers again (5).
	RegisterDelta int
}

// FetchConfig gets the configuration file at url with hc (or
// http.DefaultClient), reading at most maxSize bytes (cnfxml.DefaultMaxSize
// when 0): a larger file fails with an error that wraps cnfxml.ErrTooLarge.
// The context bounds the whole exchange. DeviceName is set from the URL's
// last path element.
//
// The url is an http or https URL, or a local file: a file URL
// ("file:///etc/sipoauth/CSFrado.cnf.xml") or a path
// ("testdata/CSFrado.cnf.xml"). A missing local file is an error that
// names its path and wraps fs.ErrNotExist; hc is not used for it.
func FetchConfig(ctx context.Context, hc *http.Client, url string, maxSize int64) (*DeviceConfig, error) {
	maxSize = defaults.Positive(maxSize, cnfxml.DefaultMaxSize)
	var (
		b   []byte
		err error
	)
	if path, local, perr := localPath(url); perr != nil {
		return nil, perr
	} else if local {
		b, err = readLocalConfig(ctx, path, maxSize)
	} else {
		b, err = fetchHTTPConfig(ctx, hc, url, maxSize)
	}
	if err != nil {
		return nil, err
	}
	cfg, err := cnfxml.Reader{MaxSize: int(min(maxSize, int64(^uint(0)>>1)))}.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", url, err)
	}
	name := url[strings.LastIndexAny(url, "/"+string(filepath.Separator))+1:]
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	cfg.DeviceName = strings.TrimSuffix(name, cnfxml.Suffix)
	return &DeviceConfig{Config: cfg, Timers: ParseStackTimers(b)}, nil
}

// localPath says whether rawURL names a local file, and its path: a file:
// URL (of no host, or localhost), or a string without a URL scheme. Other
// schemes are for net/http.
func localPath(rawURL string) (path string, local bool, err error) {
	scheme, _, ok := strings.Cut(rawURL, ":")
	if !ok || len(scheme) < 2 || strings.ContainsAny(scheme, `/\.`) {
		// No scheme (a one-letter one is a Windows drive): a path.
		return rawURL, true, nil
	}
	if !strings.EqualFold(scheme, "file") {
		return "", false, nil
	}
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return "", false, fmt.Errorf("client: configuration URL: %w", err)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", false, fmt.Errorf("client: configuration URL %s: a file URL names a file of this host, not of %q", rawURL, u.Host)
	}
	if u.Path == "" {
		// file:relative/path, an opaque URL.
		return u.Opaque, true, nil
	}
	return filepath.FromSlash(u.Path), true, nil
}

// readLocalConfig reads the configuration file at path, at most maxSize
// bytes.
func readLocalConfig(ctx context.Context, path string, maxSize int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("client: reading the configuration: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("client: configuration file %s is a directory: end it with / to read <device>%s in it", path, cnfxml.Suffix)
	}
	b, err := bounded.ReadFile(path, maxSize)
	if errors.Is(err, bounded.ErrTooLarge) {
		return nil, fmt.Errorf("client: reading %s: %w (limit %d bytes)", path, cnfxml.ErrTooLarge, maxSize)
	}
	if err != nil {
		// The os package's errors name the path: "open /x.cnf.xml: no such file or directory".
		return nil, fmt.Errorf("client: reading the configuration file: %w", err)
	}
	return b, nil
}

// fetchHTTPConfig gets the configuration file at url over HTTP(S), at most
// maxSize bytes.
func fetchHTTPConfig(ctx context.Context, hc *http.Client, url string, maxSize int64) ([]byte, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("client: configuration URL: %w", err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: fetching the configuration: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client: fetching %s: HTTP %s", url, res.Status)
	}
	if res.ContentLength > maxSize {
		return nil, fmt.Errorf("client: fetching %s: %w (%d bytes, limit %d)", url, cnfxml.ErrTooLarge, res.ContentLength, maxSize)
	}
	b, err := bounded.ReadAll(res.Body, maxSize)
	if errors.Is(err, bounded.ErrTooLarge) {
		return nil, fmt.Errorf("client: fetching %s: %w (limit %d bytes)", url, cnfxml.ErrTooLarge, maxSize)
	}
	if err != nil {
		return nil, fmt.Errorf("client: fetching %s: %w", url, err)
	}
	return b, nil
}

// ParseStackTimers reads timerRegisterExpires and timerRegisterDelta from
// /device/sipProfile/sipStack of a configuration file. Missing, malformed
// or out-of-range values (outside 0-86400 s) read as 0; so does a file
// that is not well-formed XML, whose other errors Parse reports.
func ParseStackTimers(b []byte) StackTimers {
	var t StackTimers
	if len(b) > cnfxml.DefaultMaxSize*16 {
		return t
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	var path []string
	var text strings.Builder
	for {
		tok, err := d.RawToken()
		if err != nil {
			return t
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if len(path) >= cnfxml.DefaultMaxDepth {
				return t
			}
			path = append(path, e.Name.Local)
			text.Reset()
		case xml.CharData:
			if text.Len() < 64 {
				text.Write(e)
			}
		case xml.EndElement:
			if len(path) == 0 {
				return t
			}
			if len(path) == 4 && path[0] == "device" && path[1] == "sipProfile" && path[2] == "sipStack" {
				if n, err := strconv.Atoi(strings.TrimSpace(text.String())); err == nil && n >= 0 && n <= 86400 {
					switch path[3] {
					case "timerRegisterExpires":
						t.RegisterExpires = n
					case "timerRegisterDelta":
						t.RegisterDelta = n
					}
				}
			}
			path = path[:len(path)-1]
			text.Reset()
		}
	}
}

// errNoConfig: neither a configuration nor a URL to fetch it from.
var errNoConfig = errors.New("client: Config needs Device or ConfigURL")
