package certcheck

import (
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

// keyInfoFromSPKI describes the key of a DER SubjectPublicKeyInfo, with
// info's Algorithm when the algorithm identifier cannot be read. ok is
// false when spki is not a SubjectPublicKeyInfo.
func keyInfoFromSPKI(spki []byte, info KeyInfo) (_ KeyInfo, ok bool) {
	s := cryptobyte.String(spki)
	var ai cryptobyte.String
	var key asn1.BitString
	if !s.ReadASN1(&s, casn1.SEQUENCE) || !s.ReadASN1(&ai, casn1.SEQUENCE) || !s.ReadASN1BitString(&key) {
		return info, false
	}
	oid, params, ok := readAlgorithmIdentifier(ai)
	if !ok {
		return info, true
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
	return info, true
}
