package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// testServer is a tiny TLS SIP registrar on 127.0.0.1: 407 without
// credentials, then 200 when they are right (the device's token, or a
// correct Digest response with the user's password), 403 otherwise.
type testServer struct {
	addr     string
	caFile   string
	secrets  map[string]string // user -> token or password
	ok, bad  atomic.Int64
	conns    atomic.Int64
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	accepted []net.Conn
}

func newTestServer(t testing.TB, auth string, secrets map[string]string) *testServer {
	t.Helper()
	s, err := startTestServer(t.TempDir(), auth, secrets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// startTestServer starts a testServer whose CA file goes into dir.
func startTestServer(dir, auth string, secrets map[string]string) (*testServer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "ca-"+randHex(4)+".pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		return nil, err
	}
	s := &testServer{addr: ln.Addr().String(), caFile: caFile, secrets: secrets, ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.mu.Lock()
			s.accepted = append(s.accepted, c)
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c, auth) })
		}
	})
	return s, nil
}

// close stops the server and closes its connections.
func (s *testServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.accepted {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *testServer) serve(c net.Conn, auth string) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		start, h, err := readMessage(r)
		if err != nil {
			return
		}
		uri := strings.Fields(start)[1]
		user := strings.TrimPrefix(strings.SplitN(h["to"], "@", 2)[0], "<sip:")
		status, extra := 200, ""
		pa := h["proxy-authorization"]
		switch {
		case pa == "" && auth == "bearer":
			status, extra = 407, "Proxy-Authenticate: Bearer realm=\"ccmsipline\"\r\n"
		case pa == "":
			status, extra = 407, "Proxy-Authenticate: Digest realm=\"test\", nonce=\"n0nce\", algorithm=MD5\r\n"
		case auth == "bearer" && pa != `Bearer token="`+s.secrets[user]+`"`:
			status = 403
		case auth == "digest":
			got, err := digest.ParseCredentials(pa)
			if err != nil {
				status = 403
				break
			}
			want, err := digest.Digest(&digest.Challenge{Realm: "test", Nonce: "n0nce", Algorithm: "MD5"},
				digest.Options{Method: "REGISTER", URI: uri, Username: user, Password: s.secrets[user]})
			if err != nil || got.Response != want.Response || got.Username != user {
				status = 403
			}
		}
		switch status {
		case 200:
			s.ok.Add(1)
		case 403:
			s.bad.Add(1)
		}
		resp := "SIP/2.0 " + map[int]string{200: "200 OK", 403: "403 Forbidden", 407: "407 Proxy Authentication Required"}[status] + "\r\n" +
			"Via: " + h["via"] + "\r\nFrom: " + h["from"] + "\r\nTo: " + h["to"] + ";tag=srv\r\nCall-ID: " + h["call-id"] +
			"\r\nCSeq: " + h["cseq"] + "\r\n" + extra + "Content-Length: 0\r\n\r\n"
		if _, err := c.Write([]byte(resp)); err != nil {
			return
		}
	}
}

// writeCreds writes n credentials in bench/setup's form and returns the
// file and the secrets by user.
func writeCreds(t testing.TB, auth string, n int) (string, map[string]string) {
	t.Helper()
	p, secrets, err := writeCredsIn(t.TempDir(), auth, n)
	if err != nil {
		t.Fatal(err)
	}
	return p, secrets
}

func writeCredsIn(dir, auth string, n int) (string, map[string]string, error) {
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	secrets := map[string]string{}
	for i := range n {
		user, dev := "u"+itoa(i), "CSFu"+itoa(i)
		secret := "secret" + itoa(i*7)
		secrets[user] = secret
		if auth == "digest" {
			b.WriteString(user + ";" + dev + ";[authentication username=" + user + " password=" + secret + "]\n")
		} else {
			b.WriteString(user + ";" + dev + ";" + secret + "\n")
		}
	}
	p := filepath.Join(dir, auth+".csv")
	return p, secrets, os.WriteFile(p, []byte(b.String()), 0o600)
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }
