//go:build !js

package certcheck

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
)

// TestCheckFindingsInFull pins whole findings, message and fix included,
// for a node certificate with every fault that needs no trust store.
func TestCheckFindingsInFull(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ca := testca.New(t, "Test Root CA")
	cert := ca.Issue(t, testca.Options{CommonName: "cucm1.example.com", RSABits: 1024, IsCA: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		NotBefore:   now.Add(-48 * time.Hour), NotAfter: time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)}).Cert
	got := Check(cert, Options{Role: RoleNode, Host: "cucm2.example.com", Now: now})
	want := diag.Findings{
		{Code: CodeCertExpired, Severity: diag.Error, Path: "certificate/notAfter",
			Message: `Tomcat certificate "cucm1.example.com" expired at 2026-02-28T00:00:00Z; it is now 2026-03-01T09:00:00Z`,
			Fix:     renewNode},
		{Code: CodeRSAKeyTooSmall, Severity: diag.Error, Path: "certificate/publicKey",
			Message: `Tomcat certificate "cucm1.example.com" has a 1024-bit RSA key; at least 2048 bits are needed`,
			Fix: "regenerate the Tomcat certificate with a 2048-bit or larger key (Generate CSR, Key Length 2048 or more); on Unified CM, restart the Cisco CallManager service on each node that serves it" +
				" (its OAuth ports present the Tomcat certificate) and refresh the Unified CM servers on Expressway-C; this SDK's programs reload a renewed certificate file without a restart"},
		{Code: CodeCAFlagOnLeaf, Severity: diag.Error, Path: "certificate/basicConstraints",
			Message: `Tomcat certificate "cucm1.example.com" is a CA certificate (basic constraints CA:TRUE), not an end-entity certificate`,
			Fix:     "have the CA issue the Tomcat certificate from an end-entity (web server) template with CA:FALSE; a CA certificate belongs in tomcat-trust"},
		{Code: CodeMissingServerAuthEKU, Severity: diag.Error, Path: "certificate/extKeyUsage",
			Message: `Tomcat certificate "cucm1.example.com" has extended key usages codeSigning but not serverAuth: clients and Expressway-C refuse it as the server on ports 5090 and 5091`,
			Fix:     "have the CA sign the Tomcat CSR with a template that includes TLS Web Server Authentication (serverAuth)"},
		{Code: CodeNoSAN, Severity: diag.Warning, Path: "certificate/subjectAltName",
			Message: `Tomcat certificate "cucm1.example.com" has no DNS or IP subject alternative name; clients match names against SANs, and many (Go, browsers) ignore the CN`,
			Fix:     "regenerate the Tomcat CSR with the node's FQDN (and any name clients dial) as Subject Alternative Names"},
		{Code: CodeNameMismatch, Severity: diag.Error, Path: "certificate/subjectAltName",
			Message: `Tomcat certificate "cucm1.example.com" does not match "cucm2.example.com": it has cucm1.example.com`,
			Fix:     "regenerate the Tomcat certificate with cucm2.example.com as a Subject Alternative Name, or have clients and Expressway-C use a name it has"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("findings:\n%v\nwant:\n%v", got, want)
	}

	// The same certificate as an edge proxy's: other fixes, clientAuth.
	edge := Check(cert, Options{Role: RoleEdgeProxy, Now: now})
	if got := codesAndSeverities(edge); !slices.Equal(got, []string{"error cert-expired", "error rsa-key-too-small", "error ca-flag-on-leaf", "error missing-client-auth-eku", "warning no-san"}) {
		t.Fatalf("edge proxy findings %q", got)
	}
	if edge[0].Fix != renewEdge || !strings.HasPrefix(edge[0].Message, `Expressway-C certificate "cucm1.example.com" expired`) {
		t.Errorf("edge proxy expiry %+v", edge[0])
	}
	if want := `Expressway-C certificate "cucm1.example.com" has extended key usages codeSigning but not clientAuth: the node refuses it from the TLS client on port 5091`; edge[3].Message != want {
		t.Errorf("edge proxy EKU message %q", edge[3].Message)
	}
}

