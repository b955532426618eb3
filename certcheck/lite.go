package certcheck

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math"
	"math/big"
	"net/netip"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The lite parser is what ParseCert runs in builds for js. It is built in
// every build so that it is tested against x509.ParseCertificate and
// NewCert.

func malformed(what string) error { return errors.New("certcheck: malformed certificate: " + what) }

// OIDs the lite parser maps to x509's names.
var (
	oidPublicKeyRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidPublicKeyDSA     = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	oidPublicKeyECDSA   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidPublicKeyEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

	oidSignatureRSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// signatureOIDs are the signature algorithms x509 knows by OID alone,
// with the names x509.SignatureAlgorithm's String method gives them;
// RSA-PSS also depends on its parameters.
var signatureOIDs = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}, "MD5-RSA"},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, "SHA1-RSA"},
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 29}, "SHA1-RSA"},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, "SHA256-RSA"},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, "SHA384-RSA"},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, "SHA512-RSA"},
	{asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 3}, "DSA-SHA1"},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 2}, "DSA-SHA256"},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}, "ECDSA-SHA1"},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, "ECDSA-SHA256"},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, "ECDSA-SHA384"},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, "ECDSA-SHA512"},
	{oidPublicKeyEd25519, "Ed25519"},
}

// extKeyUsageOIDs are the extended key usages x509 knows, with the names
// x509.ExtKeyUsage's String method gives them.
var extKeyUsageOIDs = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{asn1.ObjectIdentifier{2, 5, 29, 37, 0}, "anyExtendedKeyUsage"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}, "serverAuth"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}, "clientAuth"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}, "codeSigning"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}, "emailProtection"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 5}, "ipsecEndSystem"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 6}, "ipsecTunnel"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 7}, "ipsecUser"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}, "timeStamping"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}, "OCSPSigning"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 3, 3}, "msSGC"},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 113730, 4, 1}, "nsSGC"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 22}, "msCodeCom"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 61, 1, 1}, "msKernelCode"},
}

