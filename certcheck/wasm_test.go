//go:build !js

package certcheck

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// maxWasmSize bounds the js/wasm program of testdata/wasmsize, which
// checks a pasted PEM bundle with CheckPEMCerts and prints the findings:
// 3.8 MiB. It was 3.55 MiB with Go 1.26, against 5.55 MiB for the
// reference program of testdata/x509size.
const maxWasmSize = 38 * (1 << 20) / 10

// TestWasmSize builds certcheck for the browser (GOOS=js GOARCH=wasm)
// and checks that it leaves out crypto/tls, net/http, and x509's parser
// and chain verifier, by the function names of the binary, next to a
// reference program that calls them.
func TestWasmSize(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds two js/wasm programs")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	if out, err := exec.Command(goTool, "tool", "dist", "list").Output(); err != nil || !slices.Contains(strings.Fields(string(out)), "js/wasm") {
		t.Skipf("the toolchain does not build for js/wasm (%v)", err)
	}
	env := append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	goCmd := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return out
	}

	deps := strings.Fields(string(goCmd("list", "-deps", ".")))
	for _, pkg := range []string{"crypto/tls", "net/http", "crypto/x509"} {
		if slices.Contains(deps, pkg) {
			t.Errorf("the js build of certcheck imports %s", pkg)
		}
	}

	dir := t.TempDir()
	build := func(pkg string) (size int, names map[string]bool) {
		t.Helper()
		out := filepath.Join(dir, filepath.Base(pkg)+".wasm")
		goCmd("build", "-o", out, pkg)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		names, err = wasmFunctionNames(data)
		if err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		return len(data), names
	}
	size, names := build("./testdata/wasmsize")
	refSize, refNames := build("./testdata/x509size")
	t.Logf("certcheck program: %d bytes (%.2f MiB); with x509.ParseCertificate and Verify: %d bytes (%.2f MiB)",
		size, float64(size)/(1<<20), refSize, float64(refSize)/(1<<20))

	if !names["github.com_sipoauth_sdk_certcheck.parseLite"] {
		t.Error("the js build does not contain the lite parser")
	}
	for _, fn := range []string{
		"crypto_x509.ParseCertificate", "crypto_x509.parseCertificate", "crypto_x509.parsePublicKey",
		"crypto_x509.__Certificate_.Verify", "crypto_x509.checkSignature",
	} {
		if !refNames[fn] {
			t.Errorf("the reference program has no function %s: the names have changed, and this test proves nothing", fn)
		}
		if names[fn] {
			t.Errorf("the js build of certcheck contains %s", fn)
		}
	}
	if size >= maxWasmSize {
		t.Errorf("the js build is %d bytes, want under %d", size, int(maxWasmSize))
	}
	if refSize-size < 512<<10 {
		t.Errorf("the js build saves only %d bytes over x509's parser", refSize-size)
	}
}

// TestJSBuildLeavesOutX509 lists the packages the js/wasm builds of
// certcheck and of inspect, which the browser inspector compiles, link:
// neither crypto/x509, whose initialization keeps its key and signature
// code alive (about 0.65 MiB of the inspector's binary), nor the key
// packages it imports. crypto/x509/pkix is allowed: Cert's names are
// pkix.Names. certcheck itself links no crypto package but pkix.
func TestJSBuildLeavesOutX509(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	list := func(pkg string) map[string][]string {
		t.Helper()
		cmd := exec.Command(goTool, "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pkg)
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, stderr.Bytes())
		}
		importers := make(map[string][]string)
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if _, ok := importers[f[0]]; !ok {
				importers[f[0]] = nil
			}
			for _, imp := range f[1:] {
				importers[imp] = append(importers[imp], f[0])
			}
		}
		return importers
	}
	forbidden := []string{"crypto/x509", "crypto/rsa", "crypto/ecdsa", "crypto/ed25519", "crypto/elliptic", "crypto/dsa"}
	for _, pkg := range []string{"github.com/sipoauth/sdk/certcheck", "github.com/sipoauth/sdk/inspect"} {
		deps := list(pkg)
		if _, ok := deps["crypto/x509/pkix"]; !ok {
			t.Errorf("%s: crypto/x509/pkix is not among the dependencies: the list is wrong", pkg)
		}
		for _, f := range forbidden {
			if by, ok := deps[f]; ok {
				t.Errorf("the js/wasm build of %s links %s, imported by %s", pkg, f, strings.Join(by, ", "))
			}
		}
	}
	for dep, by := range list(".") {
		if strings.HasPrefix(dep, "crypto/") && dep != "crypto/x509/pkix" {
			t.Errorf("the js/wasm build of certcheck links %s, imported by %s", dep, strings.Join(by, ", "))
		}
	}
}

// wasmFunctionNames reads the function names of a WebAssembly module's
// "name" section.
func wasmFunctionNames(data []byte) (map[string]bool, error) {
	if len(data) < 8 || string(data[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly module")
	}
	r := wasmReader{b: data[8:]}
	names := make(map[string]bool)
	for len(r.b) > 0 {
		id := r.readByte()
		sec := wasmReader{b: r.bytes(int(r.uleb()))}
		if r.err != nil {
			return nil, r.err
		}
		if id != 0 || string(sec.bytes(int(sec.uleb()))) != "name" {
			continue
		}
		for len(sec.b) > 0 && sec.err == nil {
			sub := sec.readByte()
			body := wasmReader{b: sec.bytes(int(sec.uleb()))}
			if sub != 1 {
				continue
			}
			for n := body.uleb(); n > 0 && body.err == nil; n-- {
				body.uleb()
				names[string(body.bytes(int(body.uleb())))] = true
			}
			if body.err != nil {
				return nil, body.err
			}
		}
		if sec.err != nil {
			return nil, sec.err
		}
	}
	if len(names) == 0 {
		return nil, errors.New("no function names (built with -ldflags=-s?)")
	}
	return names, nil
}

type wasmReader struct {
	b   []byte
	err error
}

func (r *wasmReader) readByte() byte {
	if len(r.b) == 0 {
		r.err = errors.New("truncated module")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wasmReader) uleb() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.readByte()
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.err = errors.New("bad LEB128")
	return 0
}

func (r *wasmReader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.err = errors.New("truncated module")
		r.b = nil
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}
