package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/testnode"
	"github.com/sipoauth/sdk/internal/testoidc"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

func TestMain(m *testing.M) {
	// sipgo logs to its default logger; the test reads what it checks.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

// TestRun registers with a registrar on 127.0.0.1 with the flags the
// lab prints (a refresh token at the node's token endpoint, over HTTPS
// with the node's certificate), stays registered until the context ends,
// and unregisters.
func TestRun(t *testing.T) {
	n := testnode.Start(t)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", n.ConfigURL + "/CSFrado.cnf.xml", "-device", "CSFrado", "-user", "rado",
			"-ca", n.CAFile, "-token-url", n.TokenURL, "-refresh-token", n.Refresh}, &stdout, &stderr)
	}()
	addr := n.Addr
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), "registered at"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not registered:\n%s%s", stdout.String(), stderr.String())
		}
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 1 {
		t.Fatalf("bindings %+v; output:\n%s", bs, stdout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if want := "registered at " + addr + ", expires in 2m0s\nunregistered from " + addr + "\n"; stdout.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 0 {
		t.Errorf("bindings after exit: %+v", bs)
	}
}

// TestFlags: -h lists the flags; an incomplete or contradictory command
// line is refused.
func TestFlags(t *testing.T) {
	var out syncbuf.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, f := range []string{"-config URL", "-device name", "-user user", "-ca file", "-token-url URL", "-refresh-token token", "-token token"} {
		if !strings.Contains(out.String(), "  "+f+"\n") {
			t.Errorf("usage lacks %q:\n%s", f, out.String())
		}
	}
	for _, args := range [][]string{
		{"-device", "CSFrado", "-token", "x"},
		{"-config", "http://127.0.0.1/", "-token", "x"},
		{"-config", "http://127.0.0.1/", "-device", "CSFrado"},
		{"-config", "http://127.0.0.1/", "-device", "CSFrado", "-token-url", "https://127.0.0.1/token"},
		{"-config", "http://127.0.0.1/", "-device", "CSFrado", "-token", "x", "-token-url", "https://127.0.0.1/token", "-refresh-token", "r"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil || !strings.HasPrefix(err.Error(), "-config and -device are required") {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// TestLogin: -login signs rado in at oidc-provider with the device grant
// (the test is the user, with the URL and code printed), registers with a
// node that takes that provider's tokens, and at exit unregisters and
// signs out: the provider refuses the refresh token after it.
func TestLogin(t *testing.T) {
	op := testoidc.Start(t)
	n := testnode.StartFor(t, op.Issuer, testoidc.Audience)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", n.ConfigURL + "/", "-device", "CSFrado", "-ca", n.CAFile,
			"-issuer", op.Issuer, "-login", "-client-id", testoidc.SoftClient, "-scope", "openid offline_access " + testoidc.Scope}, &stdout, &stderr)
	}()
	prompt := regexp.MustCompile(`to sign in, open (\S+) and enter the code (\S+)\n`)
	var m []string
	for deadline := time.Now().Add(20 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m = prompt.FindStringSubmatch(stdout.String())
	}
	if m == nil {
		t.Fatalf("no sign-in prompt:\n%s%s", stdout.String(), stderr.String())
	}
	b := testoidc.NewBrowser("rado")
	b.UserCode = m[2]
	if _, err := b.SignIn(ctx, m[1]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stdout.String(), "registered at"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not registered:\n%s%s", stdout.String(), stderr.String())
		}
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 1 || bs[0].User != "rado" {
		t.Fatalf("bindings %+v", bs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 0 {
		t.Errorf("bindings after exit: %+v", bs)
	}
}
