package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"flag"
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

// TestRun registers with a registrar on 127.0.0.1 with the flags the
// lab prints (a refresh token at the node's token endpoint, over HTTPS
// with the node's certificate), stays registered until the context ends,
// and unregisters.
func TestRun(t *testing.T) {
	iss, err := issuer.New(issuer.Config{Nested: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	kid, key := iss.EncryptionKey()
	dec, _ := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	v, _ := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec})
	refresh, _ := iss.MintRefresh("rado", "")

	ca := testca.New(t, "Node CA")
	nodeLeaf := ca.Server(t, "127.0.0.1")
	tokens := httptest.NewUnstartedServer(iss.Handler())
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
	dev := cnfxml.NewCSF("CSFrado")
	dev.CallManagers = []cnfxml.CallManager{{Name: "127.0.0.1", ProcessNodeName: "ucm-pub", Ports: cnfxml.Ports{SIPOAuth: port}}}
	os.WriteFile(filepath.Join(dir, "CSFrado.cnf.xml"), dev.Bytes(), 0o600)
	tftp := httptest.NewServer(cnfxml.NewHandler(dir))
	defer tftp.Close()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, testca.CertPEM(ca.Cert), 0o600)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", tftp.URL + "/CSFrado.cnf.xml", "-device", "CSFrado", "-user", "rado",
			"-ca", caFile, "-token-url", tokens.URL + "/token", "-refresh-token", refresh}, &stdout, &stderr)
	}()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout.String(), "registered at"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not registered:\n%s%s", stdout.String(), stderr.String())
		}
	}
	if bs, _ := store.Lookup(context.Background(), "rado"); len(bs) != 1 {
		t.Fatalf("bindings %+v; output:\n%s", bs, stdout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if want := "registered at " + addr + ", expires in 2m0s\nunregistered from " + addr + "\n"; stdout.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if bs, _ := store.Lookup(context.Background(), "rado"); len(bs) != 0 {
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
