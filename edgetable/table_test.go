package edgetable

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/mtlstrust"
)

func cert(cn string, dns []string, ips ...string) *x509.Certificate {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	for _, ip := range ips {
		c.IPAddresses = append(c.IPAddresses, net.ParseIP(ip))
	}
	return c
}

// TestMemoryMatch: RFC 6125 between the names a certificate presents
// and the names in the table.
func TestMemoryMatch(t *testing.T) {
	t.Parallel()
	tb := &Memory{}
	for _, e := range []Entry{
		{HostNameOrIP: "expc1", Names: []string{"expc1.example.com"}},
		{HostNameOrIP: "expc2", Names: []string{"*.mra.example.com"}},
		{HostNameOrIP: "expc3", Names: []string{"192.0.2.10", "2001:db8::10"}},
		{HostNameOrIP: "expc4", Names: []string{"edge.corp.example.net"}},
		{HostNameOrIP: "expc5", Names: []string{"edge.site.example.org", "*.mra.example.org", "192.0.2.50"}, AllowWildcardCertificate: true},
	} {
		if err := tb.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		cert *x509.Certificate
		want string // entry matched, "" for none
	}{
		{cert("", []string{"EXPC1.example.com"}), "expc1"},
		{cert("", []string{"expc1.example.com."}), "expc1"},
		{cert("expc1.example.com", nil), "expc1"},                      // CN, no DNS SAN
		{cert("expc1.example.com", []string{"other.example.com"}), ""}, // CN ignored beside a DNS SAN
		{cert("", []string{"a.mra.example.com"}), "expc2"},             // table wildcard, one label
		{cert("", []string{"a.b.mra.example.com"}), ""},                // not two labels
		{cert("", []string{"mra.example.com"}), ""},                    // not zero labels
		{cert("", []string{"*.mra.example.com"}), ""},                  // the same wildcard, wildcard certificates not allowed
		{cert("", []string{"*.corp.example.net"}), ""},                 // certificate wildcard over a table name, not allowed
		{cert("*.corp.example.net", nil), ""},                          // the same in the CN
		{cert("", []string{"*.site.example.org"}), "expc5"},            // certificate wildcard over a table name, allowed
		{cert("*.site.example.org", nil), "expc5"},                     // the same in the CN
		{cert("", []string{"*.mra.example.org"}), "expc5"},             // the same wildcard, allowed
		{cert("", []string{"x.mra.example.org"}), "expc5"},             // table wildcard, one label
		{cert("", []string{"*.example.org"}), ""},                      // two labels away
		{cert("", []string{"*.example.net"}), ""},                      // two labels away
		{cert("", []string{"e*.corp.example.net"}), ""},                // partial wildcard never matches
		{cert("", []string{"e*.site.example.org"}), ""},                // nor where wildcards are allowed
		{cert("", nil, "192.0.2.50"), "expc5"},                         // IP of an entry that allows wildcards
		{cert("", nil, "192.0.2.10"), "expc3"},                         // IP as IP
		{cert("", nil, "::ffff:192.0.2.10"), "expc3"},                  // IPv4-mapped
		{cert("", nil, "2001:0db8:0:0::10"), "expc3"},                  // other spelling
		{cert("192.0.2.10", []string{"x.example.org"}), ""},            // CN IP ignored beside a DNS SAN
		{cert("", []string{"192.0.2.10"}), ""},                         // an IP in a DNS SAN is not an IP SAN
		{cert("", []string{"nothing.example.org"}, "198.51.100.1"), ""},
	}
	for _, tc := range cases {
		n := certcheck.PeerNames(tc.cert, certcheck.CNWhenNoDNSSAN)
		e, ok := tb.Match(n)
		if got := e.HostNameOrIP; ok != (tc.want != "") || got != tc.want {
			t.Errorf("%v %v: matched %q (%v), want %q", tc.cert.Subject.CommonName, n, got, ok, tc.want)
		}
	}
	// Replace and remove keep the index right.
	wild := certcheck.Names{DNS: []string{"*.site.example.org"}}
	tb.Put(Entry{HostNameOrIP: "expc5", Names: []string{"edge.site.example.org"}})
	if e, ok := tb.Match(wild); ok {
		t.Fatalf("wildcard certificate still matches %+v after its entry was replaced without AllowWildcardCertificate", e)
	}
	if e, ok := tb.Match(certcheck.Names{DNS: []string{"edge.site.example.org"}}); !ok || e.HostNameOrIP != "expc5" {
		t.Fatalf("replaced entry: %+v %v", e, ok)
	}
	// A name one entry allows wildcard certificates for does not open the
	// entries beside it that do not.
	tb.Put(Entry{HostNameOrIP: "expc6", Names: []string{"other.site.example.org"}, AllowWildcardCertificate: true})
	if e, ok := tb.Match(wild); !ok || e.HostNameOrIP != "expc6" {
		t.Fatalf("wildcard certificate beside an entry that allows it: %+v %v", e, ok)
	}
	if ok, _ := tb.Remove("expc6"); !ok {
		t.Fatal("remove expc6")
	}
	if e, ok := tb.Match(wild); ok {
		t.Fatalf("wildcard certificate matches %+v after removal", e)
	}
	tb.Remove("expc5")
	tb.Put(Entry{HostNameOrIP: "EXPC1", Names: []string{"new.example.com"}})
	if _, ok := tb.Match(certcheck.Names{DNS: []string{"expc1.example.com"}}); ok {
		t.Fatal("replaced name still matches")
	}
	if e, ok := tb.Match(certcheck.Names{DNS: []string{"new.example.com"}}); !ok || e.HostNameOrIP != "EXPC1" {
		t.Fatalf("new name: %v %v", e, ok)
	}
	if ok, _ := tb.Remove("expc1"); !ok {
		t.Fatal("remove")
	}
	if ok, _ := tb.Remove("expc1"); ok {
		t.Fatal("removed twice")
	}
	list, _ := tb.List()
	if len(list) != 3 || list[0].HostNameOrIP != "expc2" {
		t.Fatalf("list %v", list)
	}
}

