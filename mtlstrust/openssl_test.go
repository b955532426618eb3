package mtlstrust

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/integration"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
)

// needOpenSSL returns the openssl binary, skipping the test on a machine
// without it, and failing it where integration tests are required.
func needOpenSSL(t *testing.T) string {
	path, err := exec.LookPath("openssl")
	if err != nil {
		integration.Missing(t, "openssl not installed; install Debian's openssl to run this interoperability test")
	}
	return path
}

// serveOnce accepts one connection with cfg on 127.0.0.1 and reports the
// handshake's error.
func serveOnce(t *testing.T, cfg *tls.Config) (addr string, result <-chan error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, cfg)
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte("ok\n"))
			tc.Close() // with close_notify, so that openssl sees a clean end
		}
		ch <- err
	}()
	return ln.Addr().String(), ch
}

// sClient runs openssl s_client against addr with the given extra
// arguments and returns its exit error and output.
func sClient(t *testing.T, bin, addr string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all := append([]string{"s_client", "-connect", addr, "-servername", nodeName, "-verify_return_error", "-brief"}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writePEM(t *testing.T, dir, name string, data []byte) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOpenSSLPeer proves the configurations against a TLS stack this
// package did not write: OpenSSL's s_client as the edge proxy and as a
// client of the OAuth port.
func TestOpenSSLPeer(t *testing.T) {
	t.Parallel()
	bin := needOpenSSL(t)
	p := newPKI(t)
	dir := t.TempDir()
	nodeCA := writePEM(t, dir, "node-ca.pem", testca.CertPEM(p.nodeCA.Cert))
	proxyCert := writePEM(t, dir, "expc.pem", p.proxy.CertPEM())
	proxyKey := writePEM(t, dir, "expc.key", p.proxy.KeyPEM())
	otherCA := writePEM(t, dir, "other-ca.pem", testca.CertPEM(testca.New(t, "Other").Cert))

	t.Run("5091 with the proxy's certificate", func(t *testing.T) {
		addr, res := serveOnce(t, p.edgeServer())
		out, err := sClient(t, bin, addr, "-CAfile", nodeCA, "-cert", proxyCert, "-key", proxyKey)
		if serr := <-res; serr != nil || err != nil {
			t.Fatalf("server %v, openssl %v:\n%s", serr, err, out)
		}
		if !strings.Contains(out, "Verification: OK") || !strings.Contains(out, "CONNECTION ESTABLISHED") {
			t.Fatalf("openssl output:\n%s", out)
		}
	})
	t.Run("5091 without a client certificate", func(t *testing.T) {
		addr, res := serveOnce(t, p.edgeServer())
		out, _ := sClient(t, bin, addr, "-CAfile", nodeCA)
		serr := <-res
		if d := Diagnose(serr, diag.NodeSide); d.Code != diag.CodeNoClientCertificate {
			t.Fatalf("server %v diagnosed %+v; openssl:\n%s", serr, d, out)
		}
	})
	t.Run("5091 proxy that does not trust the node's signer (scenario 2)", func(t *testing.T) {
		addr, res := serveOnce(t, p.edgeServer())
		// TLS 1.2: the proxy checks the node's certificate before it sends
		// anything of its own, and says why in a plain alert.
		out, err := sClient(t, bin, addr, "-tls1_2", "-CAfile", otherCA, "-cert", proxyCert, "-key", proxyKey)
		serr := <-res
		if err == nil {
			t.Fatalf("openssl accepted an untrusted node:\n%s", out)
		}
		if d := Diagnose(serr, diag.NodeSide); d.Code != diag.CodeUnknownCAAtEdge || d.Scenario != 2 || d.Alert != diag.AlertUnknownCA {
			t.Fatalf("server %v diagnosed %+v", serr, d)
		}
	})
	t.Run("5091 proxy not in the table (scenario 3)", func(t *testing.T) {
		p.allowed.remove("expc1.example.com")
		defer p.allowed.set("expc1.example.com", "expc1.example.com")
		addr, res := serveOnce(t, p.edgeServer())
		out, _ := sClient(t, bin, addr, "-CAfile", nodeCA, "-cert", proxyCert, "-key", proxyKey)
		serr := <-res
		if d := Diagnose(serr, diag.NodeSide); d.Code != diag.CodeNotInTable || d.Scenario != 3 {
			t.Fatalf("server %v diagnosed %+v; openssl:\n%s", serr, d, out)
		}
	})
	t.Run("5090 without a client certificate", func(t *testing.T) {
		addr, res := serveOnce(t, OAuthServerConfig(p.nodeCert))
		out, err := sClient(t, bin, addr, "-CAfile", nodeCA)
		if serr := <-res; serr != nil || err != nil || !strings.Contains(out, "Verification: OK") {
			t.Fatalf("server %v, openssl %v:\n%s", serr, err, out)
		}
	})
}
