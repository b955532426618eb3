package certcheck

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sipoauth/sdk/diag"
)

// Causes of a PEMError, for errors.Is.
var (
	// ErrNoPEM means that the input holds no PEM block at all.
	ErrNoPEM = errors.New("certcheck: no PEM block found")
	// ErrMalformedPEM means that a block is truncated, has no end line,
	// or has broken base64.
	ErrMalformedPEM = errors.New("certcheck: truncated or malformed PEM block")
	// ErrNotCertificate means that a block is not a CERTIFICATE but, for
	// instance, a key or a request.
	ErrNotCertificate = errors.New("certcheck: PEM block is not a certificate")
	// ErrTooManyCertificates means that the bundle has more than
	// MaxPEMCertificates blocks.
	ErrTooManyCertificates = errors.New("certcheck: too many certificates")
)

// PEMError says which block of a PEM bundle cannot be used, and why.
type PEMError struct {
	// Block counts from 1; 0 with ErrNoPEM.
	Block int
	// Type is the block's PEM type, with ErrNotCertificate.
	Type string
	// Err is ErrNoPEM, ErrMalformedPEM, ErrNotCertificate,
	// ErrTooManyCertificates, or the error of Parse (which satisfies
	// errors.Is(err, ErrMalformedCertificate)).
	Err error
}

// Error says what is wrong in words a person pasting a certificate can
// act on.
func (e *PEMError) Error() string {
	switch e.Err {
	case ErrNoPEM:
		return "certcheck: no PEM block found: want -----BEGIN CERTIFICATE-----"
	case ErrMalformedPEM:
		return fmt.Sprintf("certcheck: PEM block %d is truncated or malformed", e.Block)
	case ErrNotCertificate:
		advice := "paste certificates only"
		if strings.Contains(e.Type, "PRIVATE KEY") {
			advice += ", never a private key"
		}
		return fmt.Sprintf("certcheck: PEM block %d is %q, not CERTIFICATE: %s", e.Block, e.Type, advice)
	case ErrTooManyCertificates:
		return fmt.Sprintf("certcheck: PEM block %d: more than %d certificates", e.Block, MaxPEMCertificates)
	}
	return fmt.Sprintf("certcheck: PEM block %d: %s", e.Block, strings.TrimPrefix(e.Err.Error(), "certcheck: "))
}

// Unwrap returns the cause.
func (e *PEMError) Unwrap() error { return e.Err }

// ParsePEM parses the CERTIFICATE blocks of a PEM bundle, in order, with
// Parse. Text around the blocks is ignored, as tools print subjects and
// issuers there. It fails with a *PEMError on the first block that cannot
// be used (truncated or malformed, not a CERTIFICATE, not a parsable
// certificate, or past the MaxPEMCertificates-th), or when there is no
// block at all. Memory is bounded by the input's size.
func ParsePEM(data []byte) ([]*x509.Certificate, error) {
	begin := []byte("-----BEGIN")
	var certs []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		i := bytes.Index(rest, begin)
		if i < 0 {
			break
		}
		// pem.Decode skips a block it cannot read and returns the next
		// one: a block is taken only if it is the one that starts at i, so
		// that no certificate of the bundle is silently lost.
		b, after := pem.Decode(rest[i:])
		if b == nil || bytes.Count(rest[i:len(rest)-len(after)], begin) != 1 {
			return nil, &PEMError{Block: n, Err: ErrMalformedPEM}
		}
		rest = after
		if b.Type != "CERTIFICATE" {
			return nil, &PEMError{Block: n, Type: b.Type, Err: ErrNotCertificate}
		}
		if n > MaxPEMCertificates {
			return nil, &PEMError{Block: n, Err: ErrTooManyCertificates}
		}
		cert, err := Parse(b.Bytes)
		if err != nil {
			return nil, &PEMError{Block: n, Err: err}
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, &PEMError{Err: ErrNoPEM}
	}
	return certs, nil
}

// CheckPEM parses a PEM bundle with ParsePEM, the certificate to check
// first and then the intermediates offered with it, and runs Check on the
// first with the others appended to opts.Intermediates (the caller's
// slice is not written to). It returns the findings and the parsed
// certificates, or ParsePEM's error.
func CheckPEM(data []byte, opts Options) (diag.Findings, []*x509.Certificate, error) {
	certs, err := ParsePEM(data)
	if err != nil {
		return nil, nil, err
	}
	opts.Intermediates = append(slices.Clip(opts.Intermediates), certs[1:]...)
	return Check(certs[0], opts), certs, nil
}