// parseLite reads a DER certificate without x509.ParseCertificate.
func parseLite(der []byte) (*Cert, error) {
	cert := &Cert{}
	input := cryptobyte.String(der)
	if !input.ReadASN1Element(&input, casn1.SEQUENCE) {
		return nil, malformed("not a DER SEQUENCE")
	}
	cert.Raw = input
	if len(cert.Raw) != len(der) {
		return nil, malformed("trailing data")
	}
	if !input.ReadASN1(&input, casn1.SEQUENCE) {
		return nil, malformed("not a DER SEQUENCE")
	}

	var tbs cryptobyte.String
	if !input.ReadASN1Element(&tbs, casn1.SEQUENCE) {
		return nil, malformed("tbsCertificate")
	}
	if !tbs.ReadASN1(&tbs, casn1.SEQUENCE) {
		return nil, malformed("tbsCertificate")
	}
	if !tbs.ReadOptionalASN1Integer(&cert.Version, casn1.Tag(0).Constructed().ContextSpecific(), 0) || cert.Version < 0 || cert.Version > 2 {
		return nil, malformed("version")
	}
	// Version counts from 1, as in x509.
	cert.Version++
	cert.SerialNumber = new(big.Int)
	if !tbs.ReadASN1Integer(cert.SerialNumber) {
		return nil, malformed("serial number")
	}

	var sigAI, outerSigAI cryptobyte.String
	if !tbs.ReadASN1(&sigAI, casn1.SEQUENCE) || !input.ReadASN1(&outerSigAI, casn1.SEQUENCE) {
		return nil, malformed("signature algorithm")
	}
	if !bytes.Equal(sigAI, outerSigAI) {
		return nil, malformed("inner and outer signature algorithms differ")
	}
	sigOID, sigParams, ok := readAlgorithmIdentifier(sigAI)
	if !ok {
		return nil, malformed("signature algorithm")
	}
	cert.SignatureAlgorithm = signatureAlgorithm(sigOID, sigParams)

	var err error
	if cert.RawIssuer, err = readName(&tbs, &cert.Issuer, "issuer"); err != nil {
		return nil, err
	}
	var validity cryptobyte.String
	if !tbs.ReadASN1(&validity, casn1.SEQUENCE) ||
		!readTime(&validity, &cert.NotBefore) || !readTime(&validity, &cert.NotAfter) {
		return nil, malformed("validity")
	}
	if cert.RawSubject, err = readName(&tbs, &cert.Subject, "subject"); err != nil {
		return nil, err
	}

	var spki, keyAI cryptobyte.String
	var keyBits asn1.BitString
	if !tbs.ReadASN1Element(&spki, casn1.SEQUENCE) {
		return nil, malformed("subjectPublicKeyInfo")
	}
	rawSPKI := spki
	if !spki.ReadASN1(&spki, casn1.SEQUENCE) || !spki.ReadASN1(&keyAI, casn1.SEQUENCE) || !spki.ReadASN1BitString(&keyBits) {
		return nil, malformed("subjectPublicKeyInfo")
	}
	keyOID, keyParams, ok := readAlgorithmIdentifier(keyAI)
	if !ok {
		return nil, malformed("public key algorithm")
	}
	if err := checkPublicKey(keyOID, keyParams, keyBits.RightAlign()); err != nil {
		return nil, err
	}
	cert.Key, _ = keyInfoFromSPKI(rawSPKI, KeyInfo{})

	if cert.Version > 1 {
		if !tbs.SkipOptionalASN1(casn1.Tag(1).ContextSpecific()) || !tbs.SkipOptionalASN1(casn1.Tag(2).ContextSpecific()) {
			return nil, malformed("unique ID")
		}
	}
	if cert.Version == 3 {
		var exts cryptobyte.String
		var present bool
		if !tbs.ReadOptionalASN1(&exts, &present, casn1.Tag(3).Constructed().ContextSpecific()) {
			return nil, malformed("extensions")
		}
		if present {
			if err := readExtensions(cert, exts); err != nil {
				return nil, err
			}
		}
	}

	var sig asn1.BitString
	if !input.ReadASN1BitString(&sig) {
		return nil, malformed("signature")
	}
	return cert, nil
}

// readAlgorithmIdentifier reads the inside of an AlgorithmIdentifier: the
// OID and, when present, the whole parameters element.
func readAlgorithmIdentifier(ai cryptobyte.String) (asn1.ObjectIdentifier, []byte, bool) {
	var oid asn1.ObjectIdentifier
	if !ai.ReadASN1ObjectIdentifier(&oid) {
		return nil, nil, false
	}
	if ai.Empty() {
		return oid, nil, true
	}
	var params cryptobyte.String
	var tag casn1.Tag
	if !ai.ReadAnyASN1Element(&params, &tag) {
		return nil, nil, false
	}
	return oid, params, true
}

// signatureAlgorithm maps an AlgorithmIdentifier as x509 does: Ed25519
// must have no parameters, RSA-PSS must use the same hash for the message
// and MGF1, a salt as long as the hash, and the default trailer.
func signatureAlgorithm(oid asn1.ObjectIdentifier, params []byte) string {
	if oid.Equal(oidPublicKeyEd25519) && len(params) != 0 {
		return unknownSignatureAlgorithm
	}
	if !oid.Equal(oidSignatureRSAPSS) {
		for _, s := range signatureOIDs {
			if oid.Equal(s.oid) {
				return s.name
			}
		}
		return unknownSignatureAlgorithm
	}
	return pssAlgorithm(params)
}

