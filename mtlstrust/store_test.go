package mtlstrust

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/sipoauth/sdk/internal/testca"
)

func TestTrustStoreFormats(t *testing.T) {
	t.Parallel()
	a, b, c, d := testca.New(t, "A"), testca.New(t, "B"), testca.New(t, "C"), testca.New(t, "D")
	dir := t.TempDir()
	sub := filepath.Join(dir, "certs")
	os.Mkdir(sub, 0o755)
	p12, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{d.Cert}, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"bundle.pem":        append(testca.CertPEM(a.Cert), testca.CertPEM(b.Cert)...),
		"certs/c.der":       c.Cert.Raw,
		"certs/d.p12":       p12,
		"certs/README.txt":  []byte("not a certificate, and ignored"),
		"certs/.hidden.pem": []byte("ignored"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := LoadTrustStorePKCS12([]string{filepath.Join(dir, "bundle.pem"), sub}, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	var cns []string
	for _, c := range ts.Certificates() {
		cns = append(cns, c.Subject.CommonName)
	}
	if strings.Join(cns, ",") != "A,B,C,D" {
		t.Fatalf("certificates %v", cns)
	}
	if _, err := b.Server(t, "x.example.com").Cert.Verify(x509.VerifyOptions{Roots: ts.Pool()}); err != nil {
		t.Fatalf("pool does not verify a B leaf: %v", err)
	}

	// Bad files: an error naming the file and why; the old set stays.
	for name, data := range map[string][]byte{
		"garbage.pem":   []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"),
		"key.pem":       testca.New(t, "K").Server(t, "k").KeyPEM(),
		"random.der":    func() []byte { b := make([]byte, 64); rand.Read(b); return b }(),
		"wrongpass.p12": p12,
		"empty.pem":     nil,
	} {
		bad := filepath.Join(t.TempDir(), name)
		os.WriteFile(bad, data, 0o644)
		_, err := LoadTrustStore(bad)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != bad || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: %v", name, err)
		}
		keep := &TrustStore{paths: []string{bad}}
		keep.set(ts.Certificates())
		if err := keep.Reload(); err == nil || len(keep.Certificates()) != 4 {
			t.Errorf("%s: failed reload changed the store", name)
		}
	}
	if _, err := LoadTrustStore(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := LoadTrustStore(); err == nil {
		t.Fatal("no paths accepted")
	}
	big := filepath.Join(t.TempDir(), "big.pem")
	os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644)
	if _, err := LoadTrustStore(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized file: %v", err)
	}
}

func TestCertSourcePKCS12(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "Node CA")
	inter := ca.Intermediate(t, "Node Issuing CA")
	leaf := inter.Server(t, "cucm-pub.example.com")
	p12, err := pkcs12.Modern.Encode(leaf.Key, leaf.Cert, leaf.Chain, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tomcat.p12")
	os.WriteFile(file, p12, 0o600)
	src, err := LoadCertSourcePKCS12(file, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := src.GetCertificate(nil)
	if c.Leaf.Subject.CommonName != "cucm-pub.example.com" || len(c.Certificate) != 2 {
		t.Fatalf("leaf %s, %d certificates", c.Leaf.Subject, len(c.Certificate))
	}
	if _, err := LoadCertSourcePKCS12(file, "wrong"); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("wrong password: %v", err)
	}
	// A PEM pair whose key is another's is refused.
	other := ca.Server(t, "other")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.pem"), leaf.CertPEM(), 0o600)
	os.WriteFile(filepath.Join(dir, "k.pem"), other.KeyPEM(), 0o600)
	if _, err := LoadCertSource(filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")); err == nil {
		t.Fatal("mismatched key accepted")
	}
	if _, err := NewCertSource(leaf.TLS()); err != nil {
		t.Fatal(err)
	}
}
