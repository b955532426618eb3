package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/wasm/web"
)

// Stand-ins for the program and its loader: the handler serves any bytes.
var (
	fakeProgram = append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("program "), 4096)...)
	fakeLoader  = []byte("\"use strict\";\n// wasm_exec.js\n" + strings.Repeat("globalThis.Go = class {};\n", 200))
)

func testHandler(t *testing.T) *handler {
	t.Helper()
	h, err := newHandler(web.FS(), fakeProgram, fakeLoader)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func pageFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(web.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHandlerServesFiles(t *testing.T) {
	h := testHandler(t)
	tests := []struct {
		method, path, acceptEncoding string
		wantType, wantEncoding       string
		want                         []byte
	}{
		{"GET", "/", "", "text/html; charset=utf-8", "", pageFile(t, "index.html")},
		{"GET", "/", "gzip, deflate, br", "text/html; charset=utf-8", "gzip", pageFile(t, "index.html")},
		{"GET", "/index.html", "", "text/html; charset=utf-8", "", pageFile(t, "index.html")},
		{"GET", "/app.js", "gzip", "text/javascript; charset=utf-8", "gzip", pageFile(t, "app.js")},
		{"GET", "/style.css", "", "text/css; charset=utf-8", "", pageFile(t, "style.css")},
		{"GET", "/wasm_exec.js", "", "text/javascript; charset=utf-8", "", fakeLoader},
		{"GET", "/wasm_exec.js", "gzip", "text/javascript; charset=utf-8", "gzip", fakeLoader},
		{"GET", "/sipoauth.wasm", "gzip", "application/wasm", "gzip", fakeProgram},
		{"GET", "/sipoauth.wasm", "", "application/wasm", "", fakeProgram},
		{"GET", "/sipoauth.wasm", "identity", "application/wasm", "", fakeProgram},
		{"GET", "/sipoauth.wasm", "gzip;q=0", "application/wasm", "", fakeProgram},
		{"GET", "/sipoauth.wasm", "*", "application/wasm", "gzip", fakeProgram},
		{"GET", "/sipoauth.wasm", "br;q=1.0, gzip;q=0.5", "application/wasm", "gzip", fakeProgram},
		{"HEAD", "/sipoauth.wasm", "gzip", "application/wasm", "gzip", nil},
		{"HEAD", "/", "", "text/html; charset=utf-8", "", nil},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.acceptEncoding != "" {
			r.Header.Set("Accept-Encoding", tt.acceptEncoding)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		name := tt.method + " " + tt.path + " (Accept-Encoding: " + tt.acceptEncoding + ")"
		if w.Code != http.StatusOK {
			t.Errorf("%s: status %d, want 200", name, w.Code)
			continue
		}
		hdr := w.Result().Header
		if got := hdr.Get("Content-Type"); got != tt.wantType {
			t.Errorf("%s: Content-Type %q, want %q", name, got, tt.wantType)
		}
		if got := hdr.Get("Content-Encoding"); got != tt.wantEncoding {
			t.Errorf("%s: Content-Encoding %q, want %q", name, got, tt.wantEncoding)
		}
		if got := hdr.Get("Vary"); got != "Accept-Encoding" {
			t.Errorf("%s: Vary %q, want Accept-Encoding", name, got)
		}
		if got := hdr.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", name, got)
		}
		path := tt.path
		if path == "/" {
			path = "/index.html"
		}
		raw, gz := h.size(path)
		wantLen := raw
		if tt.wantEncoding == "gzip" {
			wantLen = gz
		}
		if got := hdr.Get("Content-Length"); got != itoa(wantLen) {
			t.Errorf("%s: Content-Length %s, want %d", name, got, wantLen)
		}
		body := w.Body.Bytes()
		if tt.method == "HEAD" {
			if len(body) != 0 {
				t.Errorf("%s: %d bytes of body, want none", name, len(body))
			}
			continue
		}
		if tt.wantEncoding == "gzip" {
			if len(body) != gz || gz >= raw {
				t.Errorf("%s: %d bytes sent, gzipped size %d, raw %d", name, len(body), gz, raw)
			}
			body = gunzip(t, body)
		}
		if !bytes.Equal(body, tt.want) {
			t.Errorf("%s: body of %d bytes differs from the %d bytes of the file", name, len(body), len(tt.want))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestHandlerRefuses(t *testing.T) {
	h := testHandler(t)
	tests := []struct {
		method, path string
		want         int
		wantAllow    string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/index.htm", 404, ""},
		{"GET", "/web/index.html", 404, ""},
		{"GET", "/main.go", 404, ""},
		{"GET", "/../main.go", 404, ""},
		{"GET", "/sipoauth.wasm/", 404, ""},
		{"GET", "//sipoauth.wasm", 404, ""},
		{"HEAD", "/favicon.ico", 404, ""},
		{"POST", "/", 405, "GET, HEAD"},
		{"PUT", "/sipoauth.wasm", 405, "GET, HEAD"},
		{"DELETE", "/nope", 405, "GET, HEAD"},
		{"OPTIONS", "/", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.want {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, w.Code, tt.want)
		}
		if got := w.Result().Header.Get("Allow"); got != tt.wantAllow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.wantAllow)
		}
	}
}

func TestHandlerHeaders(t *testing.T) {
	h := testHandler(t)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	hdr := w.Result().Header
	if got := hdr.Get("Content-Security-Policy"); got != contentSecurityPolicy {
		t.Errorf("page: Content-Security-Policy %q, want %q", got, contentSecurityPolicy)
	}
	for name, want := range map[string]string{"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"} {
		if got := hdr.Get(name); got != want {
			t.Errorf("page: %s %q, want %q", name, got, want)
		}
	}
	etag := hdr.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
		t.Errorf("page: ETag %q, want 24 hex digits in quotes", etag)
	}

	// The gzipped form has its own tag; either is answered 304 when the
	// browser has it.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	gzTag := w.Result().Header.Get("ETag")
	if want := strings.TrimSuffix(etag, `"`) + `-gzip"`; gzTag != want {
		t.Errorf("gzipped page: ETag %q, want %q", gzTag, want)
	}
	for _, tt := range []struct {
		ifNoneMatch, acceptEncoding string
		want                        int
	}{
		{etag, "", 304},
		{"W/" + etag, "", 304},
		{`"other", ` + gzTag, "gzip", 304},
		{"*", "", 304},
		{gzTag, "", 200},
		{`"other"`, "", 200},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("If-None-Match", tt.ifNoneMatch)
		if tt.acceptEncoding != "" {
			r.Header.Set("Accept-Encoding", tt.acceptEncoding)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("If-None-Match %s, Accept-Encoding %q: status %d, want %d", tt.ifNoneMatch, tt.acceptEncoding, w.Code, tt.want)
		}
		if tt.want == 304 && w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: 304 with %d bytes of body", tt.ifNoneMatch, w.Body.Len())
		}
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/sipoauth.wasm", nil))
	if got := w.Result().Header.Get("Content-Security-Policy"); got != "" {
		t.Errorf("program: Content-Security-Policy %q, want none", got)
	}
}

func TestNewHandlerNeedsProgram(t *testing.T) {
	for _, tt := range []struct {
		program, loader []byte
	}{{nil, fakeLoader}, {fakeProgram, nil}} {
		if _, err := newHandler(web.FS(), tt.program, tt.loader); err == nil || err.Error() != "the program and its loader are needed" {
			t.Errorf("newHandler(%d bytes, %d bytes) = %v", len(tt.program), len(tt.loader), err)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"x-gzip"}, true},
		{[]string{"deflate, gzip, br"}, true},
		{[]string{"deflate", "gzip"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzip;q=0.001"}, true},
		{[]string{"gzip;q=bogus"}, false},
		{[]string{"gzip;q=2"}, false},
		{[]string{"*"}, true},
		{[]string{"*;q=0"}, false},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"gzip;q=0.5, *;q=0"}, true},
		{[]string{"identity"}, false},
		{[]string{"br, deflate"}, false},
		{[]string{"gzipx"}, false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.values); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.values, got, tt.want)
		}
	}
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "*;q=0.5, gzip;q=0", "br, deflate", ";;;,,,=", "gzip;q=1e400", "GZip ; Q = 0.7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := acceptsGzip([]string{s})
		lower := strings.ToLower(s)
		if got && !strings.Contains(lower, "gzip") && !strings.Contains(lower, "*") {
			t.Errorf("acceptsGzip(%q) = true without gzip or *", s)
		}
		// The same items over several header lines mean the same.
		if again := acceptsGzip(strings.Split(s, ",")); again != got {
			t.Errorf("acceptsGzip(%q) = %v, split over lines %v", s, got, again)
		}
	})
}

