package mtlstrust

import (
	"crypto/x509"
	"strings"

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

// validDNSName reports whether d is a DNS name of LDH labels; with
// wildcard, "*" may be the whole left-most label of a name of at least
// three labels ("*.example.com", never "*.com" or "f*.example.com"). The
// table validates its names with it; it must accept exactly the names
// certcheck.PeerNames keeps (TestValidDNSNameAgreesWithPeerNames).
func validDNSName(d string, wildcard bool) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > MaxNameLength {
		return false
	}
	labels := strings.Split(d, ".")
	for i, l := range labels {
		if l == "*" && wildcard && i == 0 && len(labels) >= 3 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
