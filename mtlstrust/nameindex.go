package mtlstrust

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/sipoauth/sdk/certcheck"
)

// NameIndex finds which of several listed name sets a peer certificate's
// names match, by the rules of RFC 6125: a DNS name the certificate
// presents matches the same name listed, or a listed wildcard
// ("*.mra.example.com") one label above it; an IP address matches the
// same address, whatever its spelling. A wildcard name in the certificate
// ("*.example.com") matches only the sets added with wildcardCerts, and
// there a listed name one label under it or the same wildcard: one such
// certificate, often installed on many servers, would otherwise pass for
// every peer listed under it.
//
// Each set has a key, such as an edge proxy's host name. A lookup costs
// one map access per presented name, whatever the number of sets, so an
// index can sit on the path of every handshake and every request.
//
// The zero value is empty and ready to use. A NameIndex is not safe for
// concurrent use: its owner (a table, an authorizer) guards it.
type NameIndex struct {
	exact map[string][]string     // lower-cased plain DNS name -> keys
	wild  map[string][]string     // parent domain of a wildcard name ("*.mra.example.com" -> "mra.example.com") -> keys
	ips   map[netip.Addr][]string // IP address -> keys
	// wildCert maps a wildcard a certificate may present ("*.example.com")
	// to the keys whose sets allow wildcard certificates and list a name
	// it covers: one label under it, or the same wildcard. Sets that do
	// not allow them are never in it, so such a certificate cannot reach
	// them.
	wildCert map[string][]string
}

// Add lists names under key, with wildcard certificates allowed for them
// or not. Names are DNS names (with at most a whole left-most wildcard
// label) or IP addresses; Add does not check them, as the caller has
// (certcheck.ValidDNSName, netip.ParseAddr): a malformed name is never
// presented by a certificate, so it never matches. Adding to a key that
// is present adds to its names; Remove it first to replace them.
func (x *NameIndex) Add(key string, names []string, wildcardCerts bool) {
	if x.exact == nil {
		*x = NameIndex{exact: map[string][]string{}, wild: map[string][]string{}, ips: map[netip.Addr][]string{}, wildCert: map[string][]string{}}
	}
	for _, n := range names {
		if ip, err := netip.ParseAddr(n); err == nil {
			x.ips[ip.Unmap()] = appendOnce(x.ips[ip.Unmap()], key)
			continue
		}
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if parent, ok := strings.CutPrefix(n, "*."); ok {
			x.wild[parent] = appendOnce(x.wild[parent], key)
			if wildcardCerts {
				x.wildCert[n] = appendOnce(x.wildCert[n], key)
			}
			continue
		}
		x.exact[n] = appendOnce(x.exact[n], key)
		if _, parent, ok := strings.Cut(n, "."); ok && wildcardCerts {
			w := "*." + parent
			x.wildCert[w] = appendOnce(x.wildCert[w], key)
		}
	}
}

// Remove deletes every name listed under key. Its cost grows with the
// index, unlike Match's: sets change far less often than peers connect.
func (x *NameIndex) Remove(key string) {
	for _, m := range []map[string][]string{x.exact, x.wild, x.wildCert} {
		for k, keys := range m {
			if keys = slices.DeleteFunc(keys, func(s string) bool { return s == key }); len(keys) == 0 {
				delete(m, k)
			} else {
				m[k] = keys
			}
		}
	}
	for k, keys := range x.ips {
		if keys = slices.DeleteFunc(keys, func(s string) bool { return s == key }); len(keys) == 0 {
			delete(x.ips, k)
		} else {
			x.ips[k] = keys
		}
	}
}

// Match returns the key of a set that one of the presented names n
// matches (certcheck.PeerNames gives them, normalized): the DNS names
// first, in order, then the IP addresses; for a name listed under several
// keys, the one listed first.
func (x *NameIndex) Match(n certcheck.Names) (key string, ok bool) {
	for _, d := range n.DNS {
		if strings.HasPrefix(d, "*.") {
			if keys := x.wildCert[d]; len(keys) > 0 {
				return keys[0], true
			}
			continue
		}
		if keys := x.exact[d]; len(keys) > 0 {
			return keys[0], true
		}
		if _, parent, ok := strings.Cut(d, "."); ok {
			if keys := x.wild[parent]; len(keys) > 0 {
				return keys[0], true
			}
		}
	}
	for _, ip := range n.IPs {
		if keys := x.ips[ip]; len(keys) > 0 {
			return keys[0], true
		}
	}
	return "", false
}

func appendOnce(keys []string, k string) []string {
	if slices.Contains(keys, k) {
		return keys
	}
	return append(keys, k)
}
