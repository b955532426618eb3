package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sipoauth/sdk/wasm/web"
)

// wasmPackage is the program the page runs.
const wasmPackage = "github.com/sipoauth/sdk/wasm"

// contentSecurityPolicy is sent with the page, as the page's own meta
// element says: its files, the program, and nothing from elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

func main() {
	var cfg config
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address to serve the page on")
	flag.StringVar(&cfg.Go, "go", "go", "the go command whose GOROOT builds the program")
	flag.StringVar(&cfg.Cache, "cache", "", "directory for the built program (default: the user cache directory)/sipoauth-inspector")
	flag.StringVar(&cfg.Export, "export", "", "write the page's files into this `directory`, for any web server to serve, instead of serving them")
	flag.Usage = usage
	flag.Parse()
	if *showVersion {
		printVersion(os.Stdout)
		return
	}
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "inspector: unexpected arguments:", flag.Args())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "inspector:", err)
		os.Exit(1)
	}
}

// usage prints the command line and the flags.
func usage() {
	w := flag.CommandLine.Output()
	fmt.Fprint(w, `usage: sipoauth-inspector [-listen addr] [-go go] [-cache dir]
       sipoauth-inspector -export dir [-go go] [-cache dir]

Builds the SIP OAuth inspector (the checks compiled to WebAssembly) and
serves the page on the loopback interface; or, with -export, writes the
page's files (index.html, app.js, style.css, wasm_exec.js, sipoauth.wasm)
and gzipped copies of them (*.gz) into dir, for any web server to serve.
The checks run in the browser: what is pasted is never sent anywhere.

`)
	flag.PrintDefaults()
}

// config is what the flags say.
type config struct {
	Listen string // address to listen on
	Go     string // the go command
	Cache  string // where the program is built; "" for the default
	Export string // directory to write the files into instead of serving; "" to serve
}

// run builds the program, then serves the page until ctx is done and shuts
// the server down, or writes the files into cfg.Export.
func run(ctx context.Context, cfg config, out io.Writer) error {
	h, err := prepare(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.Export != "" {
		return h.export(cfg.Export, out)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	return serve(ctx, ln, h, out)
}

// prepare builds the program and the handler that serves it with the
// page.
func prepare(ctx context.Context, cfg config) (*handler, error) {
	root, err := goRoot(ctx, cfg.Go)
	if err != nil {
		return nil, err
	}
	dir := cfg.Cache
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory (use -cache): %w", err)
		}
		dir = filepath.Join(c, "sipoauth-inspector")
	}
	program, err := buildWasm(ctx, root, dir)
	if err != nil {
		return nil, err
	}
	loader, err := wasmExec(root)
	if err != nil {
		return nil, err
	}
	return newHandler(web.FS(), program, loader)
}

// serve answers on ln until ctx is done, after printing the address and
// the program's size to out.
func serve(ctx context.Context, ln net.Listener, h *handler, out io.Writer) error {
	raw, gz := h.size("/" + web.WasmName)
	fmt.Fprintf(out, "SIP OAuth inspector on http://%s/\n%s: %d bytes (%s), %d gzipped (%s)\n",
		ln.Addr(), web.WasmName, raw, mb(raw), gz, mb(gz))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func mb(n int) string { return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) + " MB" }

// goRoot returns the GOROOT of the go command goCmd.
func goRoot(ctx context.Context, goCmd string) (string, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	path, err := exec.LookPath(goCmd)
	if err != nil {
		return "", fmt.Errorf("the go command is needed to build the program: %w", err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "env", "GOROOT")
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s env GOROOT: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	root := strings.TrimSpace(string(b))
	if root == "" {
		return "", fmt.Errorf("%s env GOROOT printed nothing", path)
	}
	return root, nil
}

// buildWasm builds the program with root's go tool into dir and returns
// it. The build goes to a directory of its own and is then renamed into
// place, so that two servers starting at once do not clobber each other.
func buildWasm(ctx context.Context, root, dir string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, web.WasmName)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "go"),
		"build", "-trimpath", "-ldflags=-s -w", "-o", out, wasmPackage)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("GOOS=js GOARCH=wasm go build %s (run it from within the module): %w\n%s",
			wasmPackage, err, strings.TrimSpace(stderr.String()))
	}
	final := filepath.Join(dir, web.WasmName)
	if err := os.Rename(out, final); err != nil {
		return nil, err
	}
	return os.ReadFile(final)
}

