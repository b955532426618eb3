package certcheck

import (
	"net/netip"
	"slices"
	"strings"
)

// maxNameLength is the longest DNS name (RFC 1035).
const maxNameLength = 253

// Names are the identifiers a certificate presents, normalized for
// matching (RFC 6125): DNS names lower-cased without a trailing dot,
// wildcards kept only as a whole left-most label, IP addresses as
// addresses.
type Names struct {
	DNS []string
	IPs []netip.Addr
}

// CommonNamePolicy says when a certificate's subject common name counts
// as a DNS name.
type CommonNamePolicy int

const (
	// CNWhenNoDNSSAN uses the CN only when the certificate has no DNS
	// SAN, as RFC 6125 §6.4.4 allows. The default.
	CNWhenNoDNSSAN CommonNamePolicy = iota
	// CNNever ignores the CN.
	CNNever
	// CNAlways adds the CN to the DNS SANs. Unified CM's table lists "CN
	// or SAN", and some Expressway certificates carry their cluster name
	// only in the CN.
	CNAlways
)

// peerNames returns the DNS names of dns and, by policy, of the common
// name cn (an IP address there goes to IPs).
func peerNames(dns []string, cn string, policy CommonNamePolicy) Names {
	var n Names
	for _, d := range dns {
		if d = normalizeDNS(d); d != "" {
			n.DNS = append(n.DNS, d)
		}
	}
	if cn != "" && (policy == CNAlways || policy == CNWhenNoDNSSAN && len(dns) == 0) {
		if ip, err := netip.ParseAddr(cn); err == nil {
			n.IPs = append(n.IPs, ip.Unmap())
		} else if d := normalizeDNS(cn); d != "" {
			n.DNS = append(n.DNS, d)
		}
	}
	return n
}

// String lists the names, for messages.
func (n Names) String() string {
	parts := append([]string(nil), n.DNS...)
	for _, ip := range n.IPs {
		parts = append(parts, ip.String())
	}
	return strings.Join(parts, ", ")
}

// MatchesHost applies RFC 6125 to names normalized by PeerNames: an IP
// host (bare or in brackets) matches only an equal address
// (IPv4-mapped IPv6 equals IPv4), a DNS host matches a name equal to it
// case-insensitively, or a wildcard whose "*" stands for exactly its
// left-most label. A host that is itself a wildcard matches nothing.
func (n Names) MatchesHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return slices.Contains(n.IPs, ip.Unmap().WithZone(""))
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if !ValidDNSName(host, false) {
		return false
	}
	_, parent, hasParent := strings.Cut(host, ".")
	for _, d := range n.DNS {
		if d == host {
			return true
		}
		if p, ok := strings.CutPrefix(d, "*."); ok && hasParent && p == parent {
			return true
		}
	}
	return false
}

// normalizeDNS lower-cases d and drops a trailing dot, or returns "" when
// d is not a DNS name with at most a left-most wildcard label.
func normalizeDNS(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if !ValidDNSName(d, true) {
		return ""
	}
	return d
}

// ValidDNSName reports whether d is a DNS name of LDH labels (and '_'),
// as PeerNames keeps them; with wildcard, "*" may be the whole left-most
// label of a name of at least three labels ("*.example.com", never
// "*.com" or "f*.example.com").
func ValidDNSName(d string, wildcard bool) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > maxNameLength {
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
