package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// -export writes the five files and a gzipped copy of each, as the server
// would send them.
func TestExportWritesFiles(t *testing.T) {
	h := testHandler(t)
	dir := filepath.Join(t.TempDir(), "site")
	var out bytes.Buffer
	if err := h.export(dir, &out); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"app.js", "app.js.gz", "index.html", "index.html.gz", "sipoauth.wasm", "sipoauth.wasm.gz",
		"style.css", "style.css.gz", "wasm_exec.js", "wasm_exec.js.gz"}
	if !slices.Equal(names, want) {
		t.Fatalf("exported %q, want %q", names, want)
	}
	for _, name := range exportNames() {
		a := h.assets["/"+name]
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, a.body) {
			t.Errorf("%s: %d bytes (%v), want the %d served", name, len(got), err, len(a.body))
		}
		gz, err := os.ReadFile(filepath.Join(dir, name+".gz"))
		if err != nil || !bytes.Equal(gunzip(t, gz), a.body) {
			t.Errorf("%s.gz is not %s gzipped (%v)", name, name, err)
		}
	}
	if got := strings.Count(out.String(), "\n"); got != 5 || !strings.Contains(out.String(), filepath.Join(dir, "sipoauth.wasm")+": ") {
		t.Errorf("export printed %d lines:\n%s", got, out.String())
	}
	// Writing again replaces the files.
	if err := h.export(dir, &out); err != nil {
		t.Errorf("exporting again: %v", err)
	}
}

func TestExportFails(t *testing.T) {
	h := testHandler(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := h.export(file, &out); err == nil {
		t.Errorf("exporting into a file: no error")
	}
}

// run with -export builds the program and writes the files without
// listening; net/http.FileServer serving the directory is enough for the
// page to load its checks in Chromium and run them.
func TestExportServedByFileServer(t *testing.T) {
	needChromium(t)
	builtHandler(t) // builds the program once for the other tests too
	dir := t.TempDir()
	var out bytes.Buffer
	cfg := config{Go: "go", Cache: filepath.Join(cacheDir, "wasm"), Export: dir, Listen: "no address: not used"}
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatalf("run -export: %v", err)
	}
	t.Logf("run -export:\n%s", out.String())
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	b := openURL(t, srv.URL+"/")
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.ID("tab-header"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(b.ctx, setValue("input-header", "remote error: tls: unknown certificate authority")); err != nil {
		t.Fatal(err)
	}
	res := b.run(t, "export-tls", chromedp.Click(chromedp.ID("check-header")))
	if res.State != "result" || res.Kind != "tls" || len(res.Rows) == 0 || res.Rows[0].Code != "unknown-ca-at-node" {
		t.Errorf("the exported page checked a TLS error: state %q, kind %q, rows %+v", res.State, res.Kind, res.Rows)
	}
}
