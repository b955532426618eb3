//go:build !js

package certcheck

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// diffFields lists the fields of the lite parser's description that
// differ from NewCert's of x509.ParseCertificate's certificate: every
// field of Cert, found by reflection so that a field added later is
// compared too. Slices compare by their elements (nil equals empty),
// times by instant and offset, serial numbers by value.
func diffFields(lite *Cert, std *x509.Certificate) []string {
	want := NewCert(std)
	var d []string
	lv, sv := reflect.ValueOf(lite).Elem(), reflect.ValueOf(want).Elem()
	for i := range lv.NumField() {
		f := lv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		l, s := lv.Field(i).Interface(), sv.Field(i).Interface()
		var equal bool
		switch lf := l.(type) {
		case time.Time:
			equal = sameTime(lf, s.(time.Time))
		case *big.Int:
			sf := s.(*big.Int)
			equal = lf == nil && sf == nil || lf != nil && sf != nil && lf.Cmp(sf) == 0
		default:
			if lv.Field(i).Kind() == reflect.Slice && lv.Field(i).Len() == 0 && sv.Field(i).Len() == 0 {
				equal = true
			} else {
				equal = reflect.DeepEqual(l, s)
			}
		}
		if !equal {
			d = append(d, fmt.Sprintf("%s: lite %v, x509 %v", f.Name, l, s))
		}
	}
	return d
}

// TestDiffFieldsSeesEveryField: a change to any field of a description
// is reported, so that the differential test compares them all.
func TestDiffFieldsSeesEveryField(t *testing.T) {
	t.Parallel()
	std, err := x509.ParseCertificate(corpus(t)[3].der)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffFields(NewCert(std), std); d != nil {
		t.Fatalf("a description differs from itself: %q", d)
	}
	typ := reflect.TypeFor[Cert]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		c := NewCert(std)
		v := reflect.ValueOf(c).Elem().Field(i)
		switch f.Type {
		case reflect.TypeFor[time.Time]():
			v.Set(reflect.ValueOf(c.NotAfter.Add(time.Second)))
		case reflect.TypeFor[*big.Int]():
			v.Set(reflect.ValueOf(big.NewInt(-1)))
		case reflect.TypeFor[pkix.Name]():
			v.Set(reflect.ValueOf(pkix.Name{CommonName: "other"}))
		case reflect.TypeFor[KeyInfo]():
			v.Set(reflect.ValueOf(KeyInfo{Algorithm: "other"}))
		default:
			switch v.Kind() {
			case reflect.Slice:
				v.Set(reflect.Append(reflect.MakeSlice(f.Type, 0, 1), reflect.New(f.Type.Elem()).Elem()))
			case reflect.Bool:
				v.SetBool(!v.Bool())
			case reflect.Int:
				v.SetInt(v.Int() + 1)
			case reflect.String:
				v.SetString(v.String() + "x")
			default:
				t.Fatalf("field %s of type %s: the test does not know how to change it", f.Name, f.Type)
			}
		}
		if d := diffFields(c, std); len(d) != 1 || !strings.HasPrefix(d[0], f.Name+": ") {
			t.Errorf("changed %s: differences %q", f.Name, d)
		}
	}
}

// sameTime compares instants and offsets; the zone's name may differ
// (see Parse).
func sameTime(a, b time.Time) bool {
	_, ao := a.Zone()
	_, bo := b.Zone()
	return a.Equal(b) && ao == bo
}

// differentialOptions are the option sets Check runs with on both
// parsers' certificates: each role, a name from the certificate and one
// it lacks, each CN policy, and times inside and outside its validity.
func differentialOptions(c *x509.Certificate) []Options {
	host := "cucm1.example.com"
	if len(c.DNSNames) > 0 {
		host = c.DNSNames[0]
	} else if len(c.IPAddresses) > 0 {
		host = c.IPAddresses[0].String()
	}
	mid := c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) / 2)
	return []Options{
		{Role: RoleNode, Host: host, Now: mid},
		{Role: RoleEdgeProxy, Host: "other.example.org", Now: c.NotAfter.Add(time.Hour), CommonName: CNAlways},
		{Role: Role(9), Host: c.Subject.CommonName, Now: c.NotBefore.Add(-time.Minute), CommonName: CNNever, ExpiryWarning: -1},
		{Role: RoleNode, Now: c.NotAfter.Add(-time.Hour), ExpiryWarning: 48 * time.Hour},
	}
}

