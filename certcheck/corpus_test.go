//go:build !js

package certcheck

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/sipoauth/sdk/internal/testca"
)

// sample is a DER certificate of the differential corpus. Synthetic ones
// are rewritten after signing: their signatures do not verify, which
// parsing does not check.
type sample struct {
	name string
	der  []byte
}

var (
	corpusOnce sync.Once
	corpusSet  []sample
)

// corpus returns the certificates both parsers must read alike: testca's
// shapes, templates testca does not offer, the OpenSSL fixtures of
// testdata, every PEM certificate in the module's testdata directories,
// and DER rewritten into encodings neither Go nor OpenSSL writes.
func corpus(tb testing.TB) []sample {
	tb.Helper()
	corpusOnce.Do(func() { corpusSet = buildCorpus(tb) })
	if corpusSet == nil {
		tb.Fatal("corpus could not be built")
	}
	return corpusSet
}

func buildCorpus(tb testing.TB) []sample {
	var out []sample
	add := func(name string, der []byte) { out = append(out, sample{name, der}) }
	now := time.Now()

	root := testca.New(tb, "Corpus Root CA")
	inter := root.Intermediate(tb, "Corpus Issuing CA")
	rsaRoot := testca.NewRSA(tb, "Corpus RSA Root CA", 2048)
	add("testca ecdsa root", root.Cert.Raw)
	add("testca intermediate", inter.Cert.Raw)
	add("testca rsa root", rsaRoot.Cert.Raw)
	add("testca server dns+ip", inter.Server(tb, "cucm1.example.com", "10.10.10.1", "2001:db8::1").Cert.Raw)
	add("testca client wildcard", inter.Client(tb, "*.example.com", "expc1.example.com").Cert.Raw)
	add("testca server no names", inter.Server(tb).Cert.Raw)
	for _, o := range []testca.Options{
		{CommonName: "rsa1024.example.com", DNSNames: []string{"rsa1024.example.com"}, RSABits: 1024},
		{CommonName: "rsa2048.example.com", DNSNames: []string{"rsa2048.example.com"}, RSABits: 2048, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		{CommonName: "sha1.example.com", SHA1: true, RSABits: 1024},
		{CommonName: "ca-leaf.example.com", IsCA: true, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}},
		{CommonName: "expired.example.com", NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)},
		{CommonName: "future.example.com", NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)},
		{CommonName: "ocsp.example.com", OCSPServer: []string{"http://ocsp.example.com"}, IPs: []net.IP{net.ParseIP("192.0.2.1")}},
		{CommonName: "ekus.example.com", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageEmailProtection,
			x509.ExtKeyUsageTimeStamping, x509.ExtKeyUsageOCSPSigning, x509.ExtKeyUsageIPSECEndSystem, x509.ExtKeyUsageIPSECTunnel,
			x509.ExtKeyUsageIPSECUser, x509.ExtKeyUsageMicrosoftServerGatedCrypto, x509.ExtKeyUsageNetscapeServerGatedCrypto,
			x509.ExtKeyUsageMicrosoftCommercialCodeSigning, x509.ExtKeyUsageMicrosoftKernelCodeSigning}},
	} {
		ca := inter
		if o.SHA1 {
			ca = rsaRoot
		}
		add("testca "+o.CommonName, ca.Issue(tb, o).Cert.Raw)
	}

	// Templates testca does not offer.
	rsaKey := rsaRoot.Key
	ed := func() crypto.Signer { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }
	ec := func(c elliptic.Curve) crypto.Signer { k, _ := ecdsa.GenerateKey(c, rand.Reader); return k }
	uri, _ := url.Parse("sip:cucm1.example.com;transport=tls")
	full := pkix.Name{
		Country: []string{"TW"}, Organization: []string{"Example Lab", "Second Org"}, OrganizationalUnit: []string{"Voice"},
		Locality: []string{"Taipei"}, Province: []string{"Taiwan"}, StreetAddress: []string{"1 Example Road"},
		PostalCode: []string{"100"}, SerialNumber: "CUCM-0001", CommonName: "full.example.com",
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: "example"}},
	}
	templates := []struct {
		name   string
		tmpl   x509.Certificate
		key    crypto.Signer // the certificate's key; signed by the intermediate unless self
		self   bool
		parent *testca.CA
	}{
		{name: "ed25519 self-signed leaf", key: ed(), self: true, tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "ed.example.com"}, DNSNames: []string{"ed.example.com"}}},
		{name: "ed25519 leaf", key: ed(), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "ed2.example.com"}}},
		{name: "p384 leaf", key: ec(elliptic.P384()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "p384.example.com"}, DNSNames: []string{"p384.example.com"}}},
		{name: "p521 self-signed", key: ec(elliptic.P521()), self: true, tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "p521.example.com"}, SignatureAlgorithm: x509.ECDSAWithSHA512}},
		{name: "p224 leaf", key: ec(elliptic.P224()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "p224.example.com"}}},
		{name: "rsa-pss sha256", key: ec(elliptic.P256()), parent: rsaRoot, tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "pss.example.com"}, SignatureAlgorithm: x509.SHA256WithRSAPSS}},
		{name: "rsa-pss sha512", key: ec(elliptic.P256()), parent: rsaRoot, tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "pss5.example.com"}, SignatureAlgorithm: x509.SHA512WithRSAPSS}},
		{name: "rsa sha384", key: ec(elliptic.P256()), parent: rsaRoot, tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "sha384.example.com"}, SignatureAlgorithm: x509.SHA384WithRSA}},
		{name: "rsa self-signed leaf", key: rsaKey, self: true, tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "self-rsa.example.com"}, DNSNames: []string{"self-rsa.example.com"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true}},
		{name: "generalized times", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "late.example.com"},
			NotBefore: time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}},
		{name: "times from 1950", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "early.example.com"},
			NotBefore: time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)}},
		{name: "times before 1950", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "ancient.example.com"},
			NotBefore: time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC), NotAfter: time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC)}},
		{name: "all SAN kinds", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: full,
			DNSNames: []string{"full.example.com", "*.full.example.com", "UPPER.Example.COM."}, EmailAddresses: []string{"voice@example.com"},
			IPAddresses: []net.IP{net.ParseIP("10.0.0.1").To4(), net.ParseIP("2001:db8::5"), net.ParseIP("::ffff:192.0.2.9")}, URIs: []*url.URL{uri}}},
		{name: "path length 0 CA", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "Path CA"}, IsCA: true,
			BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}},
		{name: "path length 3 CA with key IDs", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "Path3 CA"}, IsCA: true,
			BasicConstraintsValid: true, MaxPathLen: 3, SubjectKeyId: []byte{1, 2, 3, 4}, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDecipherOnly}},
		{name: "basic constraints without CA", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "bc.example.com"},
			BasicConstraintsValid: true, MaxPathLen: -1}},
		{name: "every key usage", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "ku.example.com"},
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment |
				x509.KeyUsageKeyAgreement | x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageEncipherOnly | x509.KeyUsageDecipherOnly}},
		{name: "unknown EKUs and extensions", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "odd.example.com"},
			ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			UnknownExtKeyUsage: []asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 17}, {1, 2, 3, 4, 5}},
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 9}, Critical: true, Value: []byte{5, 0}},
				{Id: asn1.ObjectIdentifier{1, 2, 3, 10}, Value: []byte{4, 1, 'x'}}},
			CRLDistributionPoints: []string{"http://crl.example.com/x.crl"}, PolicyIdentifiers: []asn1.ObjectIdentifier{{2, 5, 29, 32, 0}},
			PermittedDNSDomains: []string{"example.com"}, IssuingCertificateURL: []string{"http://ca.example.com/ca.crt"}}},
		{name: "empty subject", key: ec(elliptic.P256()), tmpl: x509.Certificate{DNSNames: []string{"nosubject.example.com"}}},
		{name: "big serial", key: ec(elliptic.P256()), tmpl: x509.Certificate{Subject: pkix.Name{CommonName: "serial.example.com"},
			SerialNumber: new(big.Int).Lsh(big.NewInt(1), 158)}},
	}
	for i, tc := range templates {
		tmpl := tc.tmpl
		if tmpl.SerialNumber == nil {
			tmpl.SerialNumber = big.NewInt(int64(1000 + i))
		}
		if tmpl.NotBefore.IsZero() {
			tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
		}
		parent, parentKey := inter.Cert, inter.Key
		if tc.parent != nil {
			parent, parentKey = tc.parent.Cert, tc.parent.Key
		}
		if tc.self {
			parent, parentKey = &tmpl, tc.key
		}
		der, err := x509.CreateCertificate(rand.Reader, &tmpl, parent, tc.key.Public(), parentKey)
		if err != nil {
			tb.Fatalf("%s: %v", tc.name, err)
		}
		add(tc.name, der)
	}
	if k, ok := rsaKey.(*rsa.PrivateKey); !ok || k.N.BitLen() != 2048 {
		tb.Fatal("the RSA root's key is not RSA-2048")
	}

	// Every PEM certificate in the module's testdata directories, the
	// OpenSSL fixtures of this package among them.
	for name, der := range moduleTestdataCertificates(tb) {
		add(name, der)
	}

	out = append(out, synthetic(tb, inter)...)
	return out
}

