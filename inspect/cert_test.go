package inspect

import (
	"crypto/x509"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
)

func TestCheckCert(t *testing.T) {
	t.Parallel()
	now := time.Now()
	root := testca.New(t, "Lab Root CA")
	inter := root.Intermediate(t, "Lab Node CA")
	good := inter.Issue(t, testca.Options{CommonName: "cucm-pub.example.com", DNSNames: []string{"cucm-pub.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour)})
	expired := inter.Issue(t, testca.Options{CommonName: "cucm-pub.example.com", DNSNames: []string{"cucm-pub.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})

	cases := []struct {
		name  string
		pem   []byte
		opts  Options
		codes []string
	}{
		{"a node certificate with its intermediate", good.CertPEM(), Options{Host: "cucm-pub.example.com"}, []string{}},
		{"expired", expired.CertPEM(), Options{}, []string{certcheck.CodeCertExpired}},
		{"the name dialed is not in it", good.CertPEM(), Options{Host: "cucm-sub.example.com"}, []string{certcheck.CodeNameMismatch}},
		{"a node certificate used by an edge proxy", good.CertPEM(), Options{Role: "edge"}, []string{certcheck.CodeMissingClientAuthEKU}},
		{"checked a year on", good.CertPEM(), Options{Now: now.Add(366 * 24 * time.Hour)}, []string{certcheck.CodeCertExpired}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Now.IsZero() {
				tc.opts.Now = now
			}
			r, err := Check(KindCert, tc.pem, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Findings.Codes(), tc.codes) {
				t.Fatalf("codes %v, want %v", r.Findings.Codes(), tc.codes)
			}
			// The findings are the certificate checks', word for word.
			role := certcheck.RoleNode
			if tc.opts.Role == "edge" {
				role = certcheck.RoleEdgeProxy
			}
			want, _, err := certcheck.CheckPEMCerts(tc.pem, certcheck.Options{Role: role, Host: tc.opts.Host, Now: tc.opts.Now})
			if err != nil || !reflect.DeepEqual(r.Findings, append(diag.Findings{}, want...)) {
				t.Fatalf("findings %v, certcheck %v (%v)", r.Findings, want, err)
			}
			if len(r.Certs) != 2 || r.Certs[1].Subject != "CN=Lab Node CA,O=sipoauth test" || !r.Certs[1].IsCA {
				t.Fatalf("certs %+v", r.Certs)
			}
		})
	}

	r, err := Check(KindCert, good.CertPEM(), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	want := CertView{
		Subject:            "CN=cucm-pub.example.com",
		Issuer:             "CN=Lab Node CA,O=sipoauth test",
		Serial:             serialString(&certcheck.Cert{SerialNumber: good.Cert.SerialNumber}),
		NotBefore:          good.Cert.NotBefore.UTC(),
		NotAfter:           good.Cert.NotAfter.UTC(),
		DNSNames:           []string{"cucm-pub.example.com"},
		KeyAlgorithm:       "ECDSA",
		KeyBits:            256,
		SignatureAlgorithm: "ECDSA-SHA256",
		ExtKeyUsage:        []string{"serverAuth"},
	}
	if !reflect.DeepEqual(r.Certs[0], want) {
		t.Fatalf("view\n%+v\nwant\n%+v", r.Certs[0], want)
	}
}

func TestCertViewRSA(t *testing.T) {
	t.Parallel()
	r, err := Check(KindCert, readFile(t, "testdata/cert.input"), Options{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Host: "10.10.10.1"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := CertView{
		Subject: "CN=cucm-pub.example.com,O=sipoauth lab", Issuer: "CN=Lab Node CA,O=sipoauth lab", Serial: "5E:8F:5D:3E:29:B4:4B:4C",
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		DNSNames: []string{"cucm-pub.example.com", "cucm-pub"}, IPAddresses: []string{"10.10.10.1"},
		KeyAlgorithm: "RSA", KeyBits: 2048, SignatureAlgorithm: "ECDSA-SHA256", ExtKeyUsage: []string{"serverAuth", "clientAuth"},
	}
	if len(r.Findings) != 0 || len(r.Certs) != 2 || !reflect.DeepEqual(r.Certs[0], leaf) {
		t.Fatalf("findings %v\nleaf %+v\nwant %+v", r.Findings, r.Certs[0], leaf)
	}
	if r.Certs[1].Serial != "10:01" || r.Certs[1].KeyAlgorithm != "ECDSA" || r.Certs[1].KeyBits != 256 || !r.Certs[1].IsCA {
		t.Fatalf("CA %+v", r.Certs[1])
	}
}

func TestCheckCertUnreadable(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, msg string }{
		{"no PEM block", "subject=CN=cucm\n-----", "certcheck: no PEM block found: want -----BEGIN CERTIFICATE-----"},
		{"a private key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
			`certcheck: PEM block 1 is "PRIVATE KEY", not CERTIFICATE: paste certificates only, never a private key`},
		{"truncated", "-----BEGIN CERTIFICATE-----\nMIIB", "certcheck: PEM block 1 is truncated or malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(KindCert, []byte(tc.in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := diag.Findings{{Code: CodeCertUnreadable, Severity: diag.Error, Path: "pem", Message: tc.msg,
				Fix: "paste the certificate as PEM, leaf first, each between -----BEGIN CERTIFICATE----- and -----END CERTIFICATE-----"}}
			if !reflect.DeepEqual(r.Findings, want) || r.Certs != nil {
				t.Fatalf("got %+v", r)
			}
		})
	}
	if _, err := Check(KindCert, []byte("-----BEGIN CERTIFICATE-----"), Options{Role: "phone"}); !errors.Is(err, ErrBadOption) ||
		err.Error() != `inspect: invalid option: role "phone": want node or edge` {
		t.Fatalf("bad role: %v", err)
	}
}

// TestCheckCertDER: a DER chain is detected and checked as its PEM is.
func TestCheckCertDER(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "DER CA")
	leaf := ca.Issue(t, testca.Options{CommonName: "ucm-pub.example.com", DNSNames: []string{"ucm-pub.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotAfter: time.Now().Add(365 * 24 * time.Hour)})
	der := append(append([]byte{}, leaf.Cert.Raw...), ca.Cert.Raw...)
	r, err := Auto(der, Options{Host: "ucm-sub.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindCert || len(r.Certs) != 2 || r.Certs[0].Subject != "CN=ucm-pub.example.com" ||
		!reflect.DeepEqual(r.Findings.Codes(), []string{"name-mismatch"}) {
		t.Fatalf("%+v", r)
	}
}
