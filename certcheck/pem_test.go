//go:build !js

package certcheck

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
)

func TestCheckPEM(t *testing.T) {
	t.Parallel()
	root := testca.New(t, "Test Root CA")
	inter := root.Intermediate(t, "Test Issuing CA")
	leaf := inter.Server(t, "cucm1.example.com")
	opts := Options{Role: RoleNode, Host: "cucm1.example.com", Roots: root.Pool(), ExpiryWarning: time.Minute}
	full := leaf.CertPEM()

	fs, certs, err := CheckPEM(full, opts)
	if err != nil || !slices.Equal(codesAndSeverities(fs), chainCodes()) {
		t.Fatalf("leaf and intermediate: findings %v, error %v", fs, err)
	}
	if len(certs) != 2 || !certs[0].Equal(leaf.Cert) || !certs[1].Equal(inter.Cert) {
		t.Fatalf("certificates %v", certs)
	}
	framed := []byte("subject=CN=cucm1.example.com\r\nissuer=CN=Test Issuing CA\r\n" + string(bytes.ReplaceAll(full, []byte("\n"), []byte("\r\n"))) + "\ntrailer\n")
	if fs, certs, err := CheckPEM(framed, opts); err != nil || !slices.Equal(codesAndSeverities(fs), chainCodes()) || len(certs) != 2 {
		t.Fatalf("text around the blocks: %v %d %v", fs, len(certs), err)
	}
	fs, _, err = CheckPEM(testca.CertPEM(leaf.Cert), opts)
	if err != nil || !slices.Equal(codesAndSeverities(fs), chainCodes("error incomplete-chain")) {
		t.Fatalf("leaf alone: %v %v", fs, err)
	}

	// The caller's intermediates are extended, never written to.
	mine := make([]*x509.Certificate, 0, 4)
	o := opts
	o.Intermediates = mine
	if fs, _, err := CheckPEM(full, o); err != nil || !slices.Equal(codesAndSeverities(fs), chainCodes()) {
		t.Fatalf("findings %v, error %v", fs, err)
	}
	if spare := mine[:1]; spare[0] != nil {
		t.Fatal("CheckPEM wrote into the caller's slice")
	}
	o.Intermediates = []*x509.Certificate{inter.Cert}
	if fs, _, err := CheckPEM(testca.CertPEM(leaf.Cert), o); err != nil || !slices.Equal(codesAndSeverities(fs), chainCodes()) {
		t.Fatalf("intermediate from the caller: %v %v", fs, err)
	}
}

