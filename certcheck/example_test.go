//go:build !js

package certcheck_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/sipoauth/sdk/certcheck"
)

// A Tomcat certificate pasted into the inspector: it expired two months
// ago, was issued for client authentication only, and signed by its own
// key.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "cucm1.example.com"},
		DNSNames:     []string{"cucm1.example.com"},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	pasted := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	fs, certs, err := certcheck.CheckPEM(pasted, certcheck.Options{
		Role: certcheck.RoleNode,
		Host: "cucm1.example.com",
		Now:  time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(certs[0].Subject, certcheck.PublicKeyInfo(certs[0]))
	for _, f := range fs {
		fmt.Println(f)
	}
	// Output:
	// CN=cucm1.example.com ECDSA P-256
	// error cert-expired certificate/notAfter: Tomcat certificate "cucm1.example.com" expired at 2026-01-01T00:00:00Z; it is now 2026-03-01T09:00:00Z
	// error missing-server-auth-eku certificate/extKeyUsage: Tomcat certificate "cucm1.example.com" has extended key usages clientAuth but not serverAuth: clients and Expressway-C refuse it as the server on ports 5090 and 5091
	// warning self-signed-leaf certificate/issuer: Tomcat certificate "cucm1.example.com" is self-signed (issuer "CN=cucm1.example.com" is its own subject)
}

// The RFC 6125 rules the checks and the edge-proxy table share.
func ExampleNames_MatchesHost() {
	names := certcheck.PeerNames(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "expc1.example.com"},
		DNSNames: []string{"*.MRA.example.com."},
	}, certcheck.CNWhenNoDNSSAN)
	fmt.Println(names)
	for _, host := range []string{"a.mra.example.com", "a.b.mra.example.com", "expc1.example.com"} {
		fmt.Println(host, names.MatchesHost(host))
	}
	// Output:
	// *.mra.example.com
	// a.mra.example.com true
	// a.b.mra.example.com false
	// expc1.example.com false
}

// A pasted private key is refused by name, before anything is parsed.
func ExampleParsePEM() {
	_, err := certcheck.ParsePEM([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"))
	fmt.Println(err)
	// Output:
	// certcheck: PEM block 1 is "PRIVATE KEY", not CERTIFICATE: paste certificates only, never a private key
}
