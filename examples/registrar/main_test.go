package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
)

// TestRegister starts the example on 127.0.0.1 with the keys of an
// issuer's JWKS and its cluster key, and registers to it with package
// client: a nested token of the device's owner registers, the owner of
// another device does not.
func TestRegister(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	iss, err := issuer.New(issuer.Config{Nested: true})
	if err != nil {
		t.Fatal(err)
	}
	idp := httptest.NewServer(iss.Handler())
	defer idp.Close()
	kid, key := iss.EncryptionKey()
	clusterKeys, _ := json.Marshal(map[string][]byte{kid: key}) // base64 by kid
	ca := testca.New(t, "Node CA")
	node := ca.Server(t, "127.0.0.1")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := new(syncbuf.Buffer), new(syncbuf.Buffer)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0",
			"-cert", write("node.pem", node.CertPEM()), "-key", write("node.key", node.KeyPEM()),
			"-jwks", idp.URL + "/.well-known/jwks.json", "-cluster-key", write("cluster-keys.json", clusterKeys),
			"-devices", write("devices.json", []byte(`[{"name": "CSFrado", "owner": "rado", "oauth": true}]`)),
		}, stdout, stderr)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if a, ok := strings.CutPrefix(stdout.String(), "listening oauth tls "); ok {
			addr = strings.TrimSpace(a)
		}
		select {
		case err := <-done:
			t.Fatalf("run: %v\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening:\n%s", stderr)
		}
	}
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)

	register := func(user string) (client.Registration, error) {
		tok, err := iss.Mint(issuer.TokenRequest{User: user, Device: "CSFrado"})
		if err != nil {
			t.Fatal(err)
		}
		dev := cnfxml.NewCSF("CSFrado")
		dev.UserID = user
		dev.CallManagers = []cnfxml.CallManager{{Name: "127.0.0.1", Ports: cnfxml.Ports{SIPOAuth: p}}}
		c, err := client.New(client.Config{DeviceName: "CSFrado", Device: dev,
			TLSConfig: &tls.Config{RootCAs: ca.Pool()}, Tokens: client.StaticTokenSource(&client.Token{AccessToken: tok}),
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		return c.Register(rctx)
	}
	reg, err := register("rado")
	if err != nil || reg.FirstStatus != 407 || reg.Status != 200 || reg.Expires != 120*time.Second || !reg.NewRegistration {
		t.Fatalf("rado: %+v %v\n%s", reg, err, stderr)
	}
	if reg, err := register("alice"); err == nil || reg.Status == 200 {
		t.Fatalf("alice registered CSFrado, rado's device: %+v", reg)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	log := stderr.String()
	for _, want := range []string{"msg=register status=200 reason=registered role=oauth device=CSFrado aor=rado user=rado",
		"msg=register status=403", "device=CSFrado aor=alice user=alice"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// The client unregistered as it closed.
	if !strings.HasSuffix(stdout.String(), "stopped with 0 bindings\n") {
		t.Errorf("stdout:\n%s", stdout)
	}
}

// TestFlags: -h lists the flags; a missing one is named, and a cluster
// key without its kid refused.
func TestFlags(t *testing.T) {
	var out syncbuf.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, f := range []string{"-listen address", "-cert file", "-key file", "-jwks URL", "-cluster-key file", "-devices file"} {
		if !strings.Contains(out.String(), "  "+f+"\n") {
			t.Errorf("usage lacks %q:\n%s", f, out.String())
		}
	}
	if err := run(context.Background(), []string{"-cert", "c"}, &out, &out); err == nil || err.Error() != "-cert, -key, -jwks and -devices are required" {
		t.Errorf("missing flags: %v", err)
	}
	p := filepath.Join(t.TempDir(), "key.hex")
	os.WriteFile(p, []byte(strings.Repeat("ab", 32)+"\n"), 0o600)
	if _, _, err := newValidator("http://127.0.0.1:1/jwks", p, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "-cluster-key: a key without its kid") {
		t.Errorf("a key without kid: %v", err)
	}
}
