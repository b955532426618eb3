package certcheck

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/diag"
)

// jsBuild says the tests run in a build for js (GOOS=js GOARCH=wasm go
// test with go_js_wasm_exec), where ParseCert is the lite parser and
// signatures are not verified.
const jsBuild = runtime.GOOS == "js"

func codesAndSeverities(fs diag.Findings) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Severity.String() + " " + f.Code
	}
	return out
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCheckPEMCerts runs the description API, the one builds for js
// have, on the OpenSSL fixtures: the same findings in both builds.
func TestCheckPEMCerts(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		file string
		opts Options
		want []string
	}{
		{"root-ca-rsa2048.pem", Options{}, []string{"error ca-flag-on-leaf", "warning no-san"}},
		{"node-rsapss-sha256.pem", Options{Role: RoleNode, Host: "10.10.10.1"}, nil},
		{"edge-ecdsa-p384.pem", Options{Role: RoleEdgeProxy, Host: "MRA.example.com."}, nil},
		{"edge-ecdsa-p384.pem", Options{Role: RoleEdgeProxy, Host: "expc2.example.com"}, []string{"error name-mismatch"}},
		{"self-signed-p521.pem", Options{Host: "self521.example.com"}, []string{"warning self-signed-leaf"}},
		{"self-signed-ed25519.pem", Options{Role: RoleEdgeProxy}, []string{"error missing-client-auth-eku", "warning self-signed-leaf"}},
		{"dsa-key-unknown-eku.pem", Options{Role: RoleNode}, []string{"error missing-server-auth-eku"}},
		{"sha1-rsa1024.pem", Options{}, []string{"error rsa-key-too-small", "error sha1-signature"}},
		{"v1-no-extensions.pem", Options{Host: "v1.example.com"}, []string{"warning no-san"}},
		{"names-t61-bmp-ia5-multivalued.pem", Options{Host: "2001:db8::2"}, nil},
		{"expired-2021-edge.pem", Options{Role: RoleEdgeProxy}, []string{"error cert-expired"}},
	}
	for _, tt := range tests {
		tt.opts.Now = now
		fs, certs, err := CheckPEMCerts(readFixture(t, tt.file), tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if got := codesAndSeverities(fs); !slices.Equal(got, tt.want) {
			t.Errorf("%s %+v: %q, want %q", tt.file, tt.opts, got, tt.want)
		}
		if len(certs) != 1 {
			t.Errorf("%s: %d certificates", tt.file, len(certs))
		}
	}
}

// TestCertFields pins the description of two fixtures, field by field.
func TestCertFields(t *testing.T) {
	t.Parallel()
	certs, err := ParsePEMCerts(readFixture(t, "node-rsapss-sha256.pem"))
	if err != nil {
		t.Fatal(err)
	}
	c := certs[0]
	got := []string{
		c.Subject.String(), c.Issuer.String(), c.SerialNumber.Text(16), c.NotAfter.Sub(c.NotBefore).String(),
		c.Key.String(), c.SignatureAlgorithm, strings.Join(c.ExtKeyUsage, ","), strings.Join(c.DNSNames, ","),
		strings.Join(c.EmailAddresses, ","), c.IPAddresses[0].String(),
	}
	want := []string{
		"CN=cucm1.example.com", "CN=Example Lab Root CA,O=Example Lab,C=TW", "291bd5133ff93e2a", "876000h0m0s",
		"RSA 2048", "SHA256-RSAPSS", "serverAuth,clientAuth", "cucm1.example.com",
		"admin@example.com", "10.10.10.1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("node certificate:\ngot  %q\nwant %q", got, want)
	}
	if c.Version != 3 || !c.BasicConstraintsValid || c.IsCA || c.MaxPathLen != -1 || c.KeyUsage != 1|4 || len(c.Raw) == 0 ||
		len(c.RawSubject) == 0 || len(c.RawIssuer) == 0 || c.UnknownExtKeyUsage != nil {
		t.Errorf("node certificate: %+v", c)
	}

	root, err := ParsePEMCerts(readFixture(t, "intermediate-pathlen0-constraints.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if c := root[0]; !c.IsCA || !c.MaxPathLenZero || c.MaxPathLen != 0 || len(c.SubjectKeyId) != 20 || len(c.AuthorityKeyId) != 20 {
		t.Errorf("intermediate: %+v", c)
	}
	if names := certs[0].PeerNames(CNAlways); names.String() != "cucm1.example.com, cucm1.example.com, 10.10.10.1" {
		t.Errorf("PeerNames %q", names)
	}
}

func TestParseCertErrors(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{nil, {0x30}, {0x30, 0x03, 0x02, 0x01, 0x01}, {0x04, 0x00}} {
		c, err := ParseCert(in)
		if c != nil || !errors.Is(err, ErrMalformedCertificate) {
			t.Errorf("ParseCert(%x) = %v, %v", in, c, err)
		}
	}
	// The parser's own words: x509's, or the lite parser's in js.
	_, err := ParseCert([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	want := "x509: malformed tbs certificate"
	if jsBuild {
		want = "certcheck: malformed certificate: tbsCertificate"
	}
	if err == nil || err.Error() != want {
		t.Errorf("ParseCert error %v, want %q", err, want)
	}
	_, err = ParsePEMCerts([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"))
	var pe *PEMError
	if !errors.As(err, &pe) || pe.Block != 1 || !errors.Is(err, ErrNotCertificate) {
		t.Errorf("private key: %v", err)
	}
	if fs, certs, err := CheckPEMCerts(nil, Options{}); fs != nil || certs != nil || !errors.Is(err, ErrNoPEM) {
		t.Errorf("empty input: %v %v %v", fs, certs, err)
	}
}

// FuzzParseCert: ParseCert, the parser of builds for js, never panics,
// returns a description or an error, and CheckCert gives complete
// findings for what it accepts.
func FuzzParseCert(f *testing.F) {
	fixtures, _ := filepath.Glob("testdata/*.pem")
	for _, name := range fixtures {
		certs, err := ParsePEMCerts(readFixture(f, filepath.Base(name)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(certs[0].Raw)
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80})
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseCert(der)
		if (c == nil) == (err == nil) {
			t.Fatalf("description %v, error %v", c, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformedCertificate) {
				t.Fatalf("error %v", err)
			}
			return
		}
		for _, f := range CheckCert(c, Options{Role: RoleEdgeProxy, Host: "cucm1.example.com", Now: now}) {
			if f.Code == "" || f.Message == "" || f.Fix == "" || !strings.HasPrefix(f.Path, "certificate/") {
				t.Fatalf("incomplete finding %+v", f)
			}
		}
		if !reflect.DeepEqual(c.Raw, der) {
			t.Fatalf("Raw is not the input")
		}
	})
}
