package testca_test

import (
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/sipoauth/sdk/internal/testca"
)

// A node certificate from an intermediate, verified against the root.
func Example() {
	t := &testing.T{}
	root := testca.New(t, "Root")
	leaf := root.Intermediate(t, "Issuing").Server(t, "cucm-pub.example.com")
	inter := x509.NewCertPool()
	inter.AddCert(leaf.Chain[0])
	_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: root.Pool(), Intermediates: inter, DNSName: "cucm-pub.example.com"})
	fmt.Println(leaf.Cert.Subject.CommonName, len(leaf.TLS().Certificate), err)
	// Output: cucm-pub.example.com 2 <nil>
}
