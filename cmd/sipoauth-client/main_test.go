package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
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
	issuer, err := issuer.New(issuer.Config{Nested: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{issuer.KeyID(): issuer.PublicKey()})
	kid, key := issuer.EncryptionKey()
	dec, _ := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	v, _ := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec})
	refresh, _ := issuer.MintRefresh("rado", "")

	ca := testca.New(t, "Node CA")
	nodeLeaf := ca.Server(t, "127.0.0.1")
	// The token endpoint is on the node, over HTTPS with the node's
	// certificate: -ca must apply to it as well.
	tokens := httptest.NewUnstartedServer(issuer.Handler())
	tokens.TLS = &tls.Config{Certificates: []tls.Certificate{nodeLeaf.TLS()}}
	tokens.StartTLS()
	defer tokens.Close()
	cert, _ := mtlstrust.NewCertSource(nodeLeaf.TLS())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", mtlstrust.OAuthServerConfig(cert))
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	store := registrar.NewMemoryStore()
	reg, err := registrar.New(registrar.Config{
		NodeName: "UCM-PUB", Validator: v, Store: store,
		Devices: registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Ports:   registrar.Ports{port: registrar.RoleOAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	ua, _ := sipgo.NewUA()
	srv, _ := sipgo.NewServer(ua)
	srv.OnRegister(reg.HandleRegister)
	go srv.ServeTLS(ln)
	defer func() { ln.Close(); srv.Close(); ua.Close() }()

	dir := t.TempDir()
	dev, err := cnfxml.ParseFile("../../cnfxml/testdata/CSFrado.cnf.xml")
	if err != nil {
		t.Fatal(err)
	}
	dev.CallManagers = dev.CallManagers[:1]
	dev.CallManagers[0].Name, dev.CallManagers[0].Ports.SIPOAuth = "127.0.0.1", port
	os.WriteFile(filepath.Join(dir, "CSFrado.cnf.xml"), dev.Bytes(), 0o600)
	tftp := httptest.NewServer(cnfxml.NewHandler(dir))
	defer tftp.Close()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, testca.CertPEM(ca.Cert), 0o600)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout syncbuf.Buffer
	done := make(chan error, 1)
	t.Setenv("SIPOAUTH_REFRESH_TOKEN", refresh)
	go func() {
		done <- run(ctx, []string{"-config", tftp.URL + "/", "-device", "CSFrado", "-ca", caFile, "-token-url", tokens.URL + "/token"}, &stdout, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "Ctrl-C to unregister") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if bs, _ := store.Lookup(context.Background(), "rado"); len(bs) != 1 {
		t.Fatalf("bindings %+v; output:\n%s", bs, stdout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	out := stdout.String()
	addr := "127.0.0.1:" + strconv.Itoa(port)
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
	if strings.Contains(out, refresh) {
		t.Error("the output shows the refresh token")
	}
	if bs, _ := store.Lookup(context.Background(), "rado"); len(bs) != 0 {
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
