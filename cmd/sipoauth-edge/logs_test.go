package main

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/testca"
)

// TestLogClientHangUp: a client that resets its TLS connection is a
// debug event in the proxy's log (-v), not sipgo's ERROR "Read error"
// and WARN about the close_notify it could not send.
func TestLogClientHangUp(t *testing.T) {
	dir := t.TempDir()
	proxyCA, nodeCA := testca.New(t, "Expressway CA"), testca.New(t, "Node CA")
	leaf := proxyCA.Client(t, "expc1.example.com", "127.0.0.1")
	for name, data := range map[string][]byte{"proxy.pem": leaf.CertPEM(), "proxy.key": leaf.KeyPEM(), "node-ca.pem": testca.CertPEM(nodeCA.Cert)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-v",
			"-cert", filepath.Join(dir, "proxy.pem"), "-key", filepath.Join(dir, "proxy.key"),
			"-node-ca", filepath.Join(dir, "node-ca.pem"), "-upstream", "127.0.0.1:9"}, logs, func(addr string) { addrc <- addr })
	}()
	defer func() {
		cancel()
		<-done
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatal("not started")
	}

	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: proxyCA.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the proxy reads the connection
	conn.NetConn().(*net.TCPConn).SetLinger(0)
	conn.NetConn().Close()

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), `msg="Read error"`) && !strings.Contains(logs.String(), `msg="connection was closed"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no record of the hang-up:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			t.Errorf("error or warning logged for a client's hang-up: %s", line)
		}
	}
}
