package mtlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
)

// poolSource is a TrustSource of a product's own: the pool it holds now.
type poolSource struct{ p atomic.Pointer[x509.CertPool] }

func (s *poolSource) Pool() *x509.CertPool { return s.p.Load() }

// certSource is a CertificateSource of a product's own.
type certSource struct {
	c atomic.Pointer[tls.Certificate]
}

func (s *certSource) Certificate() *tls.Certificate { return s.c.Load() }

// TestSources: the builders take any source, and ask it at every
// handshake, so a source that changes applies on the next connection.
func TestSources(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	trust := &poolSource{}
	trust.p.Store(x509.NewCertPool()) // trusts nobody yet
	cert := &certSource{}
	leaf := p.proxy.TLS()
	cert.c.Store(&leaf)
	server := EdgeServerConfig(p.nodeCert, p.tomcatTrust, p.allowed.authorizer())
	client := EdgeClientConfig(cert, trust, nodeName)

	r := testca.RunHandshake(t, server, client)
	var verr *tls.CertificateVerificationError
	if !errors.As(r.ClientErr, &verr) {
		t.Fatalf("with an empty pool: client %v, server %v", r.ClientErr, r.ServerErr)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.nodeCA.Cert)
	trust.p.Store(pool)
	if r := testca.RunHandshake(t, server, client); r.ClientErr != nil || r.ServerErr != nil {
		t.Fatalf("after the pool changed: client %v, server %v", r.ClientErr, r.ServerErr)
	} else if got := r.Server.PeerCertificates[0].Subject.CommonName; got != "expc1.example.com" {
		t.Fatalf("client presented %q", got)
	}
	// A source with nothing to present sends no certificate: the node
	// refuses at once and names why.
	cert.c.Store(nil)
	r = testca.RunHandshake(t, server, client)
	if r.ServerErr == nil {
		t.Fatal("a client without a certificate was accepted on the edge port")
	}
	if d := Diagnose(r.ServerErr, diag.NodeSide); d.Code != diag.CodeNoClientCertificate {
		t.Fatalf("diagnosis %s of %v", d.Code, r.ServerErr)
	}
}

// TestClientConfigDialedName: with no name given, ClientConfig verifies
// the server's certificate for the name the connection was dialed with.
func TestClientConfigDialedName(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	server := OAuthServerConfig(p.nodeCert)
	for _, tc := range []struct {
		dialed string
		ok     bool
	}{{nodeName, true}, {"10.10.10.1", true}, {"other.example.com", false}} {
		client := ClientConfig(p.proxyTrust, "")
		client.ServerName = tc.dialed // what tls.Dial sets from the address
		r := testca.RunHandshake(t, server, client)
		if (r.ClientErr == nil) != tc.ok {
			t.Errorf("dialed %s: %v", tc.dialed, r.ClientErr)
		}
	}
	// A name given wins over the dialed one.
	client := ClientConfig(p.proxyTrust, "other.example.com")
	if r := testca.RunHandshake(t, server, client); r.ClientErr == nil {
		t.Error("the name given was not checked")
	}
}