// pssAlgorithm reads RSASSA-PSS-params (RFC 4055): hash [0], mask
// generation [1] and salt length [2] are required, as x509 requires
// them; the trailer field [3] is 1 when absent.
func pssAlgorithm(params []byte) string {
	s := cryptobyte.String(params)
	var seq, hashField, mgfField, saltField cryptobyte.String
	if !s.ReadASN1(&seq, casn1.SEQUENCE) ||
		!seq.ReadASN1(&hashField, casn1.Tag(0).Constructed().ContextSpecific()) ||
		!seq.ReadASN1(&mgfField, casn1.Tag(1).Constructed().ContextSpecific()) ||
		!seq.ReadASN1(&saltField, casn1.Tag(2).Constructed().ContextSpecific()) {
		return unknownSignatureAlgorithm
	}
	hashOID, hashParams, ok1 := readExplicitAlgorithm(hashField)
	mgfOID, mgfParams, ok2 := readExplicitAlgorithm(mgfField)
	var salt int64
	if !ok1 || !ok2 || !saltField.ReadASN1Int64WithTag(&salt, casn1.INTEGER) || !saltField.Empty() {
		return unknownSignatureAlgorithm
	}
	trailer := int64(1)
	if tag := casn1.Tag(3).Constructed().ContextSpecific(); seq.PeekASN1Tag(tag) {
		var f cryptobyte.String
		if !seq.ReadASN1(&f, tag) || !f.ReadASN1Int64WithTag(&trailer, casn1.INTEGER) || !f.Empty() {
			return unknownSignatureAlgorithm
		}
	}
	// MGF1's parameter is the AlgorithmIdentifier of its hash.
	m := cryptobyte.String(mgfParams)
	var mgfAI cryptobyte.String
	if !m.ReadASN1(&mgfAI, casn1.SEQUENCE) {
		return unknownSignatureAlgorithm
	}
	mgfHashOID, mgfHashParams, ok := readAlgorithmIdentifier(mgfAI)
	nullOrAbsent := func(b []byte) bool { return len(b) == 0 || bytes.Equal(b, asn1.NullBytes) }
	if !ok || !nullOrAbsent(hashParams) || !mgfOID.Equal(oidMGF1) ||
		!mgfHashOID.Equal(hashOID) || !nullOrAbsent(mgfHashParams) || trailer != 1 {
		return unknownSignatureAlgorithm
	}
	switch {
	case hashOID.Equal(oidSHA256) && salt == 32:
		return "SHA256-RSAPSS"
	case hashOID.Equal(oidSHA384) && salt == 48:
		return "SHA384-RSAPSS"
	case hashOID.Equal(oidSHA512) && salt == 64:
		return "SHA512-RSAPSS"
	}
	return unknownSignatureAlgorithm
}

// readExplicitAlgorithm reads an explicitly tagged AlgorithmIdentifier.
func readExplicitAlgorithm(field cryptobyte.String) (asn1.ObjectIdentifier, []byte, bool) {
	var ai cryptobyte.String
	if !field.ReadASN1(&ai, casn1.SEQUENCE) || !field.Empty() {
		return nil, nil, false
	}
	return readAlgorithmIdentifier(ai)
}

// readTime reads a UTCTime or a GeneralizedTime.
func readTime(s *cryptobyte.String, t *time.Time) bool {
	// ReadASN1 consumes an element even when its tag is not the one
	// asked for: peek first.
	utc := s.PeekASN1Tag(casn1.UTCTime)
	tag := casn1.GeneralizedTime
	if utc {
		tag = casn1.UTCTime
	}
	var v cryptobyte.String
	if !s.ReadASN1(&v, tag) {
		return false
	}
	var ok bool
	*t, ok = parseASN1Time(v, utc)
	return ok
}

