package mtlstrust

import (
	"crypto/x509"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/sipoauth/sdk/certcheck"
)

// TestNameIndex: RFC 6125 between the names a certificate presents and
// the names listed under each key.
func TestNameIndex(t *testing.T) {
	t.Parallel()
	var x NameIndex
	if key, ok := x.Match(certcheck.Names{DNS: []string{"expc1.example.com"}}); ok {
		t.Fatalf("the zero index matched %q", key)
	}
	x.Remove("nothing") // on the zero value too
	x.Add("expc1", []string{"expc1.example.com"}, false)
	x.Add("expc2", []string{"*.mra.example.com"}, false)
	x.Add("expc3", []string{"192.0.2.10", "2001:db8::10"}, false)
	x.Add("expc4", []string{"edge.corp.example.net"}, false)
	x.Add("expc5", []string{"edge.site.example.org", "*.mra.example.org", "192.0.2.50"}, true)
	x.Add("expc6", []string{"EXPC6.Example.COM."}, false)
	cases := []struct {
		cert *x509.Certificate
		want string // key matched, "" for none
	}{
		{cert("", []string{"EXPC1.example.com"}), "expc1"},
		{cert("", []string{"expc1.example.com."}), "expc1"},
		{cert("", []string{"expc6.example.com"}), "expc6"},             // listed with capitals and a dot
		{cert("expc1.example.com", nil), "expc1"},                      // CN, no DNS SAN
		{cert("expc1.example.com", []string{"other.example.com"}), ""}, // CN ignored beside a DNS SAN
		{cert("", []string{"a.mra.example.com"}), "expc2"},             // listed wildcard, one label
		{cert("", []string{"a.b.mra.example.com"}), ""},                // not two labels
		{cert("", []string{"mra.example.com"}), ""},                    // not zero labels
		{cert("", []string{"*.mra.example.com"}), ""},                  // the same wildcard, wildcard certificates not allowed
		{cert("", []string{"*.corp.example.net"}), ""},                 // certificate wildcard over a listed name, not allowed
		{cert("", []string{"*.site.example.org"}), "expc5"},            // certificate wildcard over a listed name, allowed
		{cert("", []string{"*.mra.example.org"}), "expc5"},             // the same wildcard, allowed
		{cert("", []string{"*.example.org"}), ""},                      // two labels away
		{cert("", []string{"e*.site.example.org"}), ""},                // partial wildcard never matches
		{cert("", nil, "192.0.2.50"), "expc5"},
		{cert("", nil, "::ffff:192.0.2.10"), "expc3"}, // IPv4-mapped
		{cert("", nil, "2001:0db8:0:0::10"), "expc3"}, // other spelling
		{cert("", []string{"192.0.2.10"}), ""},        // an IP in a DNS SAN is not an IP SAN
		{cert("", []string{"nothing.example.org"}, "198.51.100.1"), ""},
	}
	for _, tc := range cases {
		n := certcheck.PeerNames(tc.cert, certcheck.CNWhenNoDNSSAN)
		key, ok := x.Match(n)
		if ok != (tc.want != "") || key != tc.want {
			t.Errorf("%v %v: matched %q (%v), want %q", tc.cert.Subject.CommonName, n, key, ok, tc.want)
		}
	}

	// A name listed under two keys matches the first; removing it leaves
	// the other.
	x.Add("expc7", []string{"expc1.example.com"}, true)
	if key, _ := x.Match(certcheck.Names{DNS: []string{"expc1.example.com"}}); key != "expc1" {
		t.Fatalf("shared name matched %q", key)
	}
	x.Remove("expc1")
	if key, _ := x.Match(certcheck.Names{DNS: []string{"expc1.example.com"}}); key != "expc7" {
		t.Fatalf("after removal the shared name matched %q", key)
	}
	// The wildcard certificate over it reaches the key that allows it.
	if key, _ := x.Match(certcheck.Names{DNS: []string{"*.example.com"}}); key != "expc7" {
		t.Fatalf("wildcard certificate matched %q", key)
	}
	for _, k := range []string{"expc2", "expc3", "expc4", "expc5", "expc6", "expc7"} {
		x.Remove(k)
	}
	if len(x.exact)+len(x.wild)+len(x.ips)+len(x.wildCert) != 0 {
		t.Fatalf("index not empty after removing every key: %+v", x)
	}
}

// TestAuthorizeMatch: the matcher sees the peer's names under the CN
// policy, is asked at every call, and a refusal lists the names.
func TestAuthorizeMatch(t *testing.T) {
	t.Parallel()
	var allowed atomic.Bool
	var seen certcheck.Names
	a := AuthorizeMatch(func(n certcheck.Names) bool {
		seen = n
		return allowed.Load()
	}, WithCommonName(certcheck.CNAlways), WithWildcardCertificates())
	peer := cert("cluster.example.com", []string{"expc1.example.com"})
	err := a(peer, nil)
	var nit *NotInTableError
	if !errors.As(err, &nit) || !errors.Is(err, ErrNotAuthorized) || nit.Names.String() != "expc1.example.com, cluster.example.com" {
		t.Fatalf("refusal %v", err)
	}
	if seen.String() != "expc1.example.com, cluster.example.com" {
		t.Fatalf("matcher saw %v", seen)
	}
	allowed.Store(true)
	if err := a(peer, nil); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if err := a(nil, nil); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("nil peer: %v", err)
	}
}
