package main

import (
	"context"
	"testing"

	"github.com/sipoauth/sdk/internal/keyforms"
	"github.com/sipoauth/sdk/issuer"
)

// TestKeyForms: the edge proxy's -keys and -cluster-key read the signing
// key and the cluster key in every form keyforms writes (the registrar's
// and sipoauth token verify's tests read the same forms), and accept the
// nested token with Unified CM's "<uuid>:<fingerprint>" kid the registrar
// accepts.
func TestKeyForms(t *testing.T) {
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
	check := func(t *testing.T, keys, dk string) {
		v, closeKeys, err := validator(&options{validate: true, keyFiles: []string{keys}, clusterKeys: []string{dk}})
		if err != nil {
			t.Fatal(err)
		}
		defer closeKeys()
		id, err := v.Validate(context.Background(), tok)
		if err != nil || id.User != "rado" || !id.Nested {
			t.Fatalf("token: %+v %v", id, err)
		}
	}
	for _, p := range pairs {
		t.Run(p.Name, func(t *testing.T) { check(t, p.Signing, p.Cluster) })
	}
}
