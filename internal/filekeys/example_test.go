package filekeys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/sipoauth/sdk/internal/filekeys"
	"github.com/sipoauth/sdk/keyfile"
)

// A PEM public key answers to Unified CM's kid, whose end is its
// fingerprint.
func Example() {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	keys := new(filekeys.Source)
	if err := keys.Load(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})); err != nil {
		panic(err)
	}
	fp, _ := keyfile.Fingerprint(&k.PublicKey)
	_, err := keys.VerificationKey(context.Background(), "0f5e1d3c-3b2a-4c8e-9a6b-5d4c3b2a1f0e:"+fp, "ES256")
	fmt.Println(err)
	_, err = keys.VerificationKey(context.Background(), "another", "ES256")
	fmt.Println(err)
	// Output:
	// <nil>
	// sipoauth: unknown signing key: keyfile: no key "another"
}
