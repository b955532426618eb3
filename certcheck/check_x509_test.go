//go:build !js

package certcheck_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
)

var (
	serverAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientAuth = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
)

// mintCert signs tmpl with parentKey as parent, or self-signs it with a
// new key when parent is nil, for shapes testca does not offer.
func mintCert(tb testing.TB, tmpl, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(mrand.Int64N(1<<62) + 1)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(time.Hour)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert, key
}

// md5Cert returns a certificate whose signature algorithm reads
// md5WithRSAEncryption: Go refuses to sign with MD5, so a SHA-256 one is
// rewritten. Its signature no longer verifies, which parsing does not
// check.
func md5Cert(tb testing.TB, ca *testca.CA) *x509.Certificate {
	tb.Helper()
	leaf := ca.Issue(tb, testca.Options{CommonName: "md5.example.com", DNSNames: []string{"md5.example.com"}, ExtKeyUsage: serverAuth})
	var c struct {
		TBS, Alg asn1.RawValue
		Sig      asn1.BitString
	}
	if _, err := asn1.Unmarshal(leaf.Cert.Raw, &c); err != nil {
		tb.Fatal(err)
	}
	sha256OID, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11})
	md5OID, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4})
	c.TBS = asn1.RawValue{FullBytes: bytes.Replace(c.TBS.FullBytes, sha256OID, md5OID, 1)}
	c.Alg = asn1.RawValue{FullBytes: bytes.Replace(c.Alg.FullBytes, sha256OID, md5OID, 1)}
	der, err := asn1.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	if cert.SignatureAlgorithm != x509.MD5WithRSA {
		tb.Fatalf("signature algorithm %v, want MD5-RSA", cert.SignatureAlgorithm)
	}
	return cert
}

// mappedIPSAN is a SAN extension holding addr as a 16-byte IPv4-mapped
// IPv6 address, which x509.CreateCertificate would shorten to 4 bytes.
func mappedIPSAN(tb testing.TB, addr string) pkix.Extension {
	tb.Helper()
	ip := netip.MustParseAddr(addr)
	mapped := netip.AddrFrom16(ip.As16()).AsSlice()
	val, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 7, Bytes: mapped}})
	if err != nil {
		tb.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: val}
}

func codesAndSeverities(fs diag.Findings) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Severity.String() + " " + f.Code
	}
	return out
}

