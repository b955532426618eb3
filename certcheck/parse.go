package certcheck

import "errors"

// ErrMalformedCertificate is matched (errors.Is) by every error of
// ParseCert and, outside builds for js, of Parse.
var ErrMalformedCertificate = errors.New("certcheck: malformed certificate")

// ParseCert parses one DER certificate into a Cert. Outside builds for
// js it reads der with x509.ParseCertificate and describes the result
// with NewCert. In builds for js it is a smaller parser, without crypto/x509
// and the key parsers it pulls in, that fills the same fields.
//
// For a certificate both parsers accept, the fields are equal, except
// that a time written with an offset rather than "Z" is in a zone without
// a name (x509 uses time.Local when the offset is Local's): the instant
// and the offset are the same. The smaller parser accepts some
// certificates x509 refuses, such as an ECDSA key that is not a point on
// its curve or a negative serial number, since it checks only what it
// reads.
//
// The error's text is the parser's; errors.Is(err, ErrMalformedCertificate)
// holds in both builds.
func ParseCert(der []byte) (*Cert, error) {
	cert, err := parseCertDER(der)
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
