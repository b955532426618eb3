package certcheck

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/netip"
	"time"
)

// Cert describes a certificate by what the checks read and a certificate
// view shows. It is what CheckCert runs on in every build; builds for js
// know certificates only as Cert, which keeps crypto/x509 and the key
// and signature code it keeps alive out of the browser's binary. Outside
// builds for js, NewCert makes one from an *x509.Certificate.
//
// Slices and the serial number may be shared with the certificate it was
// made from: treat them as read-only.
type Cert struct {
	// Raw is the whole certificate in DER.
	Raw []byte
	// RawSubject and RawIssuer are the DER of the subject and issuer
	// names.
	RawSubject, RawIssuer []byte
	// Version is 1, 2 or 3, as in x509.
	Version int
	// SerialNumber is the serial number.
	SerialNumber *big.Int
	// Subject and Issuer are the names, whose String method gives the
	// same text as for an *x509.Certificate.
	Subject, Issuer pkix.Name
	// NotBefore and NotAfter bound the validity period.
	NotBefore, NotAfter time.Time
	// Key describes the public key, as PublicKeyInfo does.
	Key KeyInfo
	// SignatureAlgorithm is the name x509.SignatureAlgorithm's String
	// method gives the signature algorithm, e.g. "SHA256-RSA",
	// "ECDSA-SHA256" or "SHA256-RSAPSS"; "0" for an algorithm x509 does
	// not know.
	SignatureAlgorithm string
	// BasicConstraintsValid says that the basic constraints extension is
	// present; IsCA, MaxPathLen and MaxPathLenZero are its values, as in
	// x509 (MaxPathLen is -1 when the extension has no path length).
	BasicConstraintsValid, IsCA bool
	MaxPathLen                  int
	MaxPathLenZero              bool
	// KeyUsage holds the key usage bits as x509.KeyUsage does: bit 0 is
	// digitalSignature, bit 8 decipherOnly.
	KeyUsage int
	// ExtKeyUsage are the extended key usages x509 knows, in the
	// certificate's order, by the names x509.ExtKeyUsage's String method
	// gives them: "serverAuth", "clientAuth", "anyExtendedKeyUsage", ...
	ExtKeyUsage []string
	// UnknownExtKeyUsage are the other extended key usages, in order.
	UnknownExtKeyUsage []asn1.ObjectIdentifier
	// DNSNames, EmailAddresses and IPAddresses are the subject
	// alternative names of those kinds, in order. An address keeps the
	// length it has in the certificate: 16-byte IPv4-mapped addresses
	// stay IPv6.
	DNSNames       []string
	EmailAddresses []string
	IPAddresses    []netip.Addr
	// SubjectKeyId and AuthorityKeyId are the key identifiers.
	SubjectKeyId, AuthorityKeyId []byte

	// std is the *x509.Certificate the description was made from, outside
	// builds for js; nil otherwise.
	//lint:ignore U1000 read outside builds for js only
	std any
}

// Names of x509.ExtKeyUsage values the checks use.
const (
	ekuAny        = "anyExtendedKeyUsage"
	ekuServerAuth = "serverAuth"
	ekuClientAuth = "clientAuth"
)

// unknownSignatureAlgorithm is the name x509 gives a signature algorithm
// it does not know (x509.UnknownSignatureAlgorithm).
const unknownSignatureAlgorithm = "0"

// PeerNames returns the names c presents under policy, by the rules of
// the package's PeerNames.
func (c *Cert) PeerNames(policy CommonNamePolicy) Names {
	n := peerNames(c.DNSNames, c.Subject.CommonName, policy)
	for _, a := range c.IPAddresses {
		n.IPs = append(n.IPs, a.Unmap())
	}
	return n
}

// selfIssuedByKeyID is the test for self-signed certificates whose
// signature is not verified: an authority key ID, when present, must be
// the certificate's own subject key ID. It assumes the issuer name has
// been compared already.
func (c *Cert) selfIssuedByKeyID() bool {
	return len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}
