package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"flag"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
)

const proxyName = "expc1.example.com"

// startNode starts a registrar on 127.0.0.1 whose MRA OAuth port takes
// edge proxies signed by proxyCA and named proxyName, and returns its
// address.
func startNode(t *testing.T, nodeCA, proxyCA *testca.CA, iss *issuer.Issuer) string {
	t.Helper()
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	v, err := sipoauth.New(sipoauth.Config{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := mtlstrust.NewCertSource(nodeCA.Server(t, "127.0.0.1").TLS())
	if err != nil {
		t.Fatal(err)
	}
	only := mtlstrust.AuthorizeNames([]string{proxyName})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", mtlstrust.EdgeServerConfig(cert, mtlstrust.NewTrustStore(proxyCA.Cert), only))
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registrar.New(registrar.Config{
		NodeName: "UCM-PUB", Validator: v, EdgeAuthorizer: only,
		Devices: registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Ports:   registrar.Ports{ln.Addr().(*net.TCPAddr).Port: registrar.RoleEdge},
	})
	if err != nil {
		t.Fatal(err)
	}
	ua, _ := sipgo.NewUA()
	srv, _ := sipgo.NewServer(ua)
	srv.OnRegister(reg.HandleRegister)
	go srv.ServeTLS(ln)
	t.Cleanup(func() { ln.Close(); srv.Close(); ua.Close() })
	return ln.Addr().String()
}

// TestRegisterThroughEdge starts the example in front of a node on
// 127.0.0.1 and registers a soft client through it over MRA with package
// client: the node's challenge and its 200 OK come back through the proxy.
func TestRegisterThroughEdge(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nodeCA, proxyCA := testca.New(t, "Node CA"), testca.New(t, "Expressway CA")
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	node := startNode(t, nodeCA, proxyCA, iss)
	// The proxy's certificate serves both ways: to the node as a client
	// certificate, to the soft client as the server certificate of
	// 127.0.0.1.
	leaf := proxyCA.Client(t, proxyName, "127.0.0.1")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := new(syncbuf.Buffer), new(syncbuf.Buffer)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0",
			"-cert", write("expc.pem", leaf.CertPEM()), "-key", write("expc.key", leaf.KeyPEM()),
			"-node-ca", write("tomcat-ca.pem", testca.CertPEM(nodeCA.Cert)), "-upstream", node,
		}, stdout, stderr)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(10 * time.Millisecond) {
		if a, ok := strings.CutPrefix(stdout.String(), "listening tls "); ok {
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

	mustAtoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	host, port, _ := net.SplitHostPort(node)
	dev := cnfxml.NewCSF("CSFrado")
	dev.UserID = "rado"
	dev.CallManagers = []cnfxml.CallManager{{Name: host, Ports: cnfxml.Ports{SIPMRAOAuth: mustAtoi(port)}}}
	c, err := client.New(client.Config{DeviceName: "CSFrado", Device: dev, Deployment: cnfxml.MRA, EdgeAddr: addr,
		TLSConfig: &tls.Config{RootCAs: proxyCA.Pool()}, Tokens: client.StaticTokenSource(&client.Token{AccessToken: tok}),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	reg, err := c.Register(rctx)
	if err != nil || reg.FirstStatus != 407 || reg.Status != 200 || reg.Expires != 120*time.Second || reg.RemoteAddr != addr {
		t.Fatalf("through the edge: %+v %v\n%s", reg, err, stderr)
	}
	c.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if want := "stopped: 3 REGISTERs received, 3 forwarded, 3 answers relayed, 0 upstream failures\n"; !strings.HasSuffix(stdout.String(), want) {
		t.Errorf("stdout:\n%s\nwant it to end with %q", stdout, want)
	}
}

// TestFlags: -h lists the flags, and a missing one is named.
func TestFlags(t *testing.T) {
	var out syncbuf.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, f := range []string{"-listen address", "-cert file", "-key file", "-node-ca file", "-upstream host:port,..."} {
		if !strings.Contains(out.String(), "  "+f+"\n") {
			t.Errorf("usage lacks %q:\n%s", f, out.String())
		}
	}
	if err := run(context.Background(), []string{"-cert", "c"}, &out, &out); err == nil || err.Error() != "-cert, -key, -node-ca and -upstream are required" {
		t.Errorf("missing flags: %v", err)
	}
}