// TestLiteParserMatchesX509 is the differential test: every certificate
// of the corpus is read by both parsers; they must accept and refuse
// the same ones (the synthetic samples named "refused" are refused by
// both), agree on every field Parse documents, and give Check the same
// findings.
func TestLiteParserMatchesX509(t *testing.T) {
	t.Parallel()
	samples := corpus(t)
	accepted, liteOnly := 0, 0
	for _, s := range samples {
		std, stdErr := x509.ParseCertificate(s.der)
		lite, liteErr := parseLite(s.der)
		if wantRefused := strings.Contains(s.name, " refused"); wantRefused != (stdErr != nil) {
			t.Errorf("%s: x509 error %v, want refused %v", s.name, stdErr, wantRefused)
			continue
		}
		if stdErr != nil && liteErr == nil && strings.HasSuffix(s.name, "refused by x509 only") {
			liteOnly++
			continue
		}
		if (stdErr == nil) != (liteErr == nil) {
			t.Errorf("%s: x509 error %v, lite error %v", s.name, stdErr, liteErr)
			continue
		}
		if stdErr != nil {
			if !strings.HasPrefix(liteErr.Error(), "certcheck: malformed certificate: ") {
				t.Errorf("%s: lite error %q", s.name, liteErr)
			}
			continue
		}
		accepted++
		if d := diffFields(lite, std); len(d) > 0 {
			t.Errorf("%s: fields differ:\n%s", s.name, strings.Join(d, "\n"))
			continue
		}
		for i, o := range differentialOptions(std) {
			if l, x := CheckCert(lite, o), Check(std, o); !reflect.DeepEqual(l, x) {
				t.Errorf("%s, options %d: findings differ\nlite %v\nx509 %v", s.name, i, l, x)
			}
		}
		// The js build's self-signed rule (names and key IDs) agrees with
		// the signature on every certificate of the corpus.
		if bytes.Equal(std.RawIssuer, std.RawSubject) {
			if ok, verified := checkOwnSignature(std); verified && ok != lite.selfIssuedByKeyID() {
				t.Errorf("%s: signature says self-signed %v, key IDs say %v", s.name, ok, lite.selfIssuedByKeyID())
			}
		}
	}
	if accepted < 70 {
		t.Errorf("only %d of %d samples accepted by both parsers", accepted, len(samples))
	}
	t.Logf("%d certificates read alike, %d refused by both, %d refused by x509 only", accepted, len(samples)-accepted-liteOnly, liteOnly)
}