// moduleTestdataCertificates reads the CERTIFICATE blocks of every file
// under a testdata directory of the module.
func moduleTestdataCertificates(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := make(map[string][]byte)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !containsDir(path, "testdata") {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > 1<<20 {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for n := 1; ; n++ {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				out[fmt.Sprintf("%s#%d", filepath.ToSlash(path), n)] = b.Bytes
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(out) < 13 {
		tb.Fatalf("found %d testdata certificates, want at least this package's 13", len(out))
	}
	return out
}

func containsDir(path, dir string) bool {
	for p := filepath.Dir(path); p != "." && p != ".." && p != "/"; p = filepath.Dir(p) {
		if filepath.Base(p) == dir {
			return true
		}
	}
	return false
}

// certParts are a certificate's elements, each as whole DER, so that a
// test can replace one and put the certificate back together.
type certParts struct {
	version, serial, sigAI, issuer, validity, subject, spki []byte
	tail                                                    []byte // unique IDs and extensions, as they are
	outerAI, signature                                      []byte
}

func splitCert(tb testing.TB, der []byte) certParts {
	tb.Helper()
	var p certParts
	var c, tbs cryptobyte.String
	in := cryptobyte.String(der)
	ok := in.ReadASN1(&c, casn1.SEQUENCE) && c.ReadASN1Element(&tbs, casn1.SEQUENCE) &&
		c.ReadASN1Element((*cryptobyte.String)(&p.outerAI), casn1.SEQUENCE) &&
		c.ReadASN1Element((*cryptobyte.String)(&p.signature), casn1.BIT_STRING) && tbs.ReadASN1(&tbs, casn1.SEQUENCE)
	if ok && tbs.PeekASN1Tag(casn1.Tag(0).Constructed().ContextSpecific()) {
		ok = tbs.ReadASN1Element((*cryptobyte.String)(&p.version), casn1.Tag(0).Constructed().ContextSpecific())
	}
	ok = ok && tbs.ReadASN1Element((*cryptobyte.String)(&p.serial), casn1.INTEGER) &&
		tbs.ReadASN1Element((*cryptobyte.String)(&p.sigAI), casn1.SEQUENCE) &&
		tbs.ReadASN1Element((*cryptobyte.String)(&p.issuer), casn1.SEQUENCE) &&
		tbs.ReadASN1Element((*cryptobyte.String)(&p.validity), casn1.SEQUENCE) &&
		tbs.ReadASN1Element((*cryptobyte.String)(&p.subject), casn1.SEQUENCE) &&
		tbs.ReadASN1Element((*cryptobyte.String)(&p.spki), casn1.SEQUENCE)
	if !ok {
		tb.Fatal("splitCert: not a certificate")
	}
	p.tail = tbs
	return p
}

func (p certParts) der() []byte {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, e := range [][]byte{p.version, p.serial, p.sigAI, p.issuer, p.validity, p.subject, p.spki, p.tail} {
				b.AddBytes(e)
			}
		})
		b.AddBytes(p.outerAI)
		b.AddBytes(p.signature)
	})
	return b.BytesOrPanic()
}

