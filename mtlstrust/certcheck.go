package mtlstrust

import (
	"crypto/x509"
	"time"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/diag"
)

// The certificate checks live in package certcheck, which the browser
// inspector can carry; these names keep them where callers of mtlstrust
// find them.

// Role says what a checked certificate is for: certcheck.Role.
type Role = certcheck.Role

const (
	// RoleNode is the node's server ("Tomcat") certificate, presented on
	// ports 5090 and 5091: it needs serverAuth.
	RoleNode = certcheck.RoleNode
	// RoleEdgeProxy is an edge proxy's (Expressway-C's) certificate: it
	// needs clientAuth, because the proxy is the TLS client on port 5091.
	RoleEdgeProxy = certcheck.RoleEdgeProxy
)

// Finding codes of CheckCertificate, stable across releases; the same
// strings as certcheck's.
const (
	CodeCertExpired          = certcheck.CodeCertExpired
	CodeCertNotYetValid      = certcheck.CodeCertNotYetValid
	CodeCertExpiring         = certcheck.CodeCertExpiring
	CodeRSAKeyTooSmall       = certcheck.CodeRSAKeyTooSmall
	CodeSHA1Signature        = certcheck.CodeSHA1Signature
	CodeWeakSignature        = certcheck.CodeWeakSignature
	CodeCAFlagOnLeaf         = certcheck.CodeCAFlagOnLeaf
	CodeMissingServerAuthEKU = certcheck.CodeMissingServerAuthEKU
	CodeMissingClientAuthEKU = certcheck.CodeMissingClientAuthEKU
	CodeNoSAN                = certcheck.CodeNoSAN
	CodeNameMismatch         = certcheck.CodeNameMismatch
	CodeSelfSignedLeaf       = certcheck.CodeSelfSignedLeaf
	CodeIncompleteChain      = certcheck.CodeIncompleteChain
	CodeUntrustedChain       = certcheck.CodeUntrustedChain
	// CodeChainNotChecked is reported when CheckOptions.Roots is set
	// but crypto/x509 cannot read the certificate.
	CodeChainNotChecked = certcheck.CodeChainNotChecked
)

// Defaults and limits of the certificate checks.
const (
	// DefaultExpiryWarning is how long before NotAfter cert-expiring is
	// reported when CheckOptions.ExpiryWarning is zero.
	DefaultExpiryWarning = certcheck.DefaultExpiryWarning
	// MinRSABits is the smallest RSA key accepted.
	MinRSABits = certcheck.MinRSABits
	// maxPEMCertificates bounds a pasted bundle.
	maxPEMCertificates = certcheck.MaxPEMCertificates
)

// CheckOptions say what a certificate is checked against:
// certcheck.Options.
type CheckOptions = certcheck.Options

// CheckCertificate returns the findings for cert, which must not be nil:
// certcheck.Check, whose documentation lists the codes and their order.
func CheckCertificate(cert *x509.Certificate, opts CheckOptions) diag.Findings {
	return certcheck.Check(cert, opts)
}

// CheckPEM parses a PEM bundle, the certificate to check first and then
// the intermediates offered with it, and runs CheckCertificate on the
// first with the others appended to opts.Intermediates. The error is a
// *certcheck.PEMError that names the PEM block (counting from 1) that
// cannot be used, and why: truncated or malformed, not a CERTIFICATE, or
// not a parsable certificate. Text around the blocks is ignored, as tools
// print subjects and issuers there.
func CheckPEM(data []byte, opts CheckOptions) (diag.Findings, error) {
	fs, _, err := certcheck.CheckPEM(data, opts)
	return fs, err
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
