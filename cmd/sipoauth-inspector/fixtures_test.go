package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/inspect"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
)

// checkTime is the instant every fixture is checked at, by the library,
// the page ("Check at") and the CLI alike: whole seconds, because the
// page's field has no finer step.
var checkTime = time.Now().UTC().Truncate(time.Second)

// fixture is an input checked by the library, the CLI and the page.
type fixture struct {
	name  string // also the screenshot's name
	area  string // the page's input area: cnf, cert, token, header, log, auto
	kind  inspect.Kind
	input []byte
	role  string // certificate options
	host  string
	side  string // a TLS error's side
	// headerKind is the choice of the header area's "It is" list: "" to
	// detect, header, response or tls.
	headerKind string
	cli        []string // the CLI's command and flags, before --json and the file
	stdin      bool     // the CLI reads the input from standard input ("-")

	// want are the findings expected, in order, as "severity code".
	want []string
	// wantErr is the error expected instead of a result.
	wantErr string
}

// asPasted returns f with its input as a text area holds it: HTML turns
// every CRLF and lone CR into LF.
func (f fixture) asPasted() fixture {
	f.input = bytes.ReplaceAll(bytes.ReplaceAll(f.input, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	return f
}

func (f fixture) options() inspect.Options {
	return inspect.Options{Now: checkTime, Role: f.role, Host: f.host, Side: f.side}
}

// finding is a finding as compared: the severity as its name.
type finding struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Path     string `json:"path"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

func findingsOf(fs diag.Findings) []finding {
	out := make([]finding, 0, len(fs))
	for _, f := range fs {
		out = append(out, finding{f.Code, f.Severity.String(), f.Path, f.Message, f.Fix})
	}
	return out
}

func summaryOf(fs []finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Severity+" "+f.Code)
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expiredChain is a node certificate that expired a day before
// checkTime, with the intermediate that signed it, as PEM.
func expiredChain(t *testing.T) []byte {
	t.Helper()
	issuing := testca.New(t, "Inspector Root").Intermediate(t, "Inspector Issuing")
	leaf := issuing.Issue(t, testca.Options{
		CommonName:  "cucm-pub.example.com",
		DNSNames:    []string{"cucm-pub.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore:   checkTime.Add(-90 * 24 * time.Hour),
		NotAfter:    checkTime.Add(-24 * time.Hour),
		RSABits:     2048,
	})
	var b bytes.Buffer
	for _, c := range append([]*x509.Certificate{leaf.Cert}, leaf.Chain...) {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// refreshToken is a Unified CM refresh token issued at checkTime.
func refreshToken(t *testing.T) []byte {
	t.Helper()
	iss, err := issuer.New(issuer.Config{
		Issuer: "https://cucm-pub.example.com:8443/ssosp/oauth",
		Now:    func() time.Time { return checkTime },
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.MintRefresh("rado", "C69908c4f345729af0a23cdfff1d255272de942193276f9c9a2b5b8a0e0bba4e")
	if err != nil {
		t.Fatal(err)
	}
	return []byte(tok)
}

// fixtures returns the inputs of the cross-checks, with the findings the
// library gives for them.
func fixtures(t *testing.T) []fixture {
	t.Helper()
	return []fixture{
		{
			name: "cnf-bad-port", area: "cnf", kind: inspect.KindCNF, cli: []string{"cnf", "check"},
			input: readFile(t, "../../cnfxml/testdata/bad-port-not-a-number.cnf.xml"),
			want:  []string{"error bad-port", "error security-mode-not-encrypted"},
		},
		{
			name: "cnf-port-conflict", area: "cnf", kind: inspect.KindCNF, cli: []string{"cnf", "check"},
			input: readFile(t, "../../cnfxml/testdata/warn-port-conflict.cnf.xml"),
			want:  []string{"error port-conflict", "error oauth-port-range"},
		},
		{
			name: "cnf-good", area: "cnf", kind: inspect.KindCNF, cli: []string{"cnf", "check"},
			input: readFile(t, "../../cnfxml/testdata/CSFrado.cnf.xml"),
			want:  []string{},
		},
		{
			name: "cert-expired", area: "cert", kind: inspect.KindCert, cli: []string{"cert", "check", "--role", "node", "--name", "cucm-pub.example.com"},
			input: expiredChain(t), role: "node", host: "cucm-pub.example.com",
			want: []string{"error cert-expired"},
		},
		{
			name: "token-refresh", area: "token", kind: inspect.KindToken, cli: []string{"token", "inspect"}, stdin: true,
			input: refreshToken(t),
			want:  []string{"error token-refresh"},
		},
		{
			name: "header-challenge", area: "header", headerKind: "header", kind: inspect.KindHeader, cli: []string{"header", "parse"}, stdin: true,
			input: []byte(`Proxy-Authenticate: Bearer realm="ccmsipline"`),
			want:  []string{"info challenge"},
		},
		{
			// Scenario 1 as the source document shows it, detected.
			name: "response-port-mismatch", area: "auto", kind: inspect.KindResponse,
			input: []byte("SIP/2.0 403 Forbidden\r\nVia: SIP/2.0/TLS 10.5.10.121:50347;branch=z9hG4bK00005163\r\n" +
				"Date: Fri, 03 Aug 2018 05:00:18 GMT\r\nCall-ID: 00505686-7e660005-0000216b-0000366f@10.5.10.121\r\n" +
				"Server: Cisco-CUCM12.5\r\nCSeq: 363 REGISTER\r\nRetry-After: 35\r\n" +
				"Warning: 399 UCM2-PUB \"SIP OAuth Registration port Mismatch\"\r\nContent-Length: 0\r\n\r\n"),
			want: []string{"error port-mismatch", "info profile-without-oauth", "info oauth-disabled-cluster-wide", "info wrong-connection-kind"},
		},
		{
			// Scenario 3 as the edge proxy sees it.
			name: "tls-unknown-ca", area: "header", headerKind: "tls", side: "edge", kind: inspect.KindTLS,
			input: []byte("remote error: tls: unknown certificate authority"),
			want:  []string{"error unknown-ca-at-node"},
		},
		{
			name: "log-source-document", area: "log", kind: inspect.KindLog, cli: []string{"log", "analyze"},
			input: readFile(t, "../../clientlog/testdata/source-document.log"),
			want:  []string{"info log-registered", "error log-port-mismatch"},
		},
	}
}

// libraryResult is what inspect.Check gives for f at checkTime, with the
// JSON the page receives.
func libraryResult(t *testing.T, f fixture) (inspect.Result, []byte, error) {
	t.Helper()
	return libraryResultAt(t, f, checkTime)
}

func libraryResultAt(t *testing.T, f fixture, now time.Time) (inspect.Result, []byte, error) {
	t.Helper()
	opts := f.options()
	opts.Now = now
	var res inspect.Result
	var err error
	if f.area == "auto" || f.area == "header" && f.headerKind == "" {
		res, err = inspect.Auto(f.input, opts)
	} else {
		res, err = inspect.Check(f.kind, f.input, opts)
	}
	if err != nil {
		return res, nil, err
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return res, b, nil
}

// cli is the sipoauth command built once, or why it could not be.
var cli struct {
	once sync.Once
	path string
	err  error
}

// buildCLI builds the sipoauth command into the test's cache, once.
func buildCLI() (string, error) {
	cli.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cli.path = filepath.Join(cacheDir, "sipoauth")
		out, err := exec.CommandContext(ctx, "go", "build", "-o", cli.path, "github.com/sipoauth/sdk/cmd/sipoauth").CombinedOutput()
		if err != nil {
			cli.err = errors.New(strings.TrimSpace(string(out)))
		}
	})
	return cli.path, cli.err
}

// cliPath returns the sipoauth command, or skips t while it does not
// build.
func cliPath(t *testing.T) string {
	t.Helper()
	path, err := buildCLI()
	if err != nil {
		t.Skipf("the sipoauth command does not build yet, so it is not compared: %v", err)
	}
	return path
}

// cliResult runs the sipoauth command on f with --json and returns the
// result it prints, or an error when it exits with status 2 (the input
// cannot be used) with its message; and the seconds it ran in, as the
// command checks at its own time.
func cliResult(t *testing.T, f fixture) (res inspect.Result, ran []time.Time, err error) {
	t.Helper()
	path := cliPath(t)
	args := append(append([]string{}, f.cli...), "--json", "-")
	if !f.stdin {
		file := filepath.Join(t.TempDir(), f.name)
		if err := os.WriteFile(file, f.input, 0o600); err != nil {
			t.Fatal(err)
		}
		args[len(args)-1] = file
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	if f.stdin {
		cmd.Stdin = bytes.NewReader(f.input)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now().UTC().Truncate(time.Second)
	runErr := cmd.Run()
	for s := start; !s.After(time.Now()); s = s.Add(time.Second) {
		ran = append(ran, s)
	}
	var exit *exec.ExitError
	switch {
	case runErr == nil, errors.As(runErr, &exit) && exit.ExitCode() == 1:
	case errors.As(runErr, &exit) && exit.ExitCode() == 2:
		return res, ran, errors.New(strings.TrimSpace(stderr.String()))
	default:
		t.Fatalf("sipoauth %s: %v\n%s", strings.Join(args, " "), runErr, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("sipoauth %s: %v\n%s", strings.Join(args, " "), err, stdout.String())
	}
	return res, ran, nil
}
