package mtlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/internal/testca"
)

// bigList pads the deployment's list of edge-proxy names to n keys, as
// a table of n entries would be.
func bigList(p *pki, n int) {
	for i := range n - 1 {
		p.allowed.set(fmt.Sprintf("expc%d", i+100), fmt.Sprintf("expc%d.example.com", i+100))
	}
}

// BenchmarkHandshakeEdgePort is a full mutual-TLS handshake on the MRA
// port configuration: trust store read per handshake, then an authorizer
// over 1,000 listed names (edgetable's BenchmarkHandshakeTable is the same
// over its table).
func BenchmarkHandshakeEdgePort(b *testing.B) {
	p := newPKI(b)
	bigList(p, 1000)
	// The same plain client as the baseline: what is measured is the
	// server's side.
	client := &tls.Config{Certificates: []tls.Certificate{p.proxy.TLS()}, RootCAs: p.nodeCA.Pool(), ServerName: nodeName}
	h := testca.NewHandshakeBench(b, p.edgeServer())
	b.ReportAllocs()
	for b.Loop() {
		h.Run(b, client)
	}
}

// BenchmarkBaselineHandshake is the same handshake with a plain
// crypto/tls mutual-TLS configuration: static pools, no authorizer.
func BenchmarkBaselineHandshake(b *testing.B) {
	p := newPKI(b)
	node, proxy := p.node.TLS(), p.proxy.TLS()
	server := &tls.Config{Certificates: []tls.Certificate{node}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: p.proxyCA.Pool(), MinVersion: tls.VersionTLS12}
	client := &tls.Config{Certificates: []tls.Certificate{proxy}, RootCAs: p.nodeCA.Pool(), ServerName: nodeName}
	h := testca.NewHandshakeBench(b, server)
	b.ReportAllocs()
	for b.Loop() {
		h.Run(b, client)
	}
}

// BenchmarkNameIndexMatch matches each kind of presented name against
// indexes of growing size, every other key allowing wildcard
// certificates: a plain name listed as is, a plain name under a listed
// wildcard, a wildcard certificate over a key that allows it, the same
// over one that does not, and a name listed nowhere.
func BenchmarkNameIndexMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		var x NameIndex
		for i := range n {
			x.Add(fmt.Sprint(i), []string{fmt.Sprintf("expc%d.example.com", i), fmt.Sprintf("*.mra%d.example.com", i), fmt.Sprintf("edge.site%d.example.com", i)}, i%2 == 1)
		}
		for _, c := range []struct {
			kind, name string
			match      bool
		}{
			{"exact", "expc7.example.com", true},
			{"under-listed-wildcard", "a.mra7.example.com", true},
			{"wildcard-certificate-allowed", "*.site7.example.com", true},
			{"wildcard-certificate-refused", "*.site8.example.com", false},
			{"miss", "nothing.example.org", false},
		} {
			b.Run(fmt.Sprint(n, "/", c.kind), func(b *testing.B) {
				peer := certcheck.PeerNames(&x509.Certificate{DNSNames: []string{c.name}}, certcheck.CNWhenNoDNSSAN)
				b.ReportAllocs()
				for b.Loop() {
					if _, ok := x.Match(peer); ok != c.match {
						b.Fatalf("match %v, want %v", ok, c.match)
					}
				}
			})
		}
	}
}

// BenchmarkAuthorizeConnection is the check a SIP stack makes on every
// request of an established edge-proxy connection: an authorizer over
// 1,000 listed names, from the connection's state.
func BenchmarkAuthorizeConnection(b *testing.B) {
	p := newPKI(b)
	bigList(p, 1000)
	r := testca.RunHandshake(b, p.edgeServer(), p.edgeClient())
	if r.ServerErr != nil {
		b.Fatal(r.ServerErr)
	}
	cs := r.Server
	authz := p.allowed.authorizer()
	b.ReportAllocs()
	for b.Loop() {
		if err := AuthorizeConnection(authz, &cs); err != nil {
			b.Fatal(err)
		}
	}
}
