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

// ErrDER is matched (errors.Is) by the errors of ParseCerts for a DER
// input; the error names the certificate, counted from 1.
var ErrDER = errors.New("certcheck: DER certificate")

// ParseCerts parses a certificate chain, leaf first, given as a PEM bundle
// (ParsePEMCerts) or as DER: one certificate, or several written one
// after the other, as .cer, .crt and .der files hold them. An input is DER
// when it starts with an ASN.1 SEQUENCE and holds no PEM block.
func ParseCerts(data []byte) ([]*Cert, error) {
	ders, ok := splitDER(data)
	if !ok {
		return ParsePEMCerts(data)
	}
	if len(ders) > MaxPEMCertificates {
		return nil, fmt.Errorf("%w %d: more than %d certificates", ErrDER, MaxPEMCertificates+1, MaxPEMCertificates)
	}
	certs := make([]*Cert, 0, len(ders))
	for i, der := range ders {
		c, err := ParseCert(der)
		if err != nil {
			return nil, fmt.Errorf("%w %d: %w", ErrDER, i+1, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// CheckCerts is CheckPEMCerts for a chain in PEM or DER (ParseCerts).
func CheckCerts(data []byte, opts Options) (diag.Findings, []*Cert, error) {
	certs, err := ParseCerts(data)
	if err != nil {
		return nil, nil, err
	}
	return CheckCert(certs[0], withIntermediates(opts, certs[1:])), certs, nil
}

// splitDER splits data, when it is DER, into its top-level SEQUENCEs. It
// returns ok false for an input that holds a PEM block or does not start
// with a SEQUENCE; a SEQUENCE whose length does not fit is returned whole,
// for the parser to refuse.
func splitDER(data []byte) (ders [][]byte, ok bool) {
	if len(data) < 2 || data[0] != 0x30 || bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, false
	}
	for rest := data; len(rest) > 0; {
		n := derLen(rest)
		if n <= 0 || n > len(rest) || rest[0] != 0x30 {
			return append(ders, rest), true
		}
		ders = append(ders, rest[:n])
		rest = rest[n:]
	}
	return ders, true
}

// derLen returns the length of the DER element that starts b, header
// included, or -1.
func derLen(b []byte) int {
	if len(b) < 2 {
		return -1
	}
	l := int(b[1])
	if l < 0x80 {
		return 2 + l
	}
	k := l & 0x7f
	if k == 0 || k > 4 || len(b) < 2+k {
		return -1
	}
	n := 0
	for _, c := range b[2 : 2+k] {
		n = n<<8 | int(c)
	}
	if n < 0 || n > len(b) {
		return -1
	}
	return 2 + k + n
}