func TestETagMatch(t *testing.T) {
	tests := []struct {
		header, etag string
		want         bool
	}{
		{`"abc"`, `"abc"`, true},
		{`W/"abc"`, `"abc"`, true},
		{` "x" , "abc" `, `"abc"`, true},
		{`*`, `"abc"`, true},
		{`"abcd"`, `"abc"`, false},
		{`abc`, `"abc"`, false},
		{``, `"abc"`, false},
	}
	for _, tt := range tests {
		if got := etagMatch(tt.header, tt.etag); got != tt.want {
			t.Errorf("etagMatch(%q, %q) = %v, want %v", tt.header, tt.etag, got, tt.want)
		}
	}
}

// serve prints where it listens and the program's sizes, answers over
// real TCP, and returns nil once its context ends.
func TestServe(t *testing.T) {
	h := testHandler(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, &out) }()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/sipoauth.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/wasm" || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("GET /sipoauth.wasm: %s, Content-Type %q, Content-Encoding %q", resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"))
	}
	if !bytes.Equal(gunzip(t, body), fakeProgram) {
		t.Error("GET /sipoauth.wasm: the body is not the program")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after its context ended")
	}
	raw, gz := h.size("/sipoauth.wasm")
	want := "SIP OAuth inspector on http://" + ln.Addr().String() + "/\n" +
		"sipoauth.wasm: " + itoa(raw) + " bytes (" + mb(raw) + "), " + itoa(gz) + " gzipped (" + mb(gz) + ")\n"
	if out.String() != want {
		t.Errorf("serve printed\n%q\nwant\n%q", out.String(), want)
	}
	if raw != len(fakeProgram) || gz == 0 || gz >= raw {
		t.Errorf("size = %d, %d; want %d and less", raw, gz, len(fakeProgram))
	}
}

