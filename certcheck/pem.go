package certcheck

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
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

// parsePEM reads the CERTIFICATE blocks of data with parse, by the rules
// ParsePEMCerts documents, at most max of them (no bound but the input's
// size when max is 0).
func parsePEM[T any](data []byte, max int, parse func([]byte) (T, error)) ([]T, error) {
	begin := []byte("-----BEGIN")
	var certs []T
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
		if max > 0 && n > max {
			return nil, &PEMError{Block: n, Err: ErrTooManyCertificates}
		}
		cert, err := parse(b.Bytes)
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

// ParsePEMCerts parses the CERTIFICATE blocks of a PEM bundle, in order,
// with ParseCert. Text around the blocks is ignored, as tools print
// subjects and issuers there. It fails with a *PEMError on the first
// block that cannot be used (truncated or malformed, not a CERTIFICATE,
// not a parsable certificate, or past the MaxPEMCertificates-th), or when
// there is no block at all. Memory is bounded by the input's size.
func ParsePEMCerts(data []byte) ([]*Cert, error) {
	return parsePEM(data, MaxPEMCertificates, ParseCert)
}

// CheckPEMCerts parses a PEM bundle with ParsePEMCerts, the certificate to
// check first and then the intermediates offered with it, and runs
// CheckCert on the first. Outside builds for js, the others are appended
// to opts.Intermediates (the caller's slice is not written to) to verify
// the chain when opts.Roots is set. It returns the findings and the
// parsed certificates, or ParsePEMCerts' error.
func CheckPEMCerts(data []byte, opts Options) (diag.Findings, []*Cert, error) {
	certs, err := ParsePEMCerts(data)
	if err != nil {
		return nil, nil, err
	}
	return CheckCert(certs[0], withIntermediates(opts, certs[1:])), certs, nil
}
