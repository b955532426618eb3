package mtlstrust

import (
	"errors"
	"testing"

	"github.com/sipoauth/sdk/internal/testca"
)

// TestWildcardCertificateOverTLS: a certificate from the trusted CA whose
// only name is "*.example.com" passes on the MRA port for a name it
// covers only when AuthorizeNames is told to accept wildcard
// certificates.
func TestWildcardCertificateOverTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	wild, err := NewCertSource(p.proxyCA.Client(t, "*.example.com").TLS())
	if err != nil {
		t.Fatal(err)
	}
	p.proxyCert = wild
	for _, tc := range []struct {
		what string
		a    Authorizer
		ok   bool
	}{
		{"names, default", AuthorizeNames([]string{"expc1.example.com"}), false},
		{"names, wildcard certificates allowed", AuthorizeNames([]string{"expc1.example.com"}, WithWildcardCertificates()), true},
	} {
		r := testca.RunHandshake(t, EdgeServerConfig(p.nodeCert, p.tomcatTrust, tc.a), p.edgeClient())
		if ok := r.ServerErr == nil && r.ClientErr == nil; ok != tc.ok || !ok && !errors.Is(r.ServerErr, ErrNotAuthorized) {
			t.Errorf("%s: server %v, client %v; want allowed %v", tc.what, r.ServerErr, r.ClientErr, tc.ok)
		}
	}
}