func TestEntryValidate(t *testing.T) {
	t.Parallel()
	good := Entry{HostNameOrIP: "expc1.example.com", Names: []string{"expc1.example.com", "*.mra.example.com", "192.0.2.1"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	good.AllowWildcardCertificate = true
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	long := make([]string, MaxNamesPerEntry+1)
	for i := range long {
		long[i] = fmt.Sprintf("n%d.example.com", i)
	}
	for name, e := range map[string]Entry{
		"no host":        {Names: []string{"a.example.com"}},
		"no names":       {HostNameOrIP: "h"},
		"partial wild":   {HostNameOrIP: "h", Names: []string{"a*.example.com"}},
		"wild TLD":       {HostNameOrIP: "h", Names: []string{"*.com"}},
		"space":          {HostNameOrIP: "h", Names: []string{"a b.example.com"}},
		"control":        {HostNameOrIP: "h\n", Names: []string{"a.example.com"}},
		"too many names": {HostNameOrIP: "h", Names: long},
		"wildcard certificates for IP addresses only": {HostNameOrIP: "h", Names: []string{"192.0.2.1", "2001:db8::1"}, AllowWildcardCertificate: true},
	} {
		if err := e.Validate(); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("%s: %v", name, err)
		}
		if err := (&Memory{}).Put(e); err == nil {
			t.Errorf("%s: Put accepted it", name)
		}
	}
}

// TestAuthorize: the authorizer reads the table at each call, under the
// CN policy given, and leaves wildcard certificates to each entry.
func TestAuthorize(t *testing.T) {
	t.Parallel()
	tb := &Memory{}
	tb.Put(Entry{HostNameOrIP: "expc1", Names: []string{"expc1.example.com"}})
	cnOnly := cert("expc1.example.com", []string{"x.example.com"})
	wildcard := cert("", []string{"*.example.com"})
	cases := []struct {
		name string
		a    mtlstrust.Authorizer
		peer *x509.Certificate
		ok   bool
	}{
		{"listed", Authorize(tb), cert("", []string{"EXPC1.example.com"}), true},
		{"not listed", Authorize(tb), cert("", []string{"other.example.com"}), false},
		{"CN beside a DNS SAN", Authorize(tb), cnOnly, false},
		{"CN always", Authorize(tb, mtlstrust.WithCommonName(certcheck.CNAlways)), cnOnly, true},
		{"wildcard certificate, entry does not allow it", Authorize(tb, mtlstrust.WithWildcardCertificates()), wildcard, false},
		{"nil peer", Authorize(tb), nil, false},
	}
	for _, tc := range cases {
		err := tc.a(tc.peer, nil)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, mtlstrust.ErrNotAuthorized) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	a := Authorize(tb)
	other := cert("", []string{"other.example.com"})
	err := a(other, nil)
	var nit *mtlstrust.NotInTableError
	if !errors.As(err, &nit) || err.Error() != "mtlstrust: no name of the peer certificate (other.example.com) is in the edge-proxy table" {
		t.Fatalf("refusal %v", err)
	}
	tb.Put(Entry{HostNameOrIP: "other", Names: []string{"other.example.com"}})
	if err := a(other, nil); err != nil {
		t.Fatalf("after the entry was added: %v", err)
	}
	tb.Put(Entry{HostNameOrIP: "expc1", Names: []string{"expc1.example.com"}, AllowWildcardCertificate: true})
	if err := a(wildcard, nil); err != nil {
		t.Fatalf("wildcard certificate, entry allows it: %v", err)
	}
}
