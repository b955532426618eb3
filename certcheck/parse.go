package certcheck

import (
	"crypto/x509"
	"errors"
)

// ErrMalformedCertificate is matched (errors.Is) by every error of Parse.
var ErrMalformedCertificate = errors.New("certcheck: malformed certificate")

// Parse parses one DER certificate. Outside builds for js it is
// x509.ParseCertificate. In builds for js it is a smaller parser, without
// x509.ParseCertificate and the key parsers it pulls in, that fills what
// Check, PeerNames and PublicKeyInfo read and a certificate view shows:
// Raw, RawTBSCertificate, RawSubjectPublicKeyInfo, RawSubject, RawIssuer,
// Version, SerialNumber, Subject, Issuer, NotBefore, NotAfter,
// PublicKeyAlgorithm, PublicKey for RSA (*rsa.PublicKey) and Ed25519
// (ed25519.PublicKey) keys, SignatureAlgorithm, Signature, Extensions,
// BasicConstraintsValid, IsCA, MaxPathLen, MaxPathLenZero, KeyUsage,
// ExtKeyUsage, UnknownExtKeyUsage, DNSNames, EmailAddresses, IPAddresses,
// SubjectKeyId and AuthorityKeyId.
//
// For a certificate both parsers accept, those fields are equal, except
// that a time written with an offset rather than "Z" is in a zone without
// a name (x509 uses time.Local when the offset is Local's): the instant
// and the offset are the same. The smaller parser leaves out the rest:
// PublicKey is nil for ECDSA and DSA keys (PublicKeyInfo reads their
// curve or size), URIs and the extensions no check reads (CRL
// distribution points, policies, name constraints, authority
// information) are not decoded. It accepts some certificates x509
// refuses, such as an ECDSA key that is not a point on its curve, since
// it checks only what it reads.
//
// The error's text is the parser's; errors.Is(err, ErrMalformedCertificate)
// holds in both builds.
func Parse(der []byte) (*x509.Certificate, error) {
	cert, err := parseDER(der)
	if err != nil {
		return nil, &parseError{err}
	}
	return cert, nil
}

// parseError keeps the parser's message and adds ErrMalformedCertificate
// to the chain.
type parseError struct{ err error }

func (e *parseError) Error() string   { return e.err.Error() }
func (e *parseError) Unwrap() []error { return []error{ErrMalformedCertificate, e.err} }
