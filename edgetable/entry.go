package edgetable

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/sipoauth/sdk/certcheck"
)

// Entry is one edge proxy the node accepts on its MRA OAuth port: the
// fields of Unified CM's AXL ExpresswayCConfiguration, which each
// Expressway-C pushes on discover and refresh.
type Entry struct {
	// HostNameOrIP identifies the edge proxy; entries are keyed by it,
	// case-insensitively.
	HostNameOrIP string `json:"hostNameOrIp"`
	Description  string `json:"description,omitempty"`
	// Names are the names its certificate presents (the AXL field
	// X509SubjectNameorSubjectAlternateName): DNS names, IP addresses, or
	// a wildcard name as a whole left-most label ("*.example.com"), which
	// a certificate name one label under it matches.
	Names []string `json:"names"`
	// AllowWildcardCertificate lets a certificate that presents a
	// wildcard name stand for this entry: "*.example.com" then matches
	// the entry's names one label under it (expc1.example.com) and an
	// equal wildcard name. By default a wildcard in a certificate matches
	// no entry, since whoever holds such a certificate (often installed on
	// many servers) could otherwise pass for every listed proxy under it.
	// It needs at least one DNS name among Names.
	AllowWildcardCertificate bool `json:"allowWildcardCertificate,omitempty"`
}

// Limits of an Entry.
const (
	MaxNamesPerEntry = 256
	MaxNameLength    = 253
	maxDescription   = 1024
)

// ErrInvalidEntry is wrapped by the errors of Entry.Validate.
var ErrInvalidEntry = errors.New("edgetable: invalid edge-proxy entry")

// Validate checks that the entry can be stored: a host, at least one
// name, each a valid DNS name (with at most a left-most wildcard label)
// or IP address, and sizes within limits.
func (e Entry) Validate() error {
	if e.HostNameOrIP == "" || len(e.HostNameOrIP) > MaxNameLength || !printable(e.HostNameOrIP) {
		return fmt.Errorf("%w: hostNameOrIp %q", ErrInvalidEntry, e.HostNameOrIP)
	}
	if len(e.Description) > maxDescription || !printable(e.Description) {
		return fmt.Errorf("%w: description too long or not printable", ErrInvalidEntry)
	}
	if len(e.Names) == 0 || len(e.Names) > MaxNamesPerEntry {
		return fmt.Errorf("%w: %d names, want 1 to %d", ErrInvalidEntry, len(e.Names), MaxNamesPerEntry)
	}
	dns := false
	for _, n := range e.Names {
		if _, err := netip.ParseAddr(n); err == nil {
			continue
		}
		if !certcheck.ValidDNSName(n, true) { // exactly the names certificates present
			return fmt.Errorf("%w: name %q is neither a DNS name nor an IP address", ErrInvalidEntry, n)
		}
		dns = true
	}
	if e.AllowWildcardCertificate && !dns {
		// No wildcard covers an IP address: the setting would be a mistake.
		return fmt.Errorf("%w: allowWildcardCertificate needs a DNS name among the names", ErrInvalidEntry)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// EntryFor returns the edge-proxy table entry of a proxy called host
// whose certificate is cert: the names the node will match the
// certificate against, which are its DNS and IP subject alternative names
// and its subject CN when that is a DNS name or an IP address (Unified
// CM's table lists "CN or SAN"). HostNameOrIP is host, or the first name
// when host is empty.
func EntryFor(host string, cert *x509.Certificate) Entry {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		k := strings.ToLower(n)
		if n == "" || seen[k] || len(names) >= MaxNamesPerEntry {
			return
		}
		seen[k] = true
		names = append(names, n)
	}
	if cn := cert.Subject.CommonName; isHostName(cn) || net.ParseIP(cn) != nil {
		add(cn)
	}
	for _, n := range cert.DNSNames {
		if isHostName(n) {
			add(n)
		}
	}
	for _, ip := range cert.IPAddresses {
		add(ip.String())
	}
	if host == "" && len(names) > 0 {
		host = names[0]
	}
	return Entry{HostNameOrIP: host, Description: "edge proxy " + host, Names: names}
}

// isHostName reports whether s is a DNS name, with at most a whole
// left-most wildcard label.
func isHostName(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > MaxNameLength {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
