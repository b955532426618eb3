package mtlstrust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"reflect"
	"testing"
)

func cert(cn string, dns []string, ips ...string) *x509.Certificate {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	for _, ip := range ips {
		c.IPAddresses = append(c.IPAddresses, net.ParseIP(ip))
	}
	return c
}

func TestPeerNames(t *testing.T) {
	cases := []struct {
		cert   *x509.Certificate
		policy CommonNamePolicy
		dns    []string
		ips    []string
	}{
		{cert("expc1.example.com", []string{"ExpC1.Example.COM."}), CNWhenNoDNSSAN, []string{"expc1.example.com"}, nil},
		{cert("expc1.example.com", nil), CNWhenNoDNSSAN, []string{"expc1.example.com"}, nil},
		{cert("expc1.example.com", nil), CNNever, nil, nil},
		{cert("cluster.example.com", []string{"expc1.example.com"}), CNAlways, []string{"expc1.example.com", "cluster.example.com"}, nil},
		{cert("10.0.0.9", nil), CNWhenNoDNSSAN, nil, []string{"10.0.0.9"}},
		{cert("", []string{"*.example.com", "f*.example.com", "*.*.example.com", "a.*.example.com", "*.com", "bad_label-.example.com", "ok_label.example.com"}),
			CNWhenNoDNSSAN, []string{"*.example.com", "ok_label.example.com"}, nil},
		{cert("", nil, "192.0.2.7", "::ffff:192.0.2.8", "2001:db8::1"), CNWhenNoDNSSAN, nil, []string{"192.0.2.7", "192.0.2.8", "2001:db8::1"}},
	}
	for i, tc := range cases {
		n := PeerNames(tc.cert, tc.policy)
		var ips []string
		for _, ip := range n.IPs {
			ips = append(ips, ip.String())
		}
		if !reflect.DeepEqual(n.DNS, tc.dns) || !reflect.DeepEqual(ips, tc.ips) {
			t.Errorf("%d: got %v %v, want %v %v", i, n.DNS, ips, tc.dns, tc.ips)
		}
	}
}

// TestTableMatching: RFC 6125 between the names a certificate presents
// and the names in the table.
func TestTableMatching(t *testing.T) {
	tb := &MemoryTable{}
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
		n := PeerNames(tc.cert, CNWhenNoDNSSAN)
		e, ok := tb.Match(n)
		if got := e.HostNameOrIP; ok != (tc.want != "") || got != tc.want {
			t.Errorf("%v %v: matched %q (%v), want %q", tc.cert.Subject.CommonName, n, got, ok, tc.want)
		}
	}
	// Replace and remove keep the index right.
	wild := Names{DNS: []string{"*.site.example.org"}}
	tb.Put(Entry{HostNameOrIP: "expc5", Names: []string{"edge.site.example.org"}})
	if e, ok := tb.Match(wild); ok {
		t.Fatalf("wildcard certificate still matches %+v after its entry was replaced without AllowWildcardCertificate", e)
	}
	if e, ok := tb.Match(Names{DNS: []string{"edge.site.example.org"}}); !ok || e.HostNameOrIP != "expc5" {
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
	if _, ok := tb.Match(Names{DNS: []string{"expc1.example.com"}}); ok {
		t.Fatal("replaced name still matches")
	}
	if e, ok := tb.Match(Names{DNS: []string{"new.example.com"}}); !ok || e.HostNameOrIP != "EXPC1" {
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
		if err := (&MemoryTable{}).Put(e); err == nil {
			t.Errorf("%s: Put accepted it", name)
		}
	}
}

func TestAuthorizers(t *testing.T) {
	expc := cert("", []string{"expc1.example.com"})
	other := cert("", []string{"other.example.com"})
	names := AuthorizeNames([]string{"expc1.example.com", "not a name"})
	cnOnly := cert("expc1.example.com", []string{"x.example.com"})
	wildcard := cert("", []string{"*.example.com"})
	cases := []struct {
		name string
		a    Authorizer
		peer *x509.Certificate
		ok   bool
	}{
		{"any", AuthorizeAny(), other, true},
		{"names", names, expc, true},
		{"names refuses", names, other, false},
		{"names with CN always", AuthorizeNames([]string{"expc1.example.com"}, WithCommonName(CNAlways)), cnOnly, true},
		{"names with CN when no SAN", AuthorizeNames([]string{"expc1.example.com"}), cnOnly, false},
		{"names refuse a wildcard certificate", names, wildcard, false},
		{"names refuse the same wildcard", AuthorizeNames([]string{"*.example.com"}), wildcard, false},
		{"names allow a wildcard certificate", AuthorizeNames([]string{"expc1.example.com"}, WithWildcardCertificates()), wildcard, true},
		{"names allow the same wildcard", AuthorizeNames([]string{"*.example.com"}, WithWildcardCertificates()), wildcard, true},
		{"names allow wildcards, not two labels away", AuthorizeNames([]string{"a.expc1.example.com"}, WithWildcardCertificates()), wildcard, false},
		{"names: table wildcard over a plain name", AuthorizeNames([]string{"*.example.com"}), expc, true},
		{"all of: both", AuthorizeAllOf(AuthorizeAny(), names), expc, true},
		{"all of: one refuses", AuthorizeAllOf(AuthorizeAny(), names), other, false},
		{"one of: one allows", AuthorizeOneOf(names, AuthorizeNames([]string{"other.example.com"})), other, true},
		{"one of: none", AuthorizeOneOf(names, AuthorizeNames([]string{"z.example.com"})), other, false},
		{"one of: empty", AuthorizeOneOf(), other, false},
		{"nil peer", names, nil, false},
	}
	for _, tc := range cases {
		err := tc.a(tc.peer, nil)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrNotAuthorized) {
			t.Errorf("%s: %v is not ErrNotAuthorized", tc.name, err)
		}
	}
	err := names(other, nil)
	var nit *NotInTableError
	if !errors.As(err, &nit) || err.Error() != "mtlstrust: no name of the peer certificate (other.example.com) is in the edge-proxy table" {
		t.Fatalf("%v", err)
	}
}