func TestCheckCases(t *testing.T) {
	t.Parallel()
	now := time.Now()
	root := testca.New(t, "Test Root CA")
	inter := root.Intermediate(t, "Test Issuing CA")
	roots := root.Pool()
	chain := []*x509.Certificate{inter.Cert}
	rsaCA := testca.NewRSA(t, "Test RSA Root CA", 2048)

	// A CA with the root's name but another key: the trust store holds a
	// candidate for the issuer, and it does not verify.
	impostor := testca.New(t, "Test Root CA")
	impostorPool := x509.NewCertPool()
	impostorPool.AddCert(impostor.Cert)

	// A root not in the trust store, and its intermediate.
	otherRoot := testca.New(t, "Other Root CA")
	otherInter := otherRoot.Intermediate(t, "Other Issuing CA")

	// An intermediate signed by the root that has expired.
	expiredInterCert, expiredInterKey := mintCert(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Expired Issuing CA"},
		NotBefore:             now.Add(-48 * time.Hour),
		NotAfter:              now.Add(-24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, root.Cert, root.Key)
	underExpired, _ := mintCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "late.example.com"}, DNSNames: []string{"late.example.com"}, ExtKeyUsage: serverAuth,
	}, expiredInterCert, expiredInterKey)

	selfSigned, _ := mintCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "self.example.com"}, DNSNames: []string{"self.example.com"}, ExtKeyUsage: serverAuth,
		BasicConstraintsValid: true,
	}, nil, nil)
	selfPool := x509.NewCertPool()
	selfPool.AddCert(selfSigned)

	ecdsaSHA1, _ := mintCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "ecsha1.example.com"}, DNSNames: []string{"ecsha1.example.com"}, ExtKeyUsage: serverAuth,
		SignatureAlgorithm: x509.ECDSAWithSHA1,
	}, inter.Cert, inter.Key)

	mapped, _ := mintCert(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "mapped"}, ExtKeyUsage: serverAuth,
		ExtraExtensions: []pkix.Extension{mappedIPSAN(t, "192.0.2.20")},
	}, inter.Cert, inter.Key)
	if len(mapped.IPAddresses) != 1 || len(mapped.IPAddresses[0]) != 16 {
		t.Fatalf("mapped SAN parsed as %v", mapped.IPAddresses)
	}

	issue := func(o testca.Options) *x509.Certificate { return inter.Issue(t, o).Cert }
	node := inter.Server(t, "cucm1.example.com").Cert
	edge := inter.Client(t, "expc1.example.com").Cert
	wildcard := inter.Server(t, "*.example.com").Cert
	ipCert := inter.Issue(t, testca.Options{CommonName: "cucm-ip", IPs: []net.IP{net.ParseIP("192.0.2.10"), net.ParseIP("2001:db8::10")}, ExtKeyUsage: serverAuth}).Cert
	cnOnly := issue(testca.Options{CommonName: "cucm1.example.com", ExtKeyUsage: serverAuth})
	cnAndSAN := issue(testca.Options{CommonName: "exp1.example.com", DNSNames: []string{"other.example.com"}, ExtKeyUsage: serverAuth})

	nodeOpts := certcheck.Options{Role: certcheck.RoleNode, Host: "cucm1.example.com", Roots: roots, Intermediates: chain}

	tests := []struct {
		name string
		cert *x509.Certificate
		opts certcheck.Options
		want []string // "severity code", in order
		msg  string   // in the first finding's message
	}{
		{name: "valid node", cert: node, opts: nodeOpts},
		{name: "valid edge proxy", cert: edge, opts: certcheck.Options{Role: certcheck.RoleEdgeProxy, Host: "expc1.example.com", Roots: roots, Intermediates: chain}},
		{name: "valid without checks", cert: node},

		{name: "expired", cert: issue(testca.Options{CommonName: "old.example.com", DNSNames: []string{"old.example.com"}, ExtKeyUsage: serverAuth,
			NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-30 * time.Minute)}),
			opts: certcheck.Options{Roots: roots, Intermediates: chain, Now: now},
			want: []string{"error cert-expired"}, msg: rfc3339(now.Add(-30 * time.Minute))},
		{name: "not yet valid", cert: issue(testca.Options{CommonName: "new.example.com", DNSNames: []string{"new.example.com"}, ExtKeyUsage: serverAuth,
			NotBefore: now.Add(time.Hour), NotAfter: now.Add(20 * time.Hour)}),
			opts: certcheck.Options{Roots: roots, Intermediates: chain, Now: now, ExpiryWarning: time.Hour},
			want: []string{"error cert-not-yet-valid"}, msg: rfc3339(now.Add(time.Hour))},
		{name: "not yet valid and expiring", cert: issue(testca.Options{CommonName: "new.example.com", DNSNames: []string{"new.example.com"}, ExtKeyUsage: serverAuth,
			NotBefore: now.Add(time.Hour), NotAfter: now.Add(20 * time.Hour)}),
			opts: certcheck.Options{Now: now, ExpiryWarning: 24 * time.Hour},
			want: []string{"error cert-not-yet-valid", "warning cert-expiring"}},
		{name: "expiring", cert: issue(testca.Options{CommonName: "soon.example.com", DNSNames: []string{"soon.example.com"}, ExtKeyUsage: serverAuth,
			NotAfter: now.Add(10*24*time.Hour + time.Minute)}),
			opts: certcheck.Options{Roots: roots, Intermediates: chain, Now: now, ExpiryWarning: certcheck.DefaultExpiryWarning},
			want: []string{"warning cert-expiring"}, msg: "in 10 days"},
		{name: "expiring outside a shorter warning", cert: issue(testca.Options{CommonName: "soon.example.com", DNSNames: []string{"soon.example.com"}, ExtKeyUsage: serverAuth,
			NotAfter: now.Add(10 * 24 * time.Hour)}),
			opts: certcheck.Options{Now: now, ExpiryWarning: 7 * 24 * time.Hour}},
		{name: "expiring warning off", cert: issue(testca.Options{CommonName: "soon.example.com", DNSNames: []string{"soon.example.com"}, ExtKeyUsage: serverAuth,
			NotAfter: now.Add(time.Minute)}),
			opts: certcheck.Options{Now: now, ExpiryWarning: -1}},

		{name: "rsa 1024", cert: issue(testca.Options{CommonName: "weak.example.com", DNSNames: []string{"weak.example.com"}, ExtKeyUsage: serverAuth, RSABits: 1024}),
			want: []string{"error rsa-key-too-small"}, msg: "1024-bit"},
		{name: "rsa 2048", cert: issue(testca.Options{CommonName: "ok.example.com", DNSNames: []string{"ok.example.com"}, ExtKeyUsage: serverAuth, RSABits: 2048})},

		{name: "sha1 rsa", cert: rsaCA.Issue(t, testca.Options{CommonName: "sha1.example.com", DNSNames: []string{"sha1.example.com"}, ExtKeyUsage: serverAuth, SHA1: true}).Cert,
			want: []string{"error sha1-signature"}, msg: "SHA1-RSA"},
		// x509 finds the issuer and refuses the SHA-1 signature: the chain
		// is complete but not trusted.
		{name: "sha1 rsa with roots", cert: rsaCA.Issue(t, testca.Options{CommonName: "sha1.example.com", DNSNames: []string{"sha1.example.com"}, ExtKeyUsage: serverAuth, SHA1: true}).Cert,
			opts: certcheck.Options{Roots: rsaCA.Pool()},
			want: []string{"error sha1-signature", "error untrusted-chain"}},
		{name: "sha1 ecdsa", cert: ecdsaSHA1, want: []string{"error sha1-signature"}, msg: "ECDSA-SHA1"},
		{name: "md5", cert: md5Cert(t, rsaCA), want: []string{"error weak-signature"}, msg: "MD5-RSA"},

		{name: "node without serverAuth", cert: issue(testca.Options{CommonName: "cucm1.example.com", DNSNames: []string{"cucm1.example.com"}, ExtKeyUsage: clientAuth}),
			opts: nodeOpts, want: []string{"error missing-server-auth-eku"}, msg: "clientAuth"},
		{name: "edge proxy without clientAuth", cert: inter.Server(t, "expc1.example.com").Cert,
			opts: certcheck.Options{Role: certcheck.RoleEdgeProxy, Host: "expc1.example.com"}, want: []string{"error missing-client-auth-eku"}, msg: "serverAuth"},
		{name: "edge proxy with an unknown EKU only", cert: issue(testca.Options{CommonName: "expc1.example.com", DNSNames: []string{"expc1.example.com"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}),
			opts: certcheck.Options{Role: certcheck.RoleEdgeProxy}, want: []string{"error missing-client-auth-eku"}, msg: "codeSigning"},
		{name: "node without EKU", cert: issue(testca.Options{CommonName: "cucm1.example.com", DNSNames: []string{"cucm1.example.com"}}), opts: nodeOpts},
		{name: "edge proxy without EKU", cert: issue(testca.Options{CommonName: "expc1.example.com", DNSNames: []string{"expc1.example.com"}}), opts: certcheck.Options{Role: certcheck.RoleEdgeProxy}},
		{name: "edge proxy with anyExtendedKeyUsage", cert: issue(testca.Options{CommonName: "expc1.example.com", DNSNames: []string{"expc1.example.com"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}),
			opts: certcheck.Options{Role: certcheck.RoleEdgeProxy}},

		{name: "ca flag", cert: issue(testca.Options{CommonName: "cucm1.example.com", DNSNames: []string{"cucm1.example.com"}, ExtKeyUsage: serverAuth, IsCA: true}),
			opts: certcheck.Options{Host: "cucm1.example.com"}, want: []string{"error ca-flag-on-leaf"}, msg: "CA:TRUE"},

		{name: "no san, CN matches", cert: cnOnly, opts: certcheck.Options{Host: "cucm1.example.com"}, want: []string{"warning no-san"}, msg: `"cucm1.example.com"`},
		{name: "no san, CN never", cert: cnOnly, opts: certcheck.Options{Host: "cucm1.example.com", CommonName: certcheck.CNNever},
			want: []string{"warning no-san", "error name-mismatch"}},
		{name: "CN ignored when a DNS SAN exists", cert: cnAndSAN, opts: certcheck.Options{Host: "exp1.example.com"},
			want: []string{"error name-mismatch"}, msg: "other.example.com"},
		{name: "CN always", cert: cnAndSAN, opts: certcheck.Options{Host: "exp1.example.com", CommonName: certcheck.CNAlways}},

		{name: "wildcard matches one label", cert: wildcard, opts: certcheck.Options{Host: "exp1.example.com"}},
		{name: "wildcard case and trailing dot", cert: wildcard, opts: certcheck.Options{Host: "EXP1.Example.COM."}},
		{name: "wildcard not two labels", cert: wildcard, opts: certcheck.Options{Host: "a.b.example.com"},
			want: []string{"error name-mismatch"}, msg: `"a.b.example.com": it has *.example.com`},
		{name: "wildcard not the parent", cert: wildcard, opts: certcheck.Options{Host: "example.com"}, want: []string{"error name-mismatch"}},
		{name: "wildcard host is not a wildcard match", cert: wildcard, opts: certcheck.Options{Host: "*.example.com"}, want: []string{"error name-mismatch"}},

		{name: "ipv4 host", cert: ipCert, opts: certcheck.Options{Host: "192.0.2.10"}},
		{name: "ipv4-mapped host", cert: ipCert, opts: certcheck.Options{Host: "::ffff:192.0.2.10"}},
		{name: "ipv6 host in brackets", cert: ipCert, opts: certcheck.Options{Host: "[2001:db8:0::10]"}},
		{name: "other ip", cert: ipCert, opts: certcheck.Options{Host: "192.0.2.11"}, want: []string{"error name-mismatch"}, msg: "192.0.2.10, 2001:db8::10"},
		{name: "dns host vs ip san", cert: ipCert, opts: certcheck.Options{Host: "cucm2.example.com"}, want: []string{"error name-mismatch"}},
		{name: "CN as dns name next to ip sans", cert: ipCert, opts: certcheck.Options{Host: "cucm-ip"}},
		{name: "mapped ip san", cert: mapped, opts: certcheck.Options{Host: "192.0.2.20"}},
		{name: "mapped ip san, mapped host", cert: mapped, opts: certcheck.Options{Host: "::ffff:192.0.2.20"}},

		{name: "intermediate missing", cert: node, opts: certcheck.Options{Host: "cucm1.example.com", Roots: roots},
			want: []string{"error incomplete-chain"}, msg: `issuer "CN=Test Issuing CA,O=sipoauth test"`},
		{name: "root not trusted", cert: otherInter.Server(t, "cucm1.example.com").Cert, opts: certcheck.Options{Roots: roots, Intermediates: []*x509.Certificate{otherInter.Cert}},
			want: []string{"error incomplete-chain"}, msg: `issuer "CN=Other Root CA,O=sipoauth test"`},
		{name: "root offered but not trusted", cert: otherInter.Server(t, "cucm1.example.com").Cert,
			opts: certcheck.Options{Roots: roots, Intermediates: []*x509.Certificate{otherInter.Cert, otherRoot.Cert}},
			want: []string{"error untrusted-chain"}, msg: `chains to "CN=Other Root CA,O=sipoauth test", which is self-issued and not in the trust store`},
		{name: "issuer name trusted with another key", cert: root.Issue(t, testca.Options{CommonName: "cucm1.example.com", DNSNames: []string{"cucm1.example.com"}}).Cert,
			opts: certcheck.Options{Roots: impostorPool}, want: []string{"error untrusted-chain"}, msg: "Test Root CA"},
		{name: "intermediate expired", cert: underExpired, opts: certcheck.Options{Roots: roots, Intermediates: []*x509.Certificate{expiredInterCert}},
			want: []string{"error untrusted-chain"}, msg: "expired"},

		{name: "self-signed", cert: selfSigned, opts: certcheck.Options{Host: "self.example.com"}, want: []string{"warning self-signed-leaf"}},
		{name: "self-signed with roots", cert: selfSigned, opts: certcheck.Options{Roots: roots}, want: []string{"warning self-signed-leaf", "error untrusted-chain"}},
		{name: "self-signed and trusted", cert: selfSigned, opts: certcheck.Options{Roots: selfPool}, want: []string{"warning self-signed-leaf"}},
		{name: "self-signed CA", cert: root.Cert, want: []string{"error ca-flag-on-leaf", "warning no-san"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.ExpiryWarning == 0 {
				tt.opts.ExpiryWarning = 30 * time.Minute // testca leaves live an hour
			}
			fs := certcheck.Check(tt.cert, tt.opts)
			if got := codesAndSeverities(fs); !slices.Equal(got, tt.want) {
				t.Fatalf("findings %q, want %q\n%v", got, tt.want, fs)
			}
			for _, f := range fs {
				if !strings.HasPrefix(f.Path, "certificate/") || f.Message == "" || f.Fix == "" {
					t.Errorf("incomplete finding %+v", f)
				}
				if !strings.Contains(f.Message, tt.cert.Subject.CommonName) {
					t.Errorf("message %q does not name %q", f.Message, tt.cert.Subject.CommonName)
				}
			}
			if tt.msg != "" && !strings.Contains(fs[0].Message, tt.msg) {
				t.Errorf("message %q does not contain %q", fs[0].Message, tt.msg)
			}
		})
	}
}

