package mtlstrust

import (
	"crypto/x509"

	"github.com/sipoauth/sdk/certcheck"
)

// Names are the identifiers a certificate presents, normalized for
// matching (RFC 6125): certcheck.Names.
type Names = certcheck.Names

// CommonNamePolicy says when a certificate's subject common name counts
// as a DNS name: certcheck.CommonNamePolicy.
type CommonNamePolicy = certcheck.CommonNamePolicy

const (
	// CNWhenNoDNSSAN uses the CN only when the certificate has no DNS
	// SAN, as RFC 6125 §6.4.4 allows. The default.
	CNWhenNoDNSSAN = certcheck.CNWhenNoDNSSAN
	// CNNever ignores the CN.
	CNNever = certcheck.CNNever
	// CNAlways adds the CN to the DNS SANs. Unified CM's table lists "CN
	// or SAN", and some Expressway certificates carry their cluster name
	// only in the CN.
	CNAlways = certcheck.CNAlways
)

// PeerNames returns the names cert presents under policy. Malformed DNS
// names, and wildcards anywhere but the whole left-most label, are
// dropped: they never match.
func PeerNames(cert *x509.Certificate, policy CommonNamePolicy) Names {
	return certcheck.PeerNames(cert, policy)
}
