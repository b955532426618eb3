package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/inspect"
)

// cnfData is the configuration files of package cnfxml's tests.
const cnfData = "../../cnfxml/testdata/"

// result is one run of the command.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command line args with stdin and returns what it
// printed and its exit status.
func cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// want fails unless r exited with code; it shows the output if not.
func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// contains fails unless stdout holds every one of subs.
func (r result) contains(t *testing.T, subs ...string) result {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	return r
}

// errContains fails unless stderr holds every one of subs.
func (r result) errContains(t *testing.T, subs ...string) result {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	return r
}

// result decodes stdout as an inspect.Result.
func (r result) result(t *testing.T) inspect.Result {
	t.Helper()
	var res inspect.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("stdout is not a Result: %v\n%s", err, r.stdout)
	}
	return res
}

// codes returns "severity code" for each finding, to compare in one go.
func codes(fs diag.Findings) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Severity.String() + " " + f.Code
	}
	return out
}

// write writes a file in dir and returns its path.
func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// rsaKey returns a new RSA key as PKCS#8 PEM, and its public key as PKIX
// PEM.
func rsaKey(t *testing.T) (priv, pub []byte) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pder, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder})
}
