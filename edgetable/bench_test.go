package edgetable

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/mtlstrust"
)

// bigTable returns the deployment's table padded to n entries.
func bigTable(b *testing.B, p *pki, n int) {
	for i := 0; p.table != nil && i < n-1; i++ {
		if err := p.table.Put(Entry{HostNameOrIP: fmt.Sprintf("expc%d", i+100), Names: []string{fmt.Sprintf("expc%d.example.com", i+100)}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandshakeTable is a full mutual-TLS handshake on the MRA port
// configuration: trust store read per handshake, then the table
// authorizer over 1,000 entries.
func BenchmarkHandshakeTable(b *testing.B) {
	p := newPKI(b)
	bigTable(b, p, 1000)
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

// BenchmarkTableMatch matches a certificate's names against tables of
// growing size: the cost must not grow.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			t := &Memory{}
			for i := range n {
				t.Put(Entry{HostNameOrIP: fmt.Sprint(i), Names: []string{fmt.Sprintf("expc%d.example.com", i), fmt.Sprintf("*.mra%d.example.com", i)}})
			}
			peer := certcheck.PeerNames(&x509.Certificate{DNSNames: []string{"a.mra7.example.com"}}, certcheck.CNWhenNoDNSSAN)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := t.Match(peer); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkMatchByKind matches each kind of presented name against
// tables of growing size, every other entry allowing wildcard
// certificates: a plain name listed as is, a plain name under a table
// wildcard, a wildcard certificate over an entry that allows it, the same
// over one that does not, and a name listed nowhere.
func BenchmarkMatchByKind(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		t := &Memory{}
		for i := range n {
			err := t.Put(Entry{HostNameOrIP: fmt.Sprint(i), AllowWildcardCertificate: i%2 == 1,
				Names: []string{fmt.Sprintf("expc%d.example.com", i), fmt.Sprintf("*.mra%d.example.com", i), fmt.Sprintf("edge.site%d.example.com", i)}})
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range []struct {
			kind, name string
			match      bool
		}{
			{"exact", "expc7.example.com", true},
			{"under-table-wildcard", "a.mra7.example.com", true},
			{"wildcard-certificate-allowed", "*.site7.example.com", true},
			{"wildcard-certificate-refused", "*.site8.example.com", false},
			{"miss", "nothing.example.org", false},
		} {
			b.Run(fmt.Sprint(n, "/", c.kind), func(b *testing.B) {
				peer := certcheck.PeerNames(&x509.Certificate{DNSNames: []string{c.name}}, certcheck.CNWhenNoDNSSAN)
				b.ReportAllocs()
				for b.Loop() {
					if _, ok := t.Match(peer); ok != c.match {
						b.Fatalf("match %v, want %v", ok, c.match)
					}
				}
			})
		}
	}
}

// BenchmarkAuthorizeConnection is the check a SIP stack makes on every
// request of an established edge-proxy connection: the table authorizer
// over 1,000 entries, from the connection's state.
func BenchmarkAuthorizeConnection(b *testing.B) {
	p := newPKI(b)
	bigTable(b, p, 1000)
	r := testca.RunHandshake(b, p.edgeServer(), p.edgeClient())
	if r.ServerErr != nil {
		b.Fatal(r.ServerErr)
	}
	cs := r.Server
	authz := Authorize(p.table)
	b.ReportAllocs()
	for b.Loop() {
		if err := mtlstrust.AuthorizeConnection(authz, &cs); err != nil {
			b.Fatal(err)
		}
	}
}
