package main

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/testca"
)

// certFiles writes certificate chains with names that say what is wrong
// with them and returns their paths by name.
func certFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	root := testca.New(t, "Node Root CA")
	inter := root.Intermediate(t, "Node Issuing CA")
	edgeCA := testca.New(t, "Expressway CA")
	now := time.Now()
	year := now.Add(365 * 24 * time.Hour)
	server, client := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
	files := map[string][]byte{
		"node-good.pem":          inter.Issue(t, testca.Options{CommonName: "ucm-pub.example.com", DNSNames: []string{"ucm-pub.example.com"}, IPs: []net.IP{net.ParseIP("10.10.10.1")}, ExtKeyUsage: server, NotAfter: year}).CertPEM(),
		"node-expiring.pem":      inter.Server(t, "ucm-pub.example.com").CertPEM(),
		"node-expired.pem":       inter.Issue(t, testca.Options{CommonName: "ucm-pub.example.com", DNSNames: []string{"ucm-pub.example.com"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}).CertPEM(),
		"node-wrong-eku.pem":     inter.Issue(t, testca.Options{CommonName: "ucm-pub.example.com", DNSNames: []string{"ucm-pub.example.com"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, NotAfter: year}).CertPEM(),
		"edge-good.pem":          edgeCA.Issue(t, testca.Options{CommonName: "expc1.example.com", DNSNames: []string{"expc1.example.com"}, ExtKeyUsage: client, NotAfter: year}).CertPEM(),
		"edge-server-only.pem":   edgeCA.Issue(t, testca.Options{CommonName: "expc1.example.com", DNSNames: []string{"expc1.example.com"}, ExtKeyUsage: server, NotAfter: year}).CertPEM(),
		"not-pem.pem":            []byte("this is not a certificate\n"),
		"private-key-inside.pem": append(inter.Server(t, "x.example.com").KeyPEM(), '\n'),
	}
	paths := map[string]string{}
	for name, b := range files {
		paths[name] = write(t, dir, name, b)
	}
	return paths
}

func TestCertCheck(t *testing.T) {
	files := certFiles(t)
	cases := []struct {
		file  string
		args  []string
		code  int
		codes []string
	}{
		{"node-good.pem", []string{"--name", "ucm-pub.example.com"}, exitOK, []string{}},
		{"node-good.pem", []string{"--name", "10.10.10.1"}, exitOK, []string{}},
		{"node-good.pem", []string{"--name", "ucm-sub.example.com"}, exitFindings, []string{"error name-mismatch"}},
		{"node-good.pem", []string{"--role", "edge"}, exitFindings, []string{"error missing-client-auth-eku"}},
		{"node-expired.pem", nil, exitFindings, []string{"error cert-expired"}},
		{"node-expiring.pem", nil, exitOK, []string{"warning cert-expiring"}},
		{"node-wrong-eku.pem", nil, exitFindings, []string{"error missing-server-auth-eku"}},
		{"edge-good.pem", []string{"--role", "edge", "--name", "expc1.example.com"}, exitOK, []string{}},
		{"edge-server-only.pem", []string{"--role", "edge"}, exitFindings, []string{"error missing-client-auth-eku"}},
		{"not-pem.pem", nil, exitUsage, []string{"error cert-unreadable"}},
		{"private-key-inside.pem", nil, exitUsage, []string{"error cert-unreadable"}},
	}
	for _, tc := range cases {
		t.Run(tc.file+strings.Join(tc.args, ""), func(t *testing.T) {
			args := append(append([]string{"cert", "check", "--json"}, tc.args...), files[tc.file])
			r := cli(t, "", args...).want(t, tc.code)
			if got := codes(r.result(t).Findings); !reflect.DeepEqual(got, tc.codes) {
				t.Errorf("findings %q, want %q", got, tc.codes)
			}
		})
	}
}

func TestCertCheckHuman(t *testing.T) {
	files := certFiles(t)
	r := cli(t, "", "cert", "check", "--name", "ucm-pub.example.com", files["node-good.pem"]).want(t, exitOK)
	for _, want := range []string{
		"certificate 1 of 2: CN=ucm-pub.example.com\n",
		"  issuer     CN=Node Issuing CA,O=sipoauth test\n",
		"  names      ucm-pub.example.com, 10.10.10.1\n",
		"  key        ECDSA 256 bits\n",
		"  signature  ECDSA-SHA256\n",
		"  usage      serverAuth\n",
		"  CA         no\n",
		"certificate 2 of 2: CN=Node Issuing CA,O=sipoauth test\n",
		"  CA         yes\n",
		"\nno findings\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	r = cli(t, "", "cert", "check", files["node-expired.pem"]).want(t, exitFindings)
	if !strings.Contains(r.stdout, "\n1 finding: 1 error\nerror cert-expired ") || !strings.Contains(r.stdout, "\n  fix: ") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// TestCertCheckDER: a DER certificate checks as its PEM does, from a file
// or standard input; binary garbage is an input that cannot be parsed
// (exit 2).
func TestCertCheckDER(t *testing.T) {
	files := certFiles(t)
	b, err := os.ReadFile(files["node-good.pem"])
	if err != nil {
		t.Fatal(err)
	}
	var der []byte
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		der = append(der, blk.Bytes...)
	}
	p := write(t, t.TempDir(), "node.cer", der)
	cli(t, "", "cert", "check", "--name", "ucm-pub.example.com", p).want(t, exitOK).
		contains(t, "certificate 1 of 2: CN=ucm-pub.example.com\n", "certificate 2 of 2: CN=Node Issuing CA", "no findings")
	cli(t, string(der), "cert", "check", "--name", "ucm-sub.example.com", "-").want(t, exitFindings).contains(t, "error name-mismatch")
	cli(t, "\x00\x01\x02garbage\xff", "cert", "check").want(t, exitUsage).contains(t, "error cert-unreadable")
	cli(t, string(der[:100]), "cert", "check").want(t, exitUsage).contains(t, "error cert-unreadable", "DER certificate 1")
}