func TestMB(t *testing.T) {
	for n, want := range map[int]string{0: "0.00 MB", 1_234_567: "1.23 MB", 5_999_999: "6.00 MB", 512: "0.00 MB"} {
		if got := mb(n); got != want {
			t.Errorf("mb(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRunWithoutGo(t *testing.T) {
	err := run(context.Background(), config{Listen: "127.0.0.1:0", Go: "/nonexistent/go", Cache: t.TempDir()}, io.Discard)
	const want = `the go command is needed to build the program: exec: "/nonexistent/go": stat /nonexistent/go: no such file or directory`
	if err == nil || err.Error() != want {
		t.Errorf("run = %v, want %s", err, want)
	}
}

func FuzzETagMatch(f *testing.F) {
	for _, s := range []string{`"abc"`, `W/"abc", "x"`, `*`, `,,,`, `W/`, ` "abc-gzip" `} {
		f.Add(s, `"abc"`)
	}
	f.Fuzz(func(t *testing.T, header, etag string) {
		got := etagMatch(header, etag)
		if strings.TrimSpace(header) == "*" && !got {
			t.Errorf("etagMatch(*, %q) = false", etag)
		}
		if etag != "" && strings.TrimSpace(header) == etag && !strings.Contains(etag, ",") && !got {
			t.Errorf("etagMatch(%q, %q) = false", header, etag)
		}
	})
}