// wasmExec returns the wasm_exec.js of the toolchain at root: lib/wasm
// since Go 1.24, misc/wasm before.
func wasmExec(root string) ([]byte, error) {
	var errs []error
	for _, dir := range []string{"lib", "misc"} {
		b, err := os.ReadFile(filepath.Join(root, dir, "wasm", web.WasmExecName))
		if err == nil {
			return b, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no %s in %s: %w", web.WasmExecName, root, errors.Join(errs...))
}

// exportNames are the files the page needs, in the order -export writes
// them.
func exportNames() []string {
	return []string{"index.html", "app.js", "style.css", web.WasmExecName, web.WasmName}
}

// export writes the page's files into dir, each with its gzipped copy
// (name.gz, for servers that send precompressed files), and lists them on
// out. dir is created if need be; files of the same names are replaced.
func (h *handler) export(dir string, out io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range exportNames() {
		a := h.assets["/"+name]
		if a == nil {
			return fmt.Errorf("export: no %s", name)
		}
		for _, f := range []struct {
			name string
			body []byte
		}{{name, a.body}, {name + ".gz", a.gz}} {
			if err := os.WriteFile(filepath.Join(dir, f.name), f.body, 0o644); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "%s: %d bytes, %d gzipped\n", filepath.Join(dir, name), len(a.body), len(a.gz))
	}
	return nil
}

// asset is one file served, with its gzipped form made once.
type asset struct {
	body, gz    []byte
	contentType string
	etag        string // of body; the gzipped form's has "-gzip" appended
}

// handler serves the page, the loader and the program.
type handler struct {
	assets map[string]*asset // by URL path
}

// contentTypes by extension of the files served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
}

// newHandler returns the handler serving the files of page, with the
// program and its loader beside them.
func newHandler(page fs.FS, program, loader []byte) (*handler, error) {
	if len(program) == 0 || len(loader) == 0 {
		return nil, errors.New("the program and its loader are needed")
	}
	files := map[string][]byte{web.WasmName: program, web.WasmExecName: loader}
	for _, name := range exportNames()[:3] {
		b, err := fs.ReadFile(page, name)
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	h := &handler{assets: make(map[string]*asset, len(files))}
	for name, body := range files {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		h.assets["/"+name] = &asset{
			body:        body,
			gz:          gz.Bytes(),
			contentType: contentTypes[filepath.Ext(name)],
			etag:        `"` + hex.EncodeToString(sum[:12]),
		}
	}
	return h, nil
}

// size returns the size of the file at path, raw and gzipped; 0 when
// there is none.
func (h *handler) size(path string) (raw, gz int) {
	if a := h.assets[path]; a != nil {
		return len(a.body), len(a.gz)
	}
	return 0, 0
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	path := r.URL.Path
	if path == "/" {
		path = "/index.html"
	}
	a := h.assets[path]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	body, etag := a.body, a.etag+`"`
	hdr := w.Header()
	hdr.Set("Vary", "Accept-Encoding")
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		body, etag = a.gz, a.etag+`-gzip"`
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("ETag", etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	if path == "/index.html" {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// acceptsGzip reports whether Accept-Encoding values allow gzip: named,
// or by "*", with a q-value above zero.
func acceptsGzip(values []string) bool {
	gz, star := -1.0, -1.0
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0
					}
					q = f
				}
			}
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip":
				gz = q
			case "*":
				star = q
			}
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// etagMatch reports whether an If-None-Match value names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
