package edgetable_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/mtlstrust"
)

// The node keeps its table in a file, lets the edge proxies write it
// through the HTTP API, and admits on its MRA OAuth port the certificates
// the table lists.
func Example() {
	dir, _ := os.MkdirTemp("", "edgetable")
	defer os.RemoveAll(dir)
	table, err := edgetable.OpenFile(filepath.Join(dir, "edge-proxies.json"))
	if err != nil {
		log.Fatal(err)
	}
	api := httptest.NewTLSServer(edgetable.NewHandler(table, map[string]string{"expc": "s3cret"}))
	defer api.Close()

	// Expressway-C pushes its entry on refresh.
	entry := edgetable.Entry{HostNameOrIP: "expc1.example.com", Description: "Expressway-C 1", Names: []string{"expc1.example.com"}}
	created, err := edgetable.Push(context.Background(), api.Client(), api.URL, "expc", "s3cret", entry)
	fmt.Println("pushed:", created, err)

	// The node's port 5091 asks the table at every handshake, through
	// mtlstrust.EdgeServerConfig(cert, trust, authz).
	authz := edgetable.Authorize(table)
	for _, name := range []string{"expc1.example.com", "expc2.example.com"} {
		fmt.Println(name, authz(&x509.Certificate{DNSNames: []string{name}}, nil))
	}
	// Output:
	// pushed: true <nil>
	// expc1.example.com <nil>
	// expc2.example.com mtlstrust: no name of the peer certificate (expc2.example.com) is in the edge-proxy table
}

// Tables match names the way RFC 6125 says.
func ExampleMemory_Match() {
	table := &edgetable.Memory{}
	table.Put(edgetable.Entry{HostNameOrIP: "expc", Description: "Expressway-C cluster", Names: []string{"*.mra.example.com", "192.0.2.10"}})
	for _, n := range []certcheck.Names{
		{DNS: []string{"expc1.mra.example.com"}},
		{DNS: []string{"a.b.mra.example.com"}},
	} {
		e, ok := table.Match(n)
		fmt.Println(n, ok, e.Description)
	}
	// Output:
	// expc1.mra.example.com true Expressway-C cluster
	// a.b.mra.example.com false
}

// A certificate that presents a wildcard name stands for an entry only
// if the entry allows it.
func ExampleEntry_allowWildcardCertificate() {
	table := &edgetable.Memory{}
	table.Put(edgetable.Entry{HostNameOrIP: "expc1", Names: []string{"expc1.example.com"}})
	table.Put(edgetable.Entry{HostNameOrIP: "expc2", Names: []string{"expc2.example.net"}, AllowWildcardCertificate: true})
	for _, n := range []certcheck.Names{
		{DNS: []string{"*.example.com"}},
		{DNS: []string{"*.example.net"}},
	} {
		if e, ok := table.Match(n); ok {
			fmt.Println(n, "is", e.HostNameOrIP)
		} else {
			fmt.Println(n, "is in no entry that allows it")
		}
	}
	// Output:
	// *.example.com is in no entry that allows it
	// *.example.net is expc2
}

// On the MRA OAuth port, each request is checked again against the
// table with the connection's state, so that removing an edge proxy's
// entry ends its registrations on the connections it holds.
func ExampleAuthorize() {
	table := &edgetable.Memory{}
	authz := edgetable.Authorize(table)
	handle := func(conn *tls.Conn, request []byte) error {
		cs := conn.ConnectionState()
		if err := mtlstrust.AuthorizeConnection(authz, &cs); err != nil {
			return err // answer 403 Forbidden
		}
		// ... serve the request
		return nil
	}
	_ = handle
}

// EntryFor makes an edge proxy's entry from its certificate: the names
// the node matches it against.
func ExampleEntryFor() {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "expc1.example.com"}, DNSNames: []string{"expc1.example.com", "mra.example.com"}}
	e := edgetable.EntryFor("expc1", cert)
	fmt.Println(e.HostNameOrIP, e.Names)
	// Output: expc1 [expc1.example.com mra.example.com]
}