// parseASN1Time reads the DER forms of UTCTime (YYMMDDhhmm[ss], 1950 to
// 2049) and GeneralizedTime (YYYYMMDDhhmmss), each followed by "Z" or a
// non-zero offset ±hhmm: the forms cryptobyte, and so x509, accept. It
// takes the place of time.Parse, which is large in a js build. A time
// with an offset is in a zone with no name; x509 puts it in time.Local
// when the offset is Local's.
func parseASN1Time(v []byte, utc bool) (time.Time, bool) {
	n := 0
	for n < len(v) && v[n] >= '0' && v[n] <= '9' {
		n++
	}
	d, zone := v[:n], v[n:]
	num := func(i int) int { return int(d[i]-'0')*10 + int(d[i+1]-'0') }
	var year int
	if utc {
		if n != 10 && n != 12 {
			return time.Time{}, false
		}
		if year = 2000 + num(0); year >= 2050 {
			year -= 100
		}
		d = d[2:]
	} else {
		if n != 14 {
			return time.Time{}, false
		}
		year = num(0)*100 + num(2)
		d = d[4:]
	}
	month, day, hour, minute, sec := num(0), num(2), num(4), num(6), 0
	if len(d) == 10 {
		sec = num(8)
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	loc := time.UTC
	switch {
	case len(zone) == 1 && zone[0] == 'Z':
	case len(zone) == 5 && (zone[0] == '+' || zone[0] == '-'):
		for _, c := range zone[1:] {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
		}
		hh, mm := int(zone[1]-'0')*10+int(zone[2]-'0'), int(zone[3]-'0')*10+int(zone[4]-'0')
		// ±0000 is written Z, and x509 refuses a time it would not write
		// back the same.
		if hh > 24 || mm > 59 || hh == 0 && mm == 0 {
			return time.Time{}, false
		}
		off := (hh*60 + mm) * 60
		if zone[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

// daysIn returns the number of days of month in year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// readName reads a Name into name and returns its DER.
func readName(s *cryptobyte.String, name *pkix.Name, what string) ([]byte, error) {
	var raw cryptobyte.String
	if !s.ReadASN1Element(&raw, casn1.SEQUENCE) {
		return nil, malformed(what)
	}
	in := raw
	if !in.ReadASN1(&in, casn1.SEQUENCE) {
		return nil, malformed(what)
	}
	var rdns pkix.RDNSequence
	for !in.Empty() {
		var set cryptobyte.String
		if !in.ReadASN1(&set, casn1.SET) {
			return nil, malformed(what)
		}
		var rdn pkix.RelativeDistinguishedNameSET
		for !set.Empty() {
			var atv, value cryptobyte.String
			var attr pkix.AttributeTypeAndValue
			var tag casn1.Tag
			if !set.ReadASN1(&atv, casn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&attr.Type) || !atv.ReadAnyASN1(&value, &tag) {
				return nil, malformed(what + " attribute")
			}
			str, ok := decodeString(tag, value)
			if !ok {
				return nil, malformed(what + " attribute " + attr.Type.String() + ": unsupported or invalid string")
			}
			attr.Value = str
			rdn = append(rdn, attr)
		}
		rdns = append(rdns, rdn)
	}
	name.FillFromRDNSequence(&rdns)
	return raw, nil
}

// decodeString decodes the ASN.1 string types a Name may use, by the
// rules of x509: T61String read as Latin-1, PrintableString also with '*'
// and '&', BMPString without surrogates or non-characters.
func decodeString(tag casn1.Tag, v []byte) (string, bool) {
	switch tag {
	case casn1.T61String:
		b := make([]byte, 0, len(v))
		for _, c := range v {
			b = utf8.AppendRune(b, rune(c))
		}
		return string(b), true
	case casn1.PrintableString:
		for _, c := range v {
			if !printable(c) {
				return "", false
			}
		}
		return string(v), true
	case casn1.UTF8String:
		return string(v), utf8.Valid(v)
	case casn1.Tag(asn1.TagBMPString):
		if len(v)%2 != 0 {
			return "", false
		}
		if n := len(v); n >= 2 && v[n-1] == 0 && v[n-2] == 0 {
			v = v[:n-2]
		}
		u := make([]uint16, 0, len(v)/2)
		for i := 0; i < len(v); i += 2 {
			p := uint16(v[i])<<8 | uint16(v[i+1])
			if p == 0xfffe || p == 0xffff || p >= 0xfdd0 && p <= 0xfdef || p >= 0xd800 && p <= 0xdfff {
				return "", false
			}
			u = append(u, p)
		}
		return string(utf16.Decode(u)), true
	case casn1.IA5String:
		return string(v), ia5(v)
	case casn1.Tag(asn1.TagNumericString):
		for _, c := range v {
			if !(c >= '0' && c <= '9' || c == ' ') {
				return "", false
			}
		}
		return string(v), true
	}
	return "", false
}

// printable reports whether c may appear in a PrintableString; like x509,
// '*' and '&' are let through, as real certificates carry them.
func printable(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		'\'' <= c && c <= ')' || '+' <= c && c <= '/' ||
		c == ' ' || c == ':' || c == '=' || c == '?' || c == '*' || c == '&'
}

func ia5(v []byte) bool {
	for _, c := range v {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// checkPublicKey applies x509's checks of RSA, ECDSA and Ed25519 keys
// that need no curve arithmetic: RSA with NULL parameters and a positive
// modulus and exponent, ECDSA on a curve x509 supports, Ed25519 without
// parameters and 32 bytes long. Other keys are not checked.
func checkPublicKey(oid asn1.ObjectIdentifier, params, key []byte) error {
	switch {
	case oid.Equal(oidPublicKeyRSA):
		if !bytes.Equal(params, asn1.NullBytes) {
			return malformed("RSA key without NULL parameters")
		}
		n := new(big.Int)
		var e int
		s := cryptobyte.String(key)
		if !s.ReadASN1(&s, casn1.SEQUENCE) || !s.ReadASN1Integer(n) || !s.ReadASN1Integer(&e) {
			return malformed("RSA public key")
		}
		if n.Sign() <= 0 || e <= 0 {
			return malformed("RSA public key is not positive")
		}
	case oid.Equal(oidPublicKeyECDSA):
		if _, _, ok := namedCurve(params); !ok {
			return malformed("ECDSA key on an unsupported curve")
		}
	case oid.Equal(oidPublicKeyEd25519):
		if len(params) != 0 || len(key) != ed25519PublicKeySize {
			return malformed("Ed25519 public key")
		}
	}
	return nil
}

// ed25519PublicKeySize is ed25519.PublicKeySize, without importing
// crypto/ed25519 into builds for js.
const ed25519PublicKeySize = 32

// namedCurve returns the name and size of the curve named by an ECDSA
// key's parameters, for the curves x509 supports.
func namedCurve(params []byte) (string, int, bool) {
	s := cryptobyte.String(params)
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oid) {
		return "", 0, false
	}
	switch {
	case oid.Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 33}):
		return "P-224", 224, true
	case oid.Equal(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}):
		return "P-256", 256, true
	case oid.Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 34}):
		return "P-384", 384, true
	case oid.Equal(asn1.ObjectIdentifier{1, 3, 132, 0, 35}):
		return "P-521", 521, true
	}
	return "", 0, false
}

