package certcheck_test

import (
	"fmt"
	"os"
	"time"

	"github.com/sipoauth/sdk/certcheck"
)

// An Expressway-C certificate checked as the browser inspector checks it,
// through the description that every build has: the name the node's
// edge-proxy table lists is not in it.
func ExampleCheckPEMCerts() {
	pasted, err := os.ReadFile("testdata/edge-ecdsa-p384.pem")
	if err != nil {
		fmt.Println(err)
		return
	}
	fs, certs, err := certcheck.CheckPEMCerts(pasted, certcheck.Options{
		Role: certcheck.RoleEdgeProxy,
		Host: "expc2.example.com",
		Now:  time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := certs[0]
	fmt.Println(c.Subject)
	fmt.Println(c.Key, c.SignatureAlgorithm, c.ExtKeyUsage, c.DNSNames)
	for _, f := range fs {
		fmt.Println(f.Severity, f.Code, f.Message)
	}
	// Output:
	// CN=expc1.example.com,OU=Edge,O=Example Lab
	// ECDSA P-384 SHA384-RSA [clientAuth serverAuth] [expc1.example.com mra.example.com]
	// error name-mismatch Expressway-C certificate "expc1.example.com" does not match "expc2.example.com": it has expc1.example.com, mra.example.com
}
