package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/wasm/web"
)

// cacheDir holds what the tests build: the program and the CLI.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sipoauth-inspector-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// built is the program built once for all tests, as the command builds
// it, with its handler.
var built struct {
	once sync.Once
	h    *handler
	err  error
}

func builtHandler(t *testing.T) *handler {
	t.Helper()
	built.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		built.h, built.err = prepare(ctx, config{Go: "go", Cache: filepath.Join(cacheDir, "wasm")})
	})
	if built.err != nil {
		t.Fatalf("building the program: %v", built.err)
	}
	return built.h
}

// The program the browser downloads stays small: under 6 MB, and under
// 2 MB as it travels (gzipped).
func TestWasmSize(t *testing.T) {
	h := builtHandler(t)
	raw, gz := h.size("/" + web.WasmName)
	t.Logf("%s: %d bytes raw (%s), %d bytes gzipped (%s)", web.WasmName, raw, mb(raw), gz, mb(gz))
	const maxRaw, maxGzip = 6_000_000, 2_000_000
	if raw == 0 || raw >= maxRaw {
		t.Errorf("%s is %d bytes, want under %d", web.WasmName, raw, maxRaw)
	}
	if gz == 0 || gz >= maxGzip {
		t.Errorf("%s gzipped is %d bytes, want under %d", web.WasmName, gz, maxGzip)
	}
	b, err := os.ReadFile(filepath.Join(cacheDir, "wasm", web.WasmName))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != raw || !bytes.HasPrefix(b, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Errorf("the cached program is %d bytes starting %q; want the %d bytes served, a WebAssembly module", len(b), b[:min(8, len(b))], raw)
	}
}

// The loader served is the one of the toolchain that built the program.
func TestWasmExecFromGoroot(t *testing.T) {
	h := builtHandler(t)
	root, err := goRoot(context.Background(), "go")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "lib", "wasm", web.WasmExecName))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.assets["/"+web.WasmExecName].body; !bytes.Equal(got, want) {
		t.Errorf("served %s is %d bytes, GOROOT's is %d", web.WasmExecName, len(got), len(want))
	}
	if _, err := wasmExec(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "no wasm_exec.js in ") {
		t.Errorf("wasmExec of an empty GOROOT: %v", err)
	}
}

// forbiddenDeps are packages the program must not link: they are large
// and the browser has no use for them (it makes no connections and
// verifies no tokens).
var forbiddenDeps = []string{
	"net/http",
	"crypto/tls",
	"github.com/emiago/sipgo",
	"github.com/golang-jwt/jwt/v5",
	"github.com/go-jose/go-jose/v4",
}

func TestWasmDependencies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", wasmPackage)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	importers := map[string][]string{} // package → the packages that import it
	var deps []string
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), ": ")
		deps = append(deps, pkg)
		for imp := range strings.FieldsSeq(imports) {
			importers[imp] = append(importers[imp], pkg)
		}
	}
	if !slices.Contains(deps, "syscall/js") || !slices.Contains(deps, "github.com/sipoauth/sdk/inspect") {
		t.Fatalf("go list gave no syscall/js or inspect among %d packages", len(deps))
	}
	for _, bad := range forbiddenDeps {
		if slices.Contains(deps, bad) {
			t.Errorf("%s links %s", wasmPackage, importChain(importers, bad))
		}
	}
}

// importChain says which of the module's packages bring pkg in: those
// that import it, or a package outside the module that leads to it, e.g.
// "net/http, through github.com/sipoauth/sdk/cnfxml (net/http)".
func importChain(importers map[string][]string, pkg string) string {
	const module = "github.com/sipoauth/sdk/"
	leads := map[string]bool{pkg: true} // pkg and the outside packages that lead to it
	queue := []string{pkg}
	var entries []string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, imp := range importers[cur] {
			if strings.HasPrefix(imp, module) {
				e := imp + " (" + cur + ")"
				if !slices.Contains(entries, e) {
					entries = append(entries, e)
				}
				continue
			}
			if !leads[imp] {
				leads[imp] = true
				queue = append(queue, imp)
			}
		}
	}
	slices.Sort(entries)
	return pkg + ", through " + strings.Join(entries, ", ")
}