// readExtensions reads the extensions and the ones the checks use.
func readExtensions(cert *Cert, exts cryptobyte.String) error {
	if !exts.ReadASN1(&exts, casn1.SEQUENCE) {
		return malformed("extensions")
	}
	seen := make(map[string]bool)
	var all []pkix.Extension
	for !exts.Empty() {
		var e, value cryptobyte.String
		var ext pkix.Extension
		if !exts.ReadASN1(&e, casn1.SEQUENCE) || !e.ReadASN1ObjectIdentifier(&ext.Id) {
			return malformed("extension")
		}
		if e.PeekASN1Tag(casn1.BOOLEAN) && !e.ReadASN1Boolean(&ext.Critical) {
			return malformed("extension " + ext.Id.String())
		}
		if !e.ReadASN1(&value, casn1.OCTET_STRING) {
			return malformed("extension " + ext.Id.String())
		}
		ext.Value = value
		id := ext.Id.String()
		if seen[id] {
			return malformed("duplicate extension " + id)
		}
		seen[id] = true
		all = append(all, ext)
	}
	for _, ext := range all {
		if len(ext.Id) != 4 || ext.Id[0] != 2 || ext.Id[1] != 5 || ext.Id[2] != 29 {
			continue
		}
		if !readExtension(cert, ext.Id[3], cryptobyte.String(ext.Value)) {
			return malformed("extension " + ext.Id.String())
		}
	}
	return nil
}

