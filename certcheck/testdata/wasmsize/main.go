// Command wasmsize is the smallest program that checks a pasted PEM
// certificate: TestWasmSize builds it for js/wasm and measures it.
package main

import (
	"fmt"
	"os"

	"github.com/sipoauth/sdk/certcheck"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	fs, certs, err := certcheck.CheckPEMCerts([]byte(os.Args[1]), certcheck.Options{Host: "cucm1.example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range certs {
		fmt.Println(c.Subject, c.Key)
	}
	for _, f := range fs {
		fmt.Println(f)
	}
}
