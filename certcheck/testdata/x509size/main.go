// Command x509size is the reference TestWasmSize measures the certcheck
// program against: the same work with x509.ParseCertificate and
// Certificate.Verify.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	b, _ := pem.Decode([]byte(os.Args[1]))
	if b == nil {
		return
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = c.Verify(x509.VerifyOptions{})
	fmt.Println(c.Subject, err, c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature))
}