func TestCheckPathsAndFixes(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := testca.New(t, "Test Root CA")
	cert := ca.Issue(t, testca.Options{CommonName: "cucm1.example.com", RSABits: 1024, IsCA: true, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)}).Cert
	fs := certcheck.Check(cert, certcheck.Options{Role: certcheck.RoleNode, Host: "cucm2.example.com", Now: now})
	want := []string{
		"cert-expired certificate/notAfter",
		"rsa-key-too-small certificate/publicKey",
		"ca-flag-on-leaf certificate/basicConstraints",
		"missing-server-auth-eku certificate/extKeyUsage",
		"no-san certificate/subjectAltName",
		"name-mismatch certificate/subjectAltName",
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Code+" "+f.Path)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, f := range fs {
		if !strings.Contains(f.Fix, "Tomcat") {
			t.Errorf("node fix %q does not speak of the Tomcat certificate", f.Fix)
		}
	}
	edge := certcheck.Check(cert, certcheck.Options{Role: certcheck.RoleEdgeProxy, Now: now})
	for _, f := range edge {
		if !strings.Contains(f.Fix, "Expressway-C") {
			t.Errorf("edge proxy fix %q does not speak of Expressway-C", f.Fix)
		}
	}
	if !strings.Contains(fs[1].Fix, "2048-bit") || !strings.Contains(fs[1].Fix, "restart the Cisco CallManager service") || !strings.Contains(fs[1].Fix, "without a restart") {
		t.Errorf("key fix %q", fs[1].Fix)
	}
}