// readExtension reads the value of extension 2.5.29.id into cert when it
// is one the checks or the views use; others are only checked for form.
func readExtension(cert *Cert, id int, v cryptobyte.String) bool {
	switch id {
	case 14: // subject key identifier
		var skid cryptobyte.String
		if !v.ReadASN1(&skid, casn1.OCTET_STRING) {
			return false
		}
		cert.SubjectKeyId = skid
	case 15: // key usage
		var bits asn1.BitString
		if !v.ReadASN1BitString(&bits) {
			return false
		}
		var usage int
		for i := range 9 {
			if bits.At(i) != 0 {
				usage |= 1 << i
			}
		}
		cert.KeyUsage = usage
	case 17: // subject alternative names
		return readSANs(cert, v)
	case 19: // basic constraints
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, casn1.SEQUENCE) {
			return false
		}
		isCA := false
		if seq.PeekASN1Tag(casn1.BOOLEAN) && !seq.ReadASN1Boolean(&isCA) {
			return false
		}
		maxPathLen := -1
		if seq.PeekASN1Tag(casn1.INTEGER) {
			var n uint
			if !seq.ReadASN1Integer(&n) || n > math.MaxInt {
				return false
			}
			maxPathLen = int(n)
		}
		cert.BasicConstraintsValid = true
		cert.IsCA, cert.MaxPathLen, cert.MaxPathLenZero = isCA, maxPathLen, maxPathLen == 0
	case 35: // authority key identifier
		var akid cryptobyte.String
		if !v.ReadASN1(&akid, casn1.SEQUENCE) {
			return false
		}
		if akid.PeekASN1Tag(casn1.Tag(0).ContextSpecific()) {
			if !akid.ReadASN1(&akid, casn1.Tag(0).ContextSpecific()) {
				return false
			}
			cert.AuthorityKeyId = akid
		}
	case 37: // extended key usage
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, casn1.SEQUENCE) {
			return false
		}
	next:
		for !seq.Empty() {
			var oid asn1.ObjectIdentifier
			if !seq.ReadASN1ObjectIdentifier(&oid) {
				return false
			}
			for _, u := range extKeyUsageOIDs {
				if oid.Equal(u.oid) {
					cert.ExtKeyUsage = append(cert.ExtKeyUsage, u.name)
					continue next
				}
			}
			cert.UnknownExtKeyUsage = append(cert.UnknownExtKeyUsage, oid)
		}
	}
	return true
}

// readSANs reads the DNS, email and IP subject alternative names. URIs
// are left out: no check reads them, and url.Parse would add to the js
// binary.
func readSANs(cert *Cert, v cryptobyte.String) bool {
	var seq cryptobyte.String
	if !v.ReadASN1(&seq, casn1.SEQUENCE) {
		return false
	}
	for !seq.Empty() {
		var san cryptobyte.String
		var tag casn1.Tag
		if !seq.ReadAnyASN1(&san, &tag) {
			return false
		}
		switch tag ^ 0x80 {
		case 1: // rfc822Name
			if !ia5(san) {
				return false
			}
			cert.EmailAddresses = append(cert.EmailAddresses, string(san))
		case 2: // dNSName
			if !ia5(san) {
				return false
			}
			cert.DNSNames = append(cert.DNSNames, string(san))
		case 7: // iPAddress
			if len(san) != 4 && len(san) != 16 {
				return false
			}
			ip, _ := netip.AddrFromSlice(san)
			cert.IPAddresses = append(cert.IPAddresses, ip)
		}
	}
	return true
}
