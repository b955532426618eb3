package certcheck

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"strconv"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// KeyInfo describes a certificate's public key for display.
type KeyInfo struct {
	// Algorithm is "RSA", "ECDSA", "Ed25519" or "DSA", or the algorithm's
	// OID for others.
	Algorithm string `json:"algorithm"`
	// Bits is the RSA modulus, the curve's or the DSA prime's size; 256
	// for Ed25519; 0 when unknown.
	Bits int `json:"bits,omitempty"`
	// Curve is the ECDSA curve: "P-224", "P-256", "P-384" or "P-521".
	Curve string `json:"curve,omitempty"`
}

// String returns e.g. "RSA 2048", "ECDSA P-256" or "Ed25519".
func (k KeyInfo) String() string {
	switch {
	case k.Curve != "":
		return k.Algorithm + " " + k.Curve
	case k.Bits > 0 && k.Algorithm != "Ed25519":
		return k.Algorithm + " " + strconv.Itoa(k.Bits)
	}
	return k.Algorithm
}

// PublicKeyInfo describes cert's public key from its
// RawSubjectPublicKeyInfo, so that it gives the same answer whichever
// parser read cert; for a certificate built without it, it falls back on
// PublicKeyAlgorithm.
func PublicKeyInfo(cert *x509.Certificate) KeyInfo {
	info := KeyInfo{Algorithm: cert.PublicKeyAlgorithm.String()}
	spki := cryptobyte.String(cert.RawSubjectPublicKeyInfo)
	var ai cryptobyte.String
	var key asn1.BitString
	if !spki.ReadASN1(&spki, casn1.SEQUENCE) || !spki.ReadASN1(&ai, casn1.SEQUENCE) || !spki.ReadASN1BitString(&key) {
		if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok && pub.N != nil {
			info.Bits = pub.N.BitLen()
		}
		return info
	}
	oid, params, ok := readAlgorithmIdentifier(ai)
	if !ok {
		return info
	}
	switch {
	case oid.Equal(oidPublicKeyRSA):
		info.Algorithm = "RSA"
		n := new(big.Int)
		s := cryptobyte.String(key.RightAlign())
		if s.ReadASN1(&s, casn1.SEQUENCE) && s.ReadASN1Integer(n) {
			info.Bits = n.BitLen()
		}
	case oid.Equal(oidPublicKeyECDSA):
		info.Algorithm = "ECDSA"
		info.Curve, info.Bits, _ = namedCurve(params)
	case oid.Equal(oidPublicKeyEd25519):
		info.Algorithm, info.Bits = "Ed25519", 256
	case oid.Equal(oidPublicKeyDSA):
		info.Algorithm = "DSA"
		p := new(big.Int)
		s := cryptobyte.String(params)
		if s.ReadASN1(&s, casn1.SEQUENCE) && s.ReadASN1Integer(p) {
			info.Bits = p.BitLen()
		}
	default:
		info.Algorithm = oid.String()
	}
	return info
}
