package mtlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/sipoauth/sdk/internal/testca"
)

// TestAuthorizeConnection: an established connection's peer is refused
// once its name is no longer listed and admitted again once it is, and
// the states that are refused whatever the authorizer says.
func TestAuthorizeConnection(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	authz := p.allowed.authorizer()
	r := testca.RunHandshake(t, p.edgeServer(), p.edgeClient())
	if r.ServerErr != nil || r.ClientErr != nil {
		t.Fatalf("server %v, client %v", r.ServerErr, r.ClientErr)
	}
	cs := r.Server
	if err := AuthorizeConnection(authz, &cs); err != nil {
		t.Fatalf("listed: %v", err)
	}
	p.allowed.remove("expc1.example.com")
	var nit *NotInTableError
	if err := AuthorizeConnection(authz, &cs); !errors.As(err, &nit) || !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("after removal: %v", err)
	}
	p.allowed.set("expc1.example.com", "expc1.example.com")
	if err := AuthorizeConnection(authz, &cs); err != nil {
		t.Fatalf("after re-adding: %v", err)
	}

	// A connection on the OAuth port has no peer certificate.
	oauth := testca.RunHandshake(t, OAuthServerConfig(p.nodeCert), &tls.Config{RootCAs: p.nodeCA.Pool(), ServerName: nodeName})
	if oauth.ServerErr != nil {
		t.Fatal(oauth.ServerErr)
	}
	unverified := cs
	unverified.VerifiedChains = nil // a peer certificate that was never verified
	for _, tc := range []struct {
		what string
		a    Authorizer
		cs   *tls.ConnectionState
		msg  string
	}{
		{"nil state", AuthorizeAny(), nil, "mtlstrust: peer not authorized: no TLS connection state"},
		{"no peer certificate", AuthorizeAny(), &oauth.Server, "mtlstrust: peer not authorized: no verified client certificate"},
		{"empty state", AuthorizeAny(), &tls.ConnectionState{}, "mtlstrust: peer not authorized: no verified client certificate"},
		{"unverified peer", AuthorizeAny(), &unverified, "mtlstrust: peer not authorized: no verified client certificate"},
		{"nil authorizer", nil, &cs, "mtlstrust: peer not authorized: no authorizer"},
	} {
		err := AuthorizeConnection(tc.a, tc.cs)
		if !errors.Is(err, ErrNotAuthorized) || err.Error() != tc.msg {
			t.Errorf("%s: %v, want %q", tc.what, err, tc.msg)
		}
	}

	// The authorizer sees the connection's leaf and chains.
	var gotPeer *x509.Certificate
	var gotChains [][]*x509.Certificate
	spy := func(peer *x509.Certificate, chains [][]*x509.Certificate) error {
		gotPeer, gotChains = peer, chains
		return nil
	}
	if err := AuthorizeConnection(spy, &cs); err != nil || gotPeer != cs.PeerCertificates[0] || len(gotChains) != len(cs.VerifiedChains) || gotChains[0][0] != cs.VerifiedChains[0][0] {
		t.Fatalf("authorizer called with %v, %v: %v", gotPeer, gotChains, err)
	}
}

// TestAuthorizeConnectionAllocations: the check made on every request
// allocates nothing of its own, and a refusal for want of a verified
// peer allocates nothing at all. Not parallel: AllocsPerRun counts the
// whole process's allocations.
func TestAuthorizeConnectionAllocations(t *testing.T) {
	p := newPKI(t)
	r := testca.RunHandshake(t, p.edgeServer(), p.edgeClient())
	if r.ServerErr != nil {
		t.Fatal(r.ServerErr)
	}
	cs := r.Server
	if n := testing.AllocsPerRun(100, func() { AuthorizeConnection(AuthorizeAny(), &cs) }); n != 0 {
		t.Errorf("AuthorizeAny: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { AuthorizeConnection(AuthorizeAny(), &tls.ConnectionState{}) }); n != 0 {
		t.Errorf("refusal: %v allocations", n)
	}
}