func TestCheckDefaults(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "Test Root CA")
	// Now defaults to the clock, ExpiryWarning to 30 days.
	soon := ca.Issue(t, testca.Options{CommonName: "soon.example.com", DNSNames: []string{"soon.example.com"}, NotAfter: time.Now().Add(29 * 24 * time.Hour)}).Cert
	later := ca.Issue(t, testca.Options{CommonName: "later.example.com", DNSNames: []string{"later.example.com"}, NotAfter: time.Now().Add(31 * 24 * time.Hour)}).Cert
	if got := codesAndSeverities(certcheck.Check(soon, certcheck.Options{})); !slices.Equal(got, []string{"warning cert-expiring"}) {
		t.Errorf("expiring in 29 days: %q", got)
	}
	if got := certcheck.Check(later, certcheck.Options{}); len(got) != 0 {
		t.Errorf("expiring in 31 days: %v", got)
	}
	expired := ca.Issue(t, testca.Options{CommonName: "old.example.com", DNSNames: []string{"old.example.com"}, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}).Cert
	if got := codesAndSeverities(certcheck.Check(expired, certcheck.Options{})); !slices.Equal(got, []string{"error cert-expired"}) {
		t.Errorf("expired an hour ago: %q", got)
	}
}

func TestCheckPEMBundles(t *testing.T) {
	t.Parallel()
	root := testca.New(t, "Test Root CA")
	inter := root.Intermediate(t, "Test Issuing CA")
	leaf := inter.Server(t, "cucm1.example.com")
	opts := certcheck.Options{Role: certcheck.RoleNode, Host: "cucm1.example.com", Roots: root.Pool(), ExpiryWarning: time.Minute}
	leafPEM := testca.CertPEM(leaf.Cert)
	keyPEM := leaf.KeyPEM()
	junkDER := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
	badBase64 := []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")
	full := leaf.CertPEM()

	good := []struct {
		name string
		in   []byte
		want []string
	}{
		{"leaf and intermediate", full, nil},
		{"text around the blocks", []byte("subject=CN=cucm1.example.com\r\nissuer=CN=Test Issuing CA\r\n" + string(bytes.ReplaceAll(full, []byte("\n"), []byte("\r\n"))) + "\ntrailer\n"), nil},
		{"leaf alone", leafPEM, []string{"error incomplete-chain"}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := checkPEM(tt.in, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := codesAndSeverities(fs); !slices.Equal(got, tt.want) {
				t.Fatalf("findings %q, want %q", got, tt.want)
			}
		})
	}

	many := bytes.Repeat(leafPEM, certcheck.MaxPEMCertificates+1)
	bad := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no PEM block found"},
		{"garbage", []byte("hello, this is not a certificate"), "no PEM block found"},
		{"DER", leaf.Cert.Raw, "no PEM block found"},
		{"private key", append(slices.Clone(leafPEM), keyPEM...), `PEM block 2 is "PRIVATE KEY", not CERTIFICATE: paste certificates only, never a private key`},
		{"request", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0}}), `PEM block 1 is "CERTIFICATE REQUEST", not CERTIFICATE: paste certificates only`},
		{"bad DER", append(slices.Clone(leafPEM), junkDER...), "PEM block 2: x509:"},
		{"bad base64", append(slices.Clone(leafPEM), badBase64...), "PEM block 2 is truncated or malformed"},
		{"bad block before a good one", append(slices.Clone(badBase64), leafPEM...), "PEM block 1 is truncated or malformed"},
		{"truncated", full[:len(leafPEM)+len(full[len(leafPEM):])/2], "PEM block 2 is truncated or malformed"},
		{"no end line", leafPEM[:len(leafPEM)-30], "PEM block 1 is truncated or malformed"},
		{"too many", many, "PEM block 65: more than 64 certificates"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := checkPEM(tt.in, opts)
			if err == nil {
				t.Fatalf("no error; findings %v", fs)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
		})
	}

	t.Run("appends to the caller's intermediates without writing to them", func(t *testing.T) {
		mine := make([]*x509.Certificate, 0, 4)
		o := opts
		o.Intermediates = mine
		fs, err := checkPEM(full, o)
		if err != nil || len(fs) != 0 {
			t.Fatalf("findings %v, error %v", fs, err)
		}
		if spare := mine[:1]; spare[0] != nil {
			t.Fatal("CheckPEM wrote into the caller's slice")
		}
		// An intermediate the caller offers completes a lone leaf.
		o.Intermediates = []*x509.Certificate{inter.Cert}
		if fs, err := checkPEM(leafPEM, o); err != nil || len(fs) != 0 {
			t.Fatalf("findings %v, error %v", fs, err)
		}
	})
}

