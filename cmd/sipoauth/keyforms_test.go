package main

import (
	"testing"

	"github.com/sipoauth/sdk/internal/keyforms"
	"github.com/sipoauth/sdk/issuer"
)

// TestTokenVerifyKeyForms: token verify reads the signing key (--keys)
// and the cluster key (--decryption-key) in every form keyforms writes
// (the registrar's and the edge proxy's tests read the same forms), and
// verifies a nested token with Unified CM's "<uuid>:<fingerprint>" kid
// with each.
func TestTokenVerifyKeyForms(t *testing.T) {
	iss, err := issuer.New(issuer.Config{Nested: true})
	if err != nil {
		t.Fatal(err)
	}
	kid, key := iss.EncryptionKey()
	pairs, err := keyforms.Pairs(t.TempDir(), iss.PublicKeyPEM(), iss.JWKS(), kid, key)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		t.Run(p.Name, func(t *testing.T) {
			cli(t, "", "token", "verify", "--keys", p.Signing, "--decryption-key", p.Cluster, tok).want(t, exitOK).contains(t, "  user      rado\n")
		})
	}
}
