package mtlstrust_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/mtlstrust"
)

// The node's two SIP OAuth listeners: 5090 for clients with a token, 5091
// for edge proxies, whose names must be allowed (edgetable.Authorize
// allows the names of the node's edge-proxy table).
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
	authz := mtlstrust.AuthorizeNames([]string{"expc1.example.com"})

	oauth := mtlstrust.OAuthServerConfig(cert)
	edge := mtlstrust.EdgeServerConfig(cert, trust, authz)
	l5090, _ := tls.Listen("tcp", ":5090", oauth)
	l5091, _ := tls.Listen("tcp", ":5091", edge)
	_, _ = l5090, l5091
}

// An index matches the names a certificate presents the way RFC 6125
// says; a wildcard certificate only where its key allows it.
func ExampleNameIndex() {
	var x mtlstrust.NameIndex
	x.Add("expc", []string{"*.mra.example.com", "192.0.2.10"}, false)
	x.Add("expc2", []string{"expc2.example.net"}, true)
	for _, dns := range []string{"expc1.mra.example.com", "a.b.mra.example.com", "*.mra.example.com", "*.example.net"} {
		if key, ok := x.Match(certcheck.PeerNames(&x509.Certificate{DNSNames: []string{dns}}, certcheck.CNNever)); ok {
			fmt.Println(dns, "is", key)
		} else {
			fmt.Println(dns, "matches nothing")
		}
	}
	// Output:
	// expc1.mra.example.com is expc
	// a.b.mra.example.com matches nothing
	// *.mra.example.com matches nothing
	// *.example.net is expc2
}

// On the MRA OAuth port, each request is checked again with the
// connection's state, so that an authorizer over a table that no longer
// lists an edge proxy ends its registrations on the connections it holds.
func ExampleAuthorizeConnection() {
	authz := mtlstrust.AuthorizeNames([]string{"expc1.example.com"})
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