func FuzzCheckPEMBundle(f *testing.F) {
	root := testca.New(f, "Fuzz Root CA")
	inter := root.Intermediate(f, "Fuzz Issuing CA")
	node := inter.Server(f, "cucm1.example.com", "192.0.2.10")
	edge := inter.Client(f, "*.example.com")
	rsaLeaf := testca.NewRSA(f, "Fuzz RSA CA", 2048).Issue(f, testca.Options{CommonName: "old", RSABits: 1024, SHA1: true, IsCA: true})
	full := node.CertPEM()
	f.Add(full)
	f.Add(edge.CertPEM())
	f.Add(testca.CertPEM(rsaLeaf.Cert))
	f.Add(full[:len(full)/2])
	f.Add(full[:len(full)-10])
	f.Add(append(node.KeyPEM(), full...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	r := mrand.New(mrand.NewPCG(1, 2))
	for range 4 {
		b := make([]byte, 1+r.IntN(512))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	roots := root.Pool()
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, opts := range []certcheck.Options{
			{Role: certcheck.RoleNode, Host: "cucm1.example.com", Roots: roots},
			{Role: certcheck.RoleEdgeProxy, Host: "::ffff:192.0.2.10", Roots: roots, Intermediates: []*x509.Certificate{inter.Cert}, CommonName: certcheck.CNAlways},
		} {
			fs, err := checkPEM(in, opts)
			if err != nil {
				if fs != nil {
					t.Fatalf("findings %v with error %v", fs, err)
				}
				continue
			}
			for _, f := range fs {
				if f.Code == "" || f.Message == "" || !strings.HasPrefix(f.Path, "certificate/") {
					t.Fatalf("incomplete finding %+v", f)
				}
			}
		}
	})
}

// TestValidDNSNameAgreesWithPeerNames: edgetable validates the names of
// its entries with ValidDNSName, and PeerNames normalizes the names
// certificates present; a name one accepts and the other drops would
// never match.
func TestValidDNSNameAgreesWithPeerNames(t *testing.T) {
	t.Parallel()
	names := []string{
		"expc1.example.com", "EXPC1.Example.COM.", "*.mra.example.com", "*.com", "f*.example.com", "a.*.example.com",
		"ok_label.example.com", "bad_label-.example.com", "-bad.example.com", "a..b", ".", "", "single",
		strings.Repeat("a", 63) + ".example.com", strings.Repeat("a", 64) + ".example.com",
		strings.Repeat("abcdefghi.", 25) + "com", strings.Repeat("abcdefghi.", 26) + "com", "é.example.com", "a b.example.com",
	}
	for _, n := range names {
		kept := len(certcheck.PeerNames(&x509.Certificate{DNSNames: []string{n}}, certcheck.CNNever).DNS) == 1
		if got := certcheck.ValidDNSName(n, true); got != kept {
			t.Errorf("%q: ValidDNSName %v, PeerNames keeps it %v", n, got, kept)
		}
		if strings.Contains(n, "*") {
			continue
		}
		matched := certcheck.Names{DNS: []string{strings.ToLower(strings.TrimSuffix(n, "."))}}.MatchesHost(n)
		if got := certcheck.ValidDNSName(n, false); got != matched {
			t.Errorf("%q as a host: validDNSName %v, MatchesHost %v", n, got, matched)
		}
	}
}

// TestCheckPEMErrorType: the error of a bundle without a certificate is a
// *PEMError wrapping ErrNoPEM, with no block to name.
func TestCheckPEMErrorType(t *testing.T) {
	t.Parallel()
	_, _, err := certcheck.CheckPEM([]byte("no certificate here"), certcheck.Options{})
	var pe *certcheck.PEMError
	if !errors.As(err, &pe) || !errors.Is(err, certcheck.ErrNoPEM) || pe.Block != 0 {
		t.Fatalf("error %#v", err)
	}
}

// checkPEM is certcheck.CheckPEM without the certificates, which these
// tests do not look at.
func checkPEM(data []byte, opts certcheck.Options) (diag.Findings, error) {
	fs, _, err := certcheck.CheckPEM(data, opts)
	return fs, err
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