func TestCheckValidityWindows(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ca := testca.New(t, "Test Root CA")
	issue := func(nb, na time.Time) *x509.Certificate {
		return ca.Issue(t, testca.Options{CommonName: "v.example.com", DNSNames: []string{"v.example.com"}, NotBefore: nb, NotAfter: na}).Cert
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		warning time.Duration
		want    []string // "code: message"
	}{
		{"not yet valid", issue(now.Add(time.Hour), now.Add(90*24*time.Hour)), 0,
			[]string{`cert-not-yet-valid: Tomcat certificate "v.example.com" is not valid before 2026-03-01T10:00:00Z; it is now 2026-03-01T09:00:00Z`}},
		{"expiring in 10 days", issue(now.Add(-time.Hour), now.Add(10*24*time.Hour+time.Minute)), 0,
			[]string{`cert-expiring: Tomcat certificate "v.example.com" expires at 2026-03-11T09:01:00Z, in 10 days`}},
		{"expiring in 1 day", issue(now.Add(-time.Hour), now.Add(36*time.Hour)), 0,
			[]string{`cert-expiring: Tomcat certificate "v.example.com" expires at 2026-03-02T21:00:00Z, in 1 day`}},
		{"expiring within a day", issue(now.Add(-time.Hour), now.Add(time.Hour)), 0,
			[]string{`cert-expiring: Tomcat certificate "v.example.com" expires at 2026-03-01T10:00:00Z, in less than a day`}},
		{"at NotAfter exactly", issue(now.Add(-time.Hour), now), 0,
			[]string{`cert-expiring: Tomcat certificate "v.example.com" expires at 2026-03-01T09:00:00Z, in less than a day`}},
		{"outside a shorter warning", issue(now.Add(-time.Hour), now.Add(10*24*time.Hour)), 7 * 24 * time.Hour, nil},
		{"warning off", issue(now.Add(-time.Hour), now.Add(time.Minute)), -1, nil},
		{"default warning, 31 days", issue(now.Add(-time.Hour), now.Add(31*24*time.Hour)), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range Check(tt.cert, Options{Now: now, ExpiryWarning: tt.warning}) {
				got = append(got, f.Code+": "+f.Message)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCheckDefaultsToNow(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "Test Root CA")
	soon := ca.Issue(t, testca.Options{CommonName: "soon.example.com", DNSNames: []string{"soon.example.com"}, NotAfter: time.Now().Add(29 * 24 * time.Hour)}).Cert
	if got := codesAndSeverities(Check(soon, Options{})); !slices.Equal(got, []string{"warning cert-expiring"}) {
		t.Errorf("expiring in 29 days: %q", got)
	}
}

// TestFixtures checks the OpenSSL certificates of testdata at a fixed
// time, read by both parsers, and their chain to the fixtures' root.
func TestFixtures(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		file string
		opts Options
		want []string
	}{
		{"root-ca-rsa2048.pem", Options{}, []string{"error ca-flag-on-leaf", "warning no-san"}},
		{"intermediate-pathlen0-constraints.pem", Options{}, []string{"error ca-flag-on-leaf", "warning no-san"}},
		{"node-rsapss-sha256.pem", Options{Role: RoleNode, Host: "10.10.10.1"}, nil},
		{"node-rsapss-sha256.pem", Options{Role: RoleEdgeProxy, Host: "cucm1.example.com"}, nil},
		{"edge-ecdsa-p384.pem", Options{Role: RoleEdgeProxy, Host: "MRA.example.com."}, nil},
		{"edge-ecdsa-p384.pem", Options{Role: RoleEdgeProxy, Host: "expc2.example.com"}, []string{"error name-mismatch"}},
		{"self-signed-p521.pem", Options{Host: "self521.example.com"}, []string{"warning self-signed-leaf"}},
		{"self-signed-ed25519.pem", Options{Role: RoleEdgeProxy}, []string{"error missing-client-auth-eku", "warning self-signed-leaf"}},
		{"dsa-key-unknown-eku.pem", Options{Role: RoleNode}, []string{"error missing-server-auth-eku"}},
		{"sha1-rsa1024.pem", Options{}, []string{"error rsa-key-too-small", "error sha1-signature"}},
		{"v1-no-extensions.pem", Options{Host: "v1.example.com"}, []string{"warning no-san"}},
		{"names-t61-bmp-ia5-multivalued.pem", Options{Host: "x.cucm.example.com"}, nil},
		{"names-t61-bmp-ia5-multivalued.pem", Options{Host: "2001:db8::2"}, nil},
		{"utctime-1950-to-2049.pem", Options{Host: "span.example.com"}, nil},
		{"expired-2021-edge.pem", Options{Role: RoleEdgeProxy}, []string{"error cert-expired"}},
	}
	for _, tt := range tests {
		data := readFixture(t, tt.file)
		tt.opts.Now = now
		fs, certs, err := CheckPEM(data, tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if got := codesAndSeverities(fs); !slices.Equal(got, tt.want) {
			t.Errorf("%s %+v: %q, want %q", tt.file, tt.opts, got, tt.want)
		}
		lite, err := parseLite(certs[0].Raw)
		if err != nil {
			t.Fatalf("%s: lite parser: %v", tt.file, err)
		}
		if got := CheckCert(lite, tt.opts); !reflect.DeepEqual(got, fs) {
			t.Errorf("%s: lite parser's findings %v, x509's %v", tt.file, got, fs)
		}
	}

	// The chain of the RSA-PSS node certificate to the fixtures' root.
	roots, err := ParsePEM(readFixture(t, "root-ca-rsa2048.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(roots[0])
	for file, want := range map[string][]string{
		"node-rsapss-sha256.pem": chainCodes(),
		"edge-ecdsa-p384.pem":    chainCodes(),
		"self-signed-p521.pem":   append([]string{"warning self-signed-leaf"}, chainCodes("error untrusted-chain")...),
	} {
		fs, _, err := CheckPEM(readFixture(t, file), Options{Now: now, Roots: pool, ExpiryWarning: -1})
		if err != nil {
			t.Fatal(err)
		}
		if got := codesAndSeverities(fs); !slices.Equal(got, want) {
			t.Errorf("%s with the root: %q, want %q", file, got, want)
		}
	}
}

// TestChainNotChecked: with Roots, a certificate crypto/x509 cannot
// read (here a negative serial number, which the lite parser accepts)
// gets chain-not-checked rather than no chain finding.
func TestChainNotChecked(t *testing.T) {
	t.Parallel()
	var der []byte
	for _, s := range corpus(t) {
		if s.name == "synthetic negative serial refused by x509 only" {
			der = s.der
		}
	}
	lite, err := parseLite(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := testca.New(t, "Test Root CA")
	now := lite.NotBefore.Add(time.Hour)
	without := CheckCert(lite, Options{Role: RoleNode, Now: now, ExpiryWarning: -1})
	fs := CheckCert(lite, Options{Role: RoleNode, Now: now, ExpiryWarning: -1, Roots: ca.Pool()})
	if len(without) != 0 {
		t.Fatalf("without Roots: %v", without)
	}
	want := diag.Findings{{Code: CodeChainNotChecked, Severity: diag.Info, Path: "certificate/issuer",
		Message: `Tomcat certificate "synth.example.com": the chain to the trust store is not verified, as crypto/x509 cannot read the certificate (issuer "CN=Corpus Issuing CA,O=sipoauth test")`,
		Fix:     "check the certificate with the sipoauth command, which reports why it cannot be read, and replace it with one that can"}}
	if !reflect.DeepEqual(fs, want) {
		t.Fatalf("got  %#v\nwant %#v", fs, want)
	}
}

// TestSelfSignedRules: the signature decides where it can be verified,
// the key IDs where it cannot.
func TestSelfSignedRules(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(tmpl *x509.Certificate) *x509.Certificate {
		tmpl.SerialNumber = big.NewInt(1)
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	self := mint(&x509.Certificate{Subject: pkix.Name{CommonName: "self.example.com"}})
	if !isSelfSigned(NewCert(self)) {
		t.Error("self-signed ECDSA leaf not detected")
	}
	if ok, verified := checkOwnSignature(self); !verified || !ok {
		t.Errorf("own signature of a self-signed ECDSA leaf: %v %v", ok, verified)
	}
	lite, err := parseLite(self.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if ok, verified := ownSignature(lite); verified != !jsBuild || verified && !ok {
		t.Errorf("own signature of the lite-parsed leaf: %v %v", ok, verified)
	}
	if !isSelfSigned(lite) || !lite.selfIssuedByKeyID() {
		t.Error("lite-parsed self-signed ECDSA leaf not detected by key IDs")
	}
	// A certificate naming itself as issuer but signed by another key
	// with the same name: the signature says no; so do the key IDs when
	// the authority key ID is another key's.
	other := testca.New(t, "impostor.example.com")
	forged := other.Issue(t, testca.Options{CommonName: "impostor.example.com"}).Cert
	forged.RawSubject = forged.RawIssuer
	if isSelfSigned(NewCert(forged)) {
		t.Error("certificate signed by another key taken as self-signed")
	}
	forged.SubjectKeyId = []byte{1, 2, 3}
	if NewCert(forged).selfIssuedByKeyID() {
		t.Errorf("authority key ID %x taken as the subject's %x", forged.AuthorityKeyId, forged.SubjectKeyId)
	}
	forged.AuthorityKeyId = nil
	if !NewCert(forged).selfIssuedByKeyID() {
		t.Error("no authority key ID: the key-ID rule must say self-issued")
	}
}

// chainCodes is what a check with Roots adds.
func chainCodes(want ...string) []string { return want }

func TestRoleString(t *testing.T) {
	t.Parallel()
	for r, want := range map[Role]string{RoleNode: "node", RoleEdgeProxy: "edge proxy", Role(7): "Role(7)"} {
		if got := r.String(); got != want {
			t.Errorf("Role(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}

func TestCodesAreKebabCase(t *testing.T) {
	t.Parallel()
	codes := []string{CodeCertExpired, CodeCertNotYetValid, CodeCertExpiring, CodeRSAKeyTooSmall, CodeSHA1Signature, CodeWeakSignature,
		CodeCAFlagOnLeaf, CodeMissingServerAuthEKU, CodeMissingClientAuthEKU, CodeNoSAN, CodeNameMismatch, CodeSelfSignedLeaf,
		CodeIncompleteChain, CodeUntrustedChain, CodeChainNotChecked}
	seen := make(map[string]bool)
	for _, c := range codes {
		if seen[c] || c == "" || strings.Trim(c, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || strings.Contains(c, "--") || c[0] == '-' || c[len(c)-1] == '-' {
			t.Errorf("code %q", c)
		}
		seen[c] = true
	}
}

// TestRenewFixSaysWhatApplies: a certificate's fix says what puts the new
// one to use on Unified CM or Expressway, and in this SDK's programs.
func TestRenewFixSaysWhatApplies(t *testing.T) {
	t.Parallel()
	for role, want := range map[Role][]string{
		RoleNode:      {"restart the Cisco CallManager service", "refresh the Unified CM servers on Expressway-C", "this SDK's programs reload a renewed certificate file without a restart"},
		RoleEdgeProxy: {"on Expressway-C, restart as it asks and refresh the Unified CM servers", "this SDK's edge proxy reloads a renewed certificate file without a restart"},
	} {
		fix := (&checker{opts: Options{Role: role}}).fix(renewNode, renewEdge)
		for _, w := range want {
			if !strings.Contains(fix, w) {
				t.Errorf("%v: fix %q lacks %q", role, fix, w)
			}
		}
		if strings.Contains(fix, "restart nothing") {
			t.Errorf("%v: %q", role, fix)
		}
	}
}