// elem is a DER element of tag holding the elements or bytes given.
func elem(tag casn1.Tag, content ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		for _, c := range content {
			b.AddBytes(c)
		}
	})
	return b.BytesOrPanic()
}

func oidElem(oid asn1.ObjectIdentifier) []byte {
	der, err := asn1.Marshal(oid)
	if err != nil {
		panic(err)
	}
	return der
}

func intElem(n int64) []byte {
	der, err := asn1.Marshal(n)
	if err != nil {
		panic(err)
	}
	return der
}

// synthetic rewrites certificates into encodings neither Go nor OpenSSL
// writes but DER allows, and some both parsers must refuse.
func synthetic(tb testing.TB, inter *testca.CA) []sample {
	tb.Helper()
	base := inter.Server(tb, "synth.example.com", "192.0.2.44").Cert.Raw
	var out []sample
	rewrite := func(name string, edit func(p *certParts)) {
		p := splitCert(tb, base)
		edit(&p)
		out = append(out, sample{"synthetic " + name, p.der()})
	}
	validity := func(nbTag casn1.Tag, nb string, naTag casn1.Tag, na string) func(p *certParts) {
		return func(p *certParts) {
			p.validity = elem(casn1.SEQUENCE, elem(nbTag, []byte(nb)), elem(naTag, []byte(na)))
		}
	}
	utc, gen := casn1.UTCTime, casn1.GeneralizedTime
	rewrite("utc offsets", validity(utc, "260101120000+0530", utc, "261231235959-0800"))
	rewrite("utc minutes", validity(utc, "2601011200Z", utc, "2612312359-0130"))
	rewrite("utc +2400", validity(utc, "260101120000+2400", utc, "991231235959Z"))
	rewrite("generalized offsets", validity(gen, "20260101120000+0100", gen, "99991231235959Z"))
	rewrite("generalized year 0", validity(gen, "00000101000000Z", gen, "00010101000000Z"))
	rewrite("utc leap day", validity(utc, "000229000000Z", utc, "520229000000Z"))
	rewrite("utc +0000 refused", validity(utc, "260101120000+0000", utc, "270101120000Z"))
	rewrite("utc 24h refused", validity(utc, "260101240000Z", utc, "270101120000Z"))
	rewrite("utc fraction refused", validity(utc, "260101120000.5Z", utc, "270101120000Z"))
	rewrite("generalized fraction refused", validity(gen, "20260101120000.5Z", gen, "20270101120000Z"))
	rewrite("utc feb 29 2050 refused", validity(utc, "500229000000Z", utc, "270101120000Z"))

	rewrite("v1", func(p *certParts) { p.version, p.tail = nil, nil })
	rewrite("v2 with unique IDs", func(p *certParts) {
		p.version = elem(casn1.Tag(0).Constructed().ContextSpecific(), intElem(1))
		p.tail = append(elem(casn1.Tag(1).ContextSpecific(), []byte{0, 1}), elem(casn1.Tag(2).ContextSpecific(), []byte{0, 2})...)
	})
	rewrite("v4 refused", func(p *certParts) { p.version = elem(casn1.Tag(0).Constructed().ContextSpecific(), intElem(3)) })
	rewrite("negative serial refused by x509 only", func(p *certParts) { p.serial = intElem(-5) })

	// Names in every string type x509 reads.
	atv := func(oid asn1.ObjectIdentifier, tag casn1.Tag, v []byte) []byte {
		return elem(casn1.SET, elem(casn1.SEQUENCE, oidElem(oid), elem(tag, v)))
	}
	cn, ou := asn1.ObjectIdentifier{2, 5, 4, 3}, asn1.ObjectIdentifier{2, 5, 4, 11}
	rewrite("string types", func(p *certParts) {
		p.subject = elem(casn1.SEQUENCE,
			atv(ou, casn1.T61String, []byte("R\xe9seau")),
			atv(ou, casn1.Tag(asn1.TagBMPString), []byte{0x81, 0xfa, 0x53, 0x17, 0, 0}),
			atv(ou, casn1.Tag(asn1.TagNumericString), []byte("0800 123")),
			atv(ou, casn1.IA5String, []byte("voice@example.com")),
			atv(ou, casn1.PrintableString, []byte("A*B&C")),
			atv(cn, casn1.UTF8String, []byte("名前.example.com")))
	})
	rewrite("bad BMPString refused", func(p *certParts) {
		p.subject = elem(casn1.SEQUENCE, atv(cn, casn1.Tag(asn1.TagBMPString), []byte{0xd8, 0x00}))
	})
	rewrite("bad PrintableString refused", func(p *certParts) { p.subject = elem(casn1.SEQUENCE, atv(cn, casn1.PrintableString, []byte("a@b"))) })
	rewrite("OCTET STRING attribute refused", func(p *certParts) { p.subject = elem(casn1.SEQUENCE, atv(cn, casn1.OCTET_STRING, []byte("x"))) })
	rewrite("self-issued name", func(p *certParts) { p.subject = p.issuer })

	// Signature algorithm identifiers.
	sigAI := func(ai []byte) func(p *certParts) { return func(p *certParts) { p.sigAI, p.outerAI = ai, ai } }
	sha := map[int]asn1.ObjectIdentifier{256: oidSHA256, 384: oidSHA384, 512: oidSHA512}
	pss := func(hash int, hashNull, mgfNull bool, salt int64, trailer []byte) []byte {
		hashAI := [][]byte{oidElem(sha[hash])}
		if hashNull {
			hashAI = append(hashAI, asn1.NullBytes)
		}
		mgfHash := [][]byte{oidElem(sha[hash])}
		if mgfNull {
			mgfHash = append(mgfHash, asn1.NullBytes)
		}
		params := [][]byte{
			elem(casn1.Tag(0).Constructed().ContextSpecific(), elem(casn1.SEQUENCE, hashAI...)),
			elem(casn1.Tag(1).Constructed().ContextSpecific(), elem(casn1.SEQUENCE, oidElem(oidMGF1), elem(casn1.SEQUENCE, mgfHash...))),
			elem(casn1.Tag(2).Constructed().ContextSpecific(), intElem(salt)),
		}
		if trailer != nil {
			params = append(params, trailer)
		}
		return elem(casn1.SEQUENCE, oidElem(oidSignatureRSAPSS), elem(casn1.SEQUENCE, params...))
	}
	trailer := func(n int64) []byte { return elem(casn1.Tag(3).Constructed().ContextSpecific(), intElem(n)) }
	rewrite("pss sha256 without NULLs", sigAI(pss(256, false, false, 32, nil)))
	rewrite("pss sha384 with NULLs", sigAI(pss(384, true, true, 48, nil)))
	rewrite("pss sha512 trailer 1", sigAI(pss(512, true, false, 64, trailer(1))))
	rewrite("pss trailer 2", sigAI(pss(256, true, true, 32, trailer(2))))
	rewrite("pss wrong salt", sigAI(pss(256, true, true, 20, nil)))
	rewrite("pss without params", sigAI(elem(casn1.SEQUENCE, oidElem(oidSignatureRSAPSS))))
	rewrite("ed25519 with NULL", sigAI(elem(casn1.SEQUENCE, oidElem(oidPublicKeyEd25519), asn1.NullBytes)))
	rewrite("unknown signature", sigAI(elem(casn1.SEQUENCE, oidElem(asn1.ObjectIdentifier{1, 2, 3}))))
	rewrite("iso sha1 rsa", sigAI(elem(casn1.SEQUENCE, oidElem(asn1.ObjectIdentifier{1, 3, 14, 3, 2, 29}), asn1.NullBytes)))
	rewrite("md5 rsa", sigAI(elem(casn1.SEQUENCE, oidElem(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}), asn1.NullBytes)))
	rewrite("dsa sha1", sigAI(elem(casn1.SEQUENCE, oidElem(asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}))))
	rewrite("inner and outer differ refused", func(p *certParts) {
		p.outerAI = elem(casn1.SEQUENCE, oidElem(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}))
	})

	// Public keys.
	spki := func(alg []byte, key []byte) func(p *certParts) {
		return func(p *certParts) {
			p.spki = elem(casn1.SEQUENCE, alg, elem(casn1.BIT_STRING, append([]byte{0}, key...)))
		}
	}
	rsaPub := elem(casn1.SEQUENCE, elem(casn1.INTEGER, append([]byte{0}, bytes.Repeat([]byte{0xc1}, 64)...)), intElem(65537))
	rewrite("x25519 key", spki(elem(casn1.SEQUENCE, oidElem(asn1.ObjectIdentifier{1, 3, 101, 110})), bytes.Repeat([]byte{9}, 32)))
	rewrite("rsa 512 key", spki(elem(casn1.SEQUENCE, oidElem(oidPublicKeyRSA), asn1.NullBytes), rsaPub))
	rewrite("rsa key without NULL refused", spki(elem(casn1.SEQUENCE, oidElem(oidPublicKeyRSA)), rsaPub))
	rewrite("rsa negative modulus refused", spki(elem(casn1.SEQUENCE, oidElem(oidPublicKeyRSA), asn1.NullBytes),
		elem(casn1.SEQUENCE, intElem(-7), intElem(3))))
	rewrite("ed25519 short key refused", spki(elem(casn1.SEQUENCE, oidElem(oidPublicKeyEd25519)), []byte{1, 2, 3}))
	rewrite("ecdsa unknown curve refused", spki(elem(casn1.SEQUENCE, oidElem(oidPublicKeyECDSA), oidElem(asn1.ObjectIdentifier{1, 3, 132, 0, 10})), []byte{4, 1, 2}))

	// Extensions.
	exts := func(list ...[]byte) func(p *certParts) {
		return func(p *certParts) {
			p.tail = elem(casn1.Tag(3).Constructed().ContextSpecific(), elem(casn1.SEQUENCE, list...))
		}
	}
	ext := func(id int, critical bool, value []byte) []byte {
		parts := [][]byte{oidElem(asn1.ObjectIdentifier{2, 5, 29, id})}
		if critical {
			parts = append(parts, []byte{1, 1, 0xff})
		}
		return elem(casn1.SEQUENCE, append(parts, elem(casn1.OCTET_STRING, value))...)
	}
	san := func(names ...[]byte) []byte { return elem(casn1.SEQUENCE, names...) }
	ctx := func(n int, v string) []byte { return elem(casn1.Tag(n).ContextSpecific(), []byte(v)) }
	rewrite("san of every kind", exts(ext(17, false, san(ctx(1, "a@example.com"), ctx(2, "a.example.com"), ctx(6, "sip:a.example.com"),
		ctx(7, "\xc0\x00\x02\x01"), elem(casn1.Tag(4).Constructed().ContextSpecific(), elem(casn1.SEQUENCE)), ctx(8, "\x2a\x03")))))
	rewrite("san ip of 5 bytes refused", exts(ext(17, false, san(ctx(7, "\x01\x02\x03\x04\x05")))))
	rewrite("san non-ASCII DNS refused", exts(ext(17, false, san(ctx(2, "é.example.com")))))
	rewrite("empty key IDs", exts(ext(14, false, elem(casn1.OCTET_STRING)),
		ext(35, false, elem(casn1.SEQUENCE, elem(casn1.Tag(0).ContextSpecific())))))
	rewrite("authority key ID without key ID", exts(ext(35, false, elem(casn1.SEQUENCE,
		elem(casn1.Tag(2).ContextSpecific(), []byte{1})))))
	rewrite("basic constraints CA false explicit", exts(ext(19, true, elem(casn1.SEQUENCE, []byte{1, 1, 0}))))
	rewrite("basic constraints path length only", exts(ext(19, true, elem(casn1.SEQUENCE, intElem(2)))))
	rewrite("basic constraints negative path refused", exts(ext(19, true, elem(casn1.SEQUENCE, []byte{1, 1, 0xff}, intElem(-1)))))
	rewrite("key usage one byte", exts(ext(15, true, elem(casn1.BIT_STRING, []byte{7, 0x80}))))
	rewrite("key usage two bytes", exts(ext(15, true, elem(casn1.BIT_STRING, []byte{7, 0xff, 0x80}))))
	rewrite("eku empty", exts(ext(37, false, elem(casn1.SEQUENCE))))
	rewrite("duplicate extension refused", exts(ext(15, true, elem(casn1.BIT_STRING, []byte{7, 0x80})), ext(15, true, elem(casn1.BIT_STRING, []byte{7, 0x80}))))
	rewrite("no extensions in a v3", exts())

	// Trailing data after the certificate.
	out = append(out, sample{"synthetic trailing byte refused", append(bytes.Clone(base), 0)})
	return out
}
