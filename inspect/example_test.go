package inspect_test

import (
	"fmt"
	"log"

	"github.com/sipoauth/sdk/inspect"
)

// Explain the answer Unified CM sends a client that registers on the
// wrong port, as a page or a log shows it.
func ExampleAuto() {
	const answer = "SIP/2.0 403 Forbidden\r\n" +
		"CSeq: 363 REGISTER\r\n" +
		"Retry-After: 35\r\n" +
		"Warning: 399 UCM2-PUB \"SIP OAuth Registration port Mismatch\"\r\n" +
		"Content-Length: 0\r\n\r\n"
	r, err := inspect.Auto([]byte(answer), inspect.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Kind, r.Response.Status, "scenario", r.Response.Scenario)
	for _, f := range r.Findings {
		fmt.Println(f.Severity, f.Code)
	}
	fmt.Println("worst:", r.Worst())
	// Output:
	// response 403 scenario 1
	// error port-mismatch
	// info profile-without-oauth
	// info oauth-disabled-cluster-wide
	// info wrong-connection-kind
	// worst: error
}

// Classify the error an edge proxy logs when the node refuses its
// certificate.
func ExampleCheck() {
	r, err := inspect.Check(inspect.KindTLS, []byte("remote error: tls: unknown certificate authority"), inspect.Options{Side: "edge"})
	if err != nil {
		log.Fatal(err)
	}
	f := r.Findings[0]
	fmt.Println("scenario", r.TLS.Scenario, f.Code)
	fmt.Println(f.Message)
	fmt.Println("fix:", f.Fix)
	// Output:
	// scenario 3 unknown-ca-at-node
	// the node refused the edge proxy's certificate: unknown certificate authority
	// fix: upload the CA that signed the Expressway-C certificate to the node's tomcat-trust
}

// Tell what a pasted text is before checking it.
func ExampleDetect() {
	for _, in := range []string{
		`<?xml version="1.0"?><device><sipOAuthMode>1</sipOAuthMode></device>`,
		`Proxy-Authenticate: Bearer realm="ccmsipline"`,
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0.c2ln",
		"SIP/2.0 407 Proxy Authentication Required",
		"x509: certificate signed by unknown authority",
	} {
		k, err := inspect.Detect([]byte(in))
		fmt.Println(k, err)
	}
	// Output:
	// cnf <nil>
	// header <nil>
	// token <nil>
	// response <nil>
	// tls <nil>
}