// TestLiteParserValues pins some values of the lite parser directly, so
// that a fault shared with the differential test's expectations shows.
func TestLiteParserValues(t *testing.T) {
	t.Parallel()
	byName := make(map[string][]byte)
	for _, s := range corpus(t) {
		byName[s.name] = s.der
	}
	parse := func(name string) *Cert {
		t.Helper()
		der, ok := byName[name]
		if !ok {
			t.Fatalf("no sample %q", name)
		}
		c, err := parseLite(der)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return c
	}
	c := parse("synthetic utc offsets")
	if got := c.NotBefore.UTC().Format(time.RFC3339); got != "2026-01-01T06:30:00Z" {
		t.Errorf("NotBefore %s", got)
	}
	if _, off := c.NotAfter.Zone(); off != -8*3600 || c.NotAfter.UTC().Format(time.RFC3339) != "2027-01-01T07:59:59Z" {
		t.Errorf("NotAfter %v (offset %d)", c.NotAfter, off)
	}
	c = parse("synthetic utc leap day")
	if c.NotBefore.Format(time.DateOnly) != "2000-02-29" || c.NotAfter.Format(time.DateOnly) != "1952-02-29" {
		t.Errorf("leap days %v %v", c.NotBefore, c.NotAfter)
	}
	c = parse("synthetic string types")
	if c.Subject.CommonName != "名前.example.com" {
		t.Errorf("CN %q", c.Subject.CommonName)
	}
	if got := c.Subject.OrganizationalUnit; !slices.Equal(got, []string{"Réseau", "臺北", "0800 123", "voice@example.com", "A*B&C"}) {
		t.Errorf("OUs %q", got)
	}
	for name, want := range map[string]x509.SignatureAlgorithm{
		"synthetic pss sha256 without NULLs": x509.SHA256WithRSAPSS,
		"synthetic pss sha384 with NULLs":    x509.SHA384WithRSAPSS,
		"synthetic pss sha512 trailer 1":     x509.SHA512WithRSAPSS,
		"synthetic pss trailer 2":            x509.UnknownSignatureAlgorithm,
		"synthetic pss wrong salt":           x509.UnknownSignatureAlgorithm,
		"synthetic ed25519 with NULL":        x509.UnknownSignatureAlgorithm,
		"synthetic iso sha1 rsa":             x509.SHA1WithRSA,
		"synthetic md5 rsa":                  x509.MD5WithRSA,
	} {
		if got := parse(name).SignatureAlgorithm; got != want.String() {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	c = parse("synthetic san of every kind")
	if !slices.Equal(c.DNSNames, []string{"a.example.com"}) || !slices.Equal(c.EmailAddresses, []string{"a@example.com"}) ||
		len(c.IPAddresses) != 1 || c.IPAddresses[0].String() != "192.0.2.1" {
		t.Errorf("SANs %q %q %v", c.DNSNames, c.EmailAddresses, c.IPAddresses)
	}
	c = parse("synthetic v2 with unique IDs")
	if c.Version != 2 || c.BasicConstraintsValid || c.KeyUsage != 0 || c.ExtKeyUsage != nil || c.DNSNames != nil || c.SubjectKeyId != nil {
		t.Errorf("version %d, extension fields %+v", c.Version, c)
	}
	c = parse("synthetic basic constraints path length only")
	if !c.BasicConstraintsValid || c.IsCA || c.MaxPathLen != 2 || c.MaxPathLenZero {
		t.Errorf("basic constraints %v %v %d %v", c.BasicConstraintsValid, c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if got := parse("synthetic key usage two bytes").KeyUsage; got != 0x1ff {
		t.Errorf("key usage %#x", got)
	}
	if got := parse("synthetic x25519 key").Key; got != (KeyInfo{Algorithm: "1.3.101.110"}) {
		t.Errorf("x25519: %+v", got)
	}

	if got := parse("synthetic negative serial refused by x509 only").SerialNumber; got.Int64() != -5 {
		t.Errorf("serial %v", got)
	}
}

// TestParseASN1Time compares the time reader with cryptobyte's, which
// x509 uses, on the edges of both formats.
func TestParseASN1Time(t *testing.T) {
	t.Parallel()
	cases := []struct {
		utc  bool
		in   string
		want string // RFC 3339, "" when refused
	}{
		{true, "260101120000Z", "2026-01-01T12:00:00Z"},
		{true, "2601011200Z", "2026-01-01T12:00:00Z"},
		{true, "491231235959Z", "2049-12-31T23:59:59Z"},
		{true, "500101000000Z", "1950-01-01T00:00:00Z"},
		{true, "690101000000Z", "1969-01-01T00:00:00Z"},
		{true, "000229000000Z", "2000-02-29T00:00:00Z"},
		{true, "520229000000Z", "1952-02-29T00:00:00Z"},
		{true, "260101120000+0530", "2026-01-01T12:00:00+05:30"},
		{true, "260101120000-2400", "2026-01-01T12:00:00-24:00"},
		{true, "2601011200+0001", "2026-01-01T12:00:00+00:01"},
		{false, "20260101120000Z", "2026-01-01T12:00:00Z"},
		{false, "99991231235959Z", "9999-12-31T23:59:59Z"},
		{false, "00000101000000Z", "0000-01-01T00:00:00Z"},
		{false, "19000228235959-0100", "1900-02-28T23:59:59-01:00"},
		{true, "500229000000Z", ""},
		{true, "260101120000+0000", ""},
		{true, "260101120000-0000", ""},
		{true, "260101120000+0060", ""},
		{true, "260101120000+2500", ""},
		{true, "260101240000Z", ""},
		{true, "260101236000Z", ""},
		{true, "260101235960Z", ""},
		{true, "261301000000Z", ""},
		{true, "260100000000Z", ""},
		{true, "260431000000Z", ""},
		{true, "260101120000", ""},
		{true, "260101120000z", ""},
		{true, "260101120000.5Z", ""},
		{true, "26010112000Z", ""},
		{true, "2026010112000000Z", ""},
		{true, "260101120000+05", ""},
		{true, "260101120000+05a0", ""},
		{true, "260101120000Z ", ""},
		{true, "", ""},
		{false, "20260101120000.000Z", ""},
		{false, "202601011200Z", ""},
		{false, "19000229000000Z", ""},
		{false, "20260101120000", ""},
	}
	for _, tc := range cases {
		got, ok := parseASN1Time([]byte(tc.in), tc.utc)
		gotS := ""
		if ok {
			gotS = got.Format(time.RFC3339)
		}
		if gotS != tc.want {
			t.Errorf("parseASN1Time(%q, utc %v) = %q, want %q", tc.in, tc.utc, gotS, tc.want)
		}
		if ref, refOK := cryptobyteTime(tc.in, tc.utc); refOK != ok || ok && !sameTime(ref, got) {
			t.Errorf("%q: cryptobyte %v %v, lite %v %v", tc.in, ref, refOK, got, ok)
		}
	}
}

// cryptobyteTime reads s as cryptobyte does for x509.
func cryptobyteTime(s string, utc bool) (time.Time, bool) {
	tag := casn1.GeneralizedTime
	if utc {
		tag = casn1.UTCTime
	}
	var b cryptobyte.Builder
	b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
	der := cryptobyte.String(b.BytesOrPanic())
	var t time.Time
	if utc {
		return t, der.ReadASN1UTCTime(&t)
	}
	return t, der.ReadASN1GeneralizedTime(&t)
}