func TestParsePEMErrors(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "Test Root CA")
	leaf := ca.Server(t, "cucm1.example.com")
	leafPEM := testca.CertPEM(leaf.Cert)
	junk := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
	badBase64 := []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
	two := append(slices.Clone(leafPEM), leafPEM...)
	badDER := "certcheck: PEM block 2: x509: malformed tbs certificate"
	if jsBuild {
		badDER = "certcheck: PEM block 2: malformed certificate: tbsCertificate"
	}
	tests := []struct {
		name  string
		in    []byte
		block int
		cause error
		msg   string
	}{
		{"empty", nil, 0, ErrNoPEM, "certcheck: no PEM block found: want -----BEGIN CERTIFICATE-----"},
		{"DER", leaf.Cert.Raw, 0, ErrNoPEM, "certcheck: no PEM block found: want -----BEGIN CERTIFICATE-----"},
		{"private key", append(slices.Clone(leafPEM), leaf.KeyPEM()...), 2, ErrNotCertificate,
			`certcheck: PEM block 2 is "PRIVATE KEY", not CERTIFICATE: paste certificates only, never a private key`},
		{"request", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0}}), 1, ErrNotCertificate,
			`certcheck: PEM block 1 is "CERTIFICATE REQUEST", not CERTIFICATE: paste certificates only`},
		{"bad DER", append(slices.Clone(leafPEM), junk...), 2, ErrMalformedCertificate, badDER},
		{"bad base64", append(slices.Clone(leafPEM), badBase64...), 2, ErrMalformedPEM, "certcheck: PEM block 2 is truncated or malformed"},
		{"bad block first", append(slices.Clone(badBase64), leafPEM...), 1, ErrMalformedPEM, "certcheck: PEM block 1 is truncated or malformed"},
		{"truncated", two[:len(leafPEM)+len(leafPEM)/2], 2, ErrMalformedPEM, "certcheck: PEM block 2 is truncated or malformed"},
		{"no end line", leafPEM[:len(leafPEM)-30], 1, ErrMalformedPEM, "certcheck: PEM block 1 is truncated or malformed"},
		{"too many", bytes.Repeat(leafPEM, MaxPEMCertificates+1), MaxPEMCertificates + 1, ErrTooManyCertificates,
			"certcheck: PEM block 65: more than 64 certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := ParsePEM(tt.in)
			if certs != nil || err == nil {
				t.Fatalf("certificates %v, error %v", certs, err)
			}
			var pe *PEMError
			if !errors.As(err, &pe) || pe.Block != tt.block || !errors.Is(err, tt.cause) {
				t.Fatalf("error %#v, want block %d and cause %v", err, tt.block, tt.cause)
			}
			if err.Error() != tt.msg {
				t.Fatalf("message %q\nwant    %q", err, tt.msg)
			}
			if fs, certs, cerr := CheckPEM(tt.in, Options{}); fs != nil || certs != nil || cerr.Error() != tt.msg {
				t.Fatalf("CheckPEM: %v %v %v", fs, certs, cerr)
			}
		})
	}
	if certs, err := ParsePEM(bytes.Repeat(leafPEM, MaxPEMCertificates)); err != nil || len(certs) != MaxPEMCertificates {
		t.Fatalf("%d certificates: %d, %v", MaxPEMCertificates, len(certs), err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x02, 0x01, 0x01}, {0x04, 0x00}} {
		c, err := Parse(in)
		if c != nil || !errors.Is(err, ErrMalformedCertificate) {
			t.Errorf("Parse(%x) = %v, %v", in, c, err)
		}
		if _, err := parseLite(in); err == nil {
			t.Errorf("parseLite(%x) accepted", in)
		} else if lerr := (&parseError{err}); !errors.Is(lerr, ErrMalformedCertificate) || lerr.Error() != err.Error() {
			t.Errorf("wrapped lite error %v", lerr)
		}
	}
	if _, err := parseLite([]byte{0x30, 0x03, 0x02, 0x01, 0x01}); err.Error() != "certcheck: malformed certificate: tbsCertificate" {
		t.Errorf("lite error %q", err)
	}
}

// TestParseCertsDER: a chain in DER, one certificate or several one after
// the other, parses as its PEM does; broken DER names the certificate.
func TestParseCertsDER(t *testing.T) {
	ca := testca.New(t, "DER Root CA")
	leaf := ca.Server(t, "cucm1.example.com")
	for name, in := range map[string][]byte{
		"one":   leaf.Cert.Raw,
		"chain": append(append([]byte{}, leaf.Cert.Raw...), ca.Cert.Raw...),
		"pem":   testca.CertPEM(leaf.Cert, ca.Cert),
	} {
		certs, err := ParseCerts(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := 2
		if name == "one" {
			want = 1
		}
		if len(certs) != want || certs[0].Subject.String() != leaf.Cert.Subject.String() {
			t.Errorf("%s: %d certificates, first %v", name, len(certs), certs[0].Subject)
		}
	}
	fs, certs, err := CheckCerts(leaf.Cert.Raw, Options{Role: RoleNode, Host: "cucm2.example.com", Now: leaf.Cert.NotBefore})
	if err != nil || len(certs) != 1 || !slices.ContainsFunc(fs, func(f diag.Finding) bool { return f.Code == CodeNameMismatch }) {
		t.Errorf("CheckCerts: %v %d %v", fs, len(certs), err)
	}
	broken := append(append([]byte{}, leaf.Cert.Raw...), ca.Cert.Raw[:40]...)
	if _, err := ParseCerts(broken); !errors.Is(err, ErrDER) || !errors.Is(err, ErrMalformedCertificate) || !strings.Contains(err.Error(), "DER certificate 2") {
		t.Errorf("broken DER: %v", err)
	}
	if _, err := ParseCerts([]byte("\x00\x01binary")); !errors.Is(err, ErrNoPEM) {
		t.Errorf("binary: %v", err)
	}
}
