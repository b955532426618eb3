package mtlstrust

import (
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// TestWildcardCertificateOverTLS: a certificate from the trusted CA whose
// only name is "*.example.com" passes on the MRA port for an entry it
// covers only once the operator allows wildcard certificates for that
// entry, here through the table's HTTP API, and no longer once the entry
// is pushed again without it.
func TestWildcardCertificateOverTLS(t *testing.T) {
	p := newPKI(t)
	wild, err := NewCertSource(p.proxyCA.Client(t, "*.example.com").TLS())
	if err != nil {
		t.Fatal(err)
	}
	plain := p.proxyCert
	ft, err := OpenFileTable(filepath.Join(t.TempDir(), "edge.json"))
	if err != nil {
		t.Fatal(err)
	}
	server := EdgeServerConfig(p.nodeCert, p.tomcatTrust, AuthorizeTable(ft))
	refused := func(what string) {
		t.Helper()
		r := handshake(t, server, p.edgeClient())
		var nit *NotInTableError
		if !errors.As(r.serverErr, &nit) || !errors.Is(r.serverErr, ErrNotAuthorized) || r.clientErr == nil {
			t.Fatalf("%s: server %v, client %v; want a NotInTableError", what, r.serverErr, r.clientErr)
		}
	}
	accepted := func(what string) {
		t.Helper()
		if r := handshake(t, server, p.edgeClient()); r.serverErr != nil || r.clientErr != nil {
			t.Fatalf("%s: server %v, client %v", what, r.serverErr, r.clientErr)
		}
	}

	srv := httptest.NewTLSServer(NewTableHandler(ft, testUsers))
	defer srv.Close()
	c := newClient(t, srv)
	plainEntry := `{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"]}`
	expect(t, "push without wildcard certificates", c.as("PUT", "/entries", plainEntry), 201, plainEntry+"\n")

	p.proxyCert = wild
	refused("wildcard certificate over expc1.example.com, not allowed")
	p.proxyCert = plain
	accepted("the proxy's own certificate")

	allowing := `{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"],"allowWildcardCertificate":true}`
	expect(t, "allow wildcard certificates", c.as("PUT", "/entries", allowing), 200, allowing+"\n")
	expect(t, "list shows the setting", c.as("GET", "/entries", ""), 200, "["+allowing+"]\n")
	p.proxyCert = wild
	accepted("wildcard certificate over expc1.example.com, allowed")
	re, err := OpenFileTable(ft.Path())
	if err != nil {
		t.Fatal(err)
	}
	if l := mustList(t, re); len(l) != 1 || !l[0].AllowWildcardCertificate {
		t.Fatalf("the setting did not survive a restart: %+v", l)
	}

	// An entry that lists the wildcard itself still takes plain names
	// under it, but not the wildcard certificate, unless allowed.
	wildEntry := `{"hostNameOrIp":"expc1.example.com","names":["*.example.com"]}`
	expect(t, "push a wildcard entry", c.as("PUT", "/entries", wildEntry), 200, wildEntry+"\n")
	refused("the same wildcard in the certificate, not allowed")
	p.proxyCert = plain
	accepted("plain name under the entry's wildcard")

	expect(t, "remove", c.as("DELETE", "/entries/expc1.example.com", ""), 204, "")
	refused("no entry")

	// AuthorizeNames decides once for all its names.
	p.proxyCert = wild
	for _, tc := range []struct {
		what string
		a    Authorizer
		ok   bool
	}{
		{"names, default", AuthorizeNames([]string{"expc1.example.com"}), false},
		{"names, wildcard certificates allowed", AuthorizeNames([]string{"expc1.example.com"}, WithWildcardCertificates()), true},
	} {
		r := handshake(t, EdgeServerConfig(p.nodeCert, p.tomcatTrust, tc.a), p.edgeClient())
		if ok := r.serverErr == nil && r.clientErr == nil; ok != tc.ok || !ok && !errors.Is(r.serverErr, ErrNotAuthorized) {
			t.Errorf("%s: server %v, client %v; want allowed %v", tc.what, r.serverErr, r.clientErr, tc.ok)
		}
	}
}
