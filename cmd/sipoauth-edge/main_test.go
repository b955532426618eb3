package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
)

func TestUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "-cert and -key are required"},
		{[]string{"-cert", "c", "-key", "k"}, "-node-ca is required"},
		{[]string{"-cert", "c", "-key", "k", "-node-ca", "ca"}, "at least one -upstream"},
		{[]string{"-cert", "c", "-key", "k", "-node-ca", "ca", "-upstream", "127.0.0.1:5091", "-validate"}, "-validate needs -keys or -jwks"},
		{[]string{"-cert", "c", "-key", "k", "-node-ca", "ca", "-upstream", "127.0.0.1:5091", "-keys", "k.pem"}, "need -validate"},
		{[]string{"-cert", "c", "-key", "k", "-node-ca", "ca", "-upstream", "127.0.0.1:5091", "-table-url", "https://x"}, "-table-url needs -table-user"},
		{[]string{"-nonsense"}, "flag provided but not defined"},
	}
	for _, tc := range cases {
		err := run(context.Background(), tc.args, io.Discard, nil)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v", tc.args, err)
		}
	}
	o, err := parse([]string{"-cert", "c", "-key", "k", "-node-ca", "a,b", "-node-ca", "c", "-upstream", "h1:5091, h2:5091", "-upstream", "h3:5091"}, io.Discard)
	if err != nil || strings.Join(o.nodeCA, " ") != "a b c" || strings.Join(o.upstreams, " ") != "h1:5091 h2:5091 h3:5091" || o.listen != ":5061" {
		t.Fatalf("%+v, %v", o, err)
	}
}

// lockedBuffer collects the command's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRun starts the command with edge validation, sends it a REGISTER
// without a token (challenged at the edge) and one with a valid token
// (its node is down: 503), then stops it.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	proxyCA, nodeCA := testca.New(t, "Expressway CA"), testca.New(t, "Node CA")
	leaf := proxyCA.Client(t, "expc1.example.com", "127.0.0.1")
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"proxy.pem": leaf.CertPEM(), "proxy.key": leaf.KeyPEM(), "node-ca.pem": testca.CertPEM(nodeCA.Cert), "authz.pem": iss.PublicKeyPEM(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	down := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &lockedBuffer{}
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"-listen", "127.0.0.1:0", "-name", "expc1",
			"-cert", filepath.Join(dir, "proxy.pem"), "-key", filepath.Join(dir, "proxy.key"),
			"-node-ca", filepath.Join(dir, "node-ca.pem"), "-upstream", down, "-server-name", "127.0.0.1",
			"-validate", "-keys", iss.KeyID() + "=" + filepath.Join(dir, "authz.pem"),
		}, logs, func(addr string) { addrc <- addr })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatal("not started")
	}

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: proxyCA.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado"})
	for _, tc := range []struct{ auth, status, warning string }{
		{"", "SIP/2.0 407 Proxy Authentication Required", ""},
		{"Proxy-Authorization: Bearer token=\"" + tok + "\"\r\n", "SIP/2.0 503 Service Unavailable", `Warning: 399 expc1 "Registrar unreachable"`},
	} {
		io.WriteString(conn, "REGISTER sip:ucm.example.com SIP/2.0\r\nVia: SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK"+strings.Repeat("x", len(tc.auth)%7+1)+"\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:rado@ucm.example.com>;tag=1\r\nTo: <sip:rado@ucm.example.com>\r\nCall-ID: run1\r\nCSeq: 1 REGISTER\r\n"+
			"Contact: <sip:rado@10.0.0.5:5061;transport=tls>\r\nExpires: 3600\r\n"+tc.auth+"Content-Length: 0\r\n\r\n")
		var head []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%v\n%s", err, logs)
			}
			if line == "\r\n" {
				break
			}
			head = append(head, strings.TrimRight(line, "\r\n"))
		}
		text := strings.Join(head, "\n")
		if head[0] != tc.status || (tc.warning != "" && !strings.Contains(text, tc.warning)) {
			t.Fatalf("answer:\n%s", text)
		}
		if tc.auth == "" && !strings.Contains(text, `Proxy-Authenticate: Bearer realm="ccmsipline"`) {
			t.Fatalf("answer:\n%s", text)
		}
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
	out := logs.String()
	for _, want := range []string{"edge: serving", "error upstream-unreachable upstream:", "received=2 forwarded=0 relayed=0 rejected_at_edge=1 upstream_failures=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, tok) {
		t.Error("the token is in the log")
	}
}
