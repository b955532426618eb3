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
	signing, err := keyforms.Signing(t.TempDir(), iss.PublicKeyPEM(), iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := keyforms.Cluster(t.TempDir(), kid, key)
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
	for _, k := range signing {
		t.Run("signing key as "+k.Form, func(t *testing.T) { check(t, k.Path, cluster[0].Path) })
	}
	for _, dk := range cluster {
		t.Run("cluster key as "+dk.Form, func(t *testing.T) { check(t, signing[0].Path, dk.Path) })
	}
}
