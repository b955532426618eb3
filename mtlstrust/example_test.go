package mtlstrust_test

import (
	"crypto/tls"
	"fmt"
	"log"

	"github.com/sipoauth/sdk/mtlstrust"
)

// The node's two SIP OAuth listeners: 5090 for clients with a token, 5091
// for edge proxies, whose names must be in the table.
func Example() {
	cert, err := mtlstrust.LoadCertSource("/etc/sipoauth/tomcat.pem", "/etc/sipoauth/tomcat.key")
	if err != nil {
		log.Print(err) // e.g. mtlstrust: /etc/sipoauth/tomcat.pem + /etc/sipoauth/tomcat.key: open ...: no such file or directory
		return
	}
	trust, err := mtlstrust.LoadTrustStore("/etc/sipoauth/tomcat-trust")
	if err != nil {
		log.Print(err)
		return
	}
	table := &mtlstrust.MemoryTable{}
	table.Put(mtlstrust.Entry{HostNameOrIP: "expc1.example.com", Names: []string{"expc1.example.com"}})

	oauth := mtlstrust.OAuthServerConfig(cert)
	edge := mtlstrust.EdgeServerConfig(cert, trust, mtlstrust.AuthorizeTable(table))
	l5090, _ := tls.Listen("tcp", ":5090", oauth)
	l5091, _ := tls.Listen("tcp", ":5091", edge)
	_, _ = l5090, l5091
}

// Tables match names the way RFC 6125 says.
func ExampleMemoryTable_Match() {
	table := &mtlstrust.MemoryTable{}
	table.Put(mtlstrust.Entry{HostNameOrIP: "expc", Description: "Expressway-C cluster", Names: []string{"*.mra.example.com", "192.0.2.10"}})
	for _, n := range []mtlstrust.Names{
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
	table := &mtlstrust.MemoryTable{}
	table.Put(mtlstrust.Entry{HostNameOrIP: "expc1", Names: []string{"expc1.example.com"}})
	table.Put(mtlstrust.Entry{HostNameOrIP: "expc2", Names: []string{"expc2.example.net"}, AllowWildcardCertificate: true})
	for _, n := range []mtlstrust.Names{
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
func ExampleAuthorizeConnection() {
	table := &mtlstrust.MemoryTable{}
	authz := mtlstrust.AuthorizeTable(table)
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
