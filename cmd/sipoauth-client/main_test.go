package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/testnode"
	"github.com/sipoauth/sdk/internal/testoidc"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/syncbuf"
)

func TestMain(m *testing.M) {
	// sipgo logs to its default logger; the test reads what it checks.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// TestRun registers with a registrar on 127.0.0.1, using a refresh token
// at the issuer's token endpoint, stays registered until the context ends
// and unregisters.
func TestRun(t *testing.T) {
	n := testnode.Start(t)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout syncbuf.Buffer
	done := make(chan error, 1)
	t.Setenv("SIPOAUTH_REFRESH_TOKEN", n.Refresh)
	go func() {
		done <- run(ctx, []string{"-config", n.ConfigURL + "/", "-device", "CSFrado", "-ca", n.CAFile, "-token-url", n.TokenURL}, &stdout, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "Ctrl-C to unregister") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 1 {
		t.Fatalf("bindings %+v; output:\n%s", bs, stdout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	out := stdout.String()
	addr := n.Addr
	for _, want := range []string{
		"targets (on-premises): " + addr + "\n",
		"  <- 407 Proxy Authentication Required\n     challenge: Bearer realm=\"ccmsipline\"\n",
		", Expires 3600, Proxy-Authorization (cisco form)\n  <- 200 OK\n",
		"registered at " + addr + ", expires in 2m0s (x-cisco-newreg); Ctrl-C to unregister\n",
		"unregistered from " + addr + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, n.Refresh) {
		t.Error("the output shows the refresh token")
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 0 {
		t.Errorf("bindings after exit: %+v", bs)
	}
}

// TestFlags refuses incomplete command lines.
func TestFlags(t *testing.T) {
	t.Setenv("SIPOAUTH_TOKEN", "")
	t.Setenv("SIPOAUTH_REFRESH_TOKEN", "")
	for _, args := range [][]string{
		{"-device", "CSFrado", "-token", "x"},
		{"-config", "http://x/", "-token", "x"},
		{"-config", "http://x/", "-device", "CSFrado"},
		{"-config", "http://x/", "-device", "CSFrado", "-token", "x", "-mra"},
		{"-config", "http://x/", "-device", "CSFrado", "-login"},
		{"-config", "http://x/", "-device", "CSFrado", "-login", "-issuer", "https://login.example.com"},
		{"-config", "http://x/", "-device", "CSFrado", "-login", "-issuer", "https://login.example.com", "-client-id", "c", "-token", "x"},
		{"-config", "http://x/", "-device", "CSFrado", "-issuer", "https://login.example.com", "-client-id", "c"},
		{"-config", "http://x/", "-device", "CSFrado", "-issuer", "https://a", "-token-url", "https://a/token", "-refresh-token", "r"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestLocalConfig reads -config from a directory or a file instead of a
// URL.
func TestLocalConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := cnfxml.NewCSF("CSFrado")
	cfg.UserID = "rado"
	cfg.CallManagers = []cnfxml.CallManager{{Name: "127.0.0.1", Ports: cnfxml.Ports{SIPOAuth: 5090, SIPMRAOAuth: 5091}}}
	file := filepath.Join(dir, "CSFrado.cnf.xml")
	if err := os.WriteFile(file, cfg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, file} {
		o, err := parseFlags([]string{"-config", path, "-device", "CSFrado", "-token", "t"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		c, err := o.clientConfig(io.Discard, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if c.ConfigURL != "" || c.Device == nil || c.Device.UserID != "rado" || len(c.Device.CallManagers) != 1 || c.Device.CallManagers[0].Ports.SIPOAuth != 5090 {
			t.Errorf("%s: ConfigURL %q, Device %+v", path, c.ConfigURL, c.Device)
		}
	}
	o, _ := parseFlags([]string{"-config", filepath.Join(dir, "missing"), "-device", "CSFrado", "-token", "t"}, io.Discard)
	if _, err := o.clientConfig(io.Discard, io.Discard); err == nil {
		t.Error("a missing file: no error")
	}
}

// TestLogin: -login signs rado in at oidc-provider with the device grant
// (the test is the user, on the provider's pages, with the URL and code
// the program printed), registers with a node that takes that provider's
// tokens, and at exit unregisters and signs out.
func TestLogin(t *testing.T) {
	op := testoidc.Start(t)
	n := testnode.StartFor(t, op.Issuer, testoidc.Audience)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", n.ConfigURL + "/", "-device", "CSFrado", "-ca", n.CAFile,
			"-issuer", op.Issuer, "-login", "-client-id", testoidc.SoftClient,
			"-scope", "openid offline_access " + testoidc.Scope, "-resource", testoidc.Resource}, &stdout, io.Discard)
	}()
	prompt := regexp.MustCompile(`to sign in, open (\S+) and enter the code (\S+)\n`)
	var m []string
	for deadline := time.Now().Add(20 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m = prompt.FindStringSubmatch(stdout.String())
	}
	if m == nil {
		t.Fatalf("no sign-in prompt:\n%s", stdout.String())
	}
	if m[1] != op.Issuer+"/device" {
		t.Errorf("verification URL %q", m[1])
	}
	b := testoidc.NewBrowser("rado")
	b.UserCode = m[2]
	if _, err := b.SignIn(ctx, m[1]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stdout.String(), "Ctrl-C to unregister") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 1 {
		t.Fatalf("bindings %+v; output:\n%s", bs, stdout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	out := stdout.String()
	t.Logf("output:\n%s", out)
	for _, want := range []string{
		"signed in at " + op.Issuer + "\n",
		"registered at " + n.Addr + ", expires in ",
		"unregistered from " + n.Addr + "\n",
		"signed out at " + op.Issuer + ": tokens revoked\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 0 {
		t.Errorf("bindings after exit: %+v", bs)
	}
}

// TestAnswer: with -answer, a MESSAGE the node sends over the
// registration's connection is printed and accepted; an INFO is not.
func TestAnswer(t *testing.T) {
	n := testnode.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout syncbuf.Buffer
	done := make(chan error, 1)
	t.Setenv("SIPOAUTH_REFRESH_TOKEN", n.Refresh)
	go func() {
		done <- run(ctx, []string{"-config", n.ConfigURL + "/", "-device", "CSFrado", "-ca", n.CAFile, "-token-url", n.TokenURL, "-answer"}, &stdout, io.Discard)
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), "Ctrl-C to unregister") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	cs, err := n.Registrar.Lookup(ctx, "rado")
	if err != nil || len(cs) != 1 || !cs[0].FlowUp {
		t.Fatalf("contacts %+v, %v; output:\n%s", cs, err, stdout.String())
	}
	send := func(method sip.RequestMethod, body string) int {
		t.Helper()
		req, err := cs[0].NewRequest(method, sip.Uri{Scheme: "sip", User: "ucm", Host: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
		req.SetBody([]byte(body))
		res, err := n.Registrar.Send(ctx, cs[0], req)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	if code := send(sip.MESSAGE, "Meeting moved to 3pm\x07"); code != 200 {
		t.Errorf("MESSAGE: %d", code)
	}
	if code := send(sip.INFO, "x"); code != 501 {
		t.Errorf("INFO: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\n\d\d:\d\d:\d\d MESSAGE from sip:ucm@127\.0\.0\.1: Meeting moved to 3pm\\a\n`).MatchString(stdout.String()) {
		t.Errorf("output:\n%s", stdout.String())
	}
}
