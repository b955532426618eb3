package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
)

// TestKeyFlags: the validator of -keys and -cluster-key takes Unified
// CM's nested tokens with every form of the flags, the old ones (KID=FILE
// of a PEM key, KID=HEX) among them, and refuses what it should.
func TestKeyFlags(t *testing.T) {
	dir := t.TempDir()
	iss, err := issuer.New(issuer.Config{Nested: true})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	authz := write("authz.pem", iss.PublicKeyPEM())
	otherPEM := write("other.pem", other.PublicKeyPEM())
	jwks := write("jwks.json", iss.JWKS())
	kid, key := iss.EncryptionKey()
	jwk, _ := json.Marshal(map[string]string{"kty": "oct", "kid": kid, "k": base64.RawURLEncoding.EncodeToString(key)})
	jwkFile := write("cluster.jwk", jwk)
	bare := write("cluster.hex", []byte(hex.EncodeToString(key)+"\n"))
	tok, err := iss.Mint(issuer.TokenRequest{User: "rado"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	for _, tc := range []struct {
		name        string
		keys, dks   []string
		err, refuse string // an error of validator, or a reason the token is refused for
	}{
		{name: "KID=FILE and KID=HEX", keys: []string{iss.KeyID() + "=" + authz}, dks: []string{kid + "=" + hex.EncodeToString(key)}},
		{name: "KID=base64", keys: []string{iss.KeyID() + "=" + authz}, dks: []string{kid + "=" + base64.StdEncoding.EncodeToString(key)}},
		{name: "FILE by Unified CM's kid, JWK file", keys: []string{authz, "lab-2=" + otherPEM}, dks: []string{jwkFile}},
		{name: "JWKS of the key", keys: []string{jwks}, dks: []string{jwkFile}},
		{name: "another key only", keys: []string{otherPEM}, dks: []string{jwkFile}, refuse: "unknown signing key"},
		{name: "no cluster key", keys: []string{authz}, refuse: "cannot decrypt"},
		{name: "KID=HEX of 16 bytes", keys: []string{authz}, dks: []string{kid + "=" + hex.EncodeToString(key[:16])}, err: "-cluster-key " + kid + "=: keyfile: cluster key: 16 bytes, want 32"},
		{name: "a cluster key file without kid", keys: []string{authz}, dks: []string{bare}},
		{name: "two keys without KID", keys: []string{authz, otherPEM}, err: `key id "" given twice`},
		{name: "a file of two keys", keys: []string{write("two.pem", append(iss.PublicKeyPEM(), other.PublicKeyPEM()...))}, err: "holds 2 keys"},
		{name: "not a key", keys: []string{write("junk.pem", []byte("junk"))}, err: "junk.pem: keyfile: no public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, closeKeys, err := validator(&options{keyFiles: tc.keys, clusterKeys: tc.dks})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeKeys()
			id, err := v.Validate(ctx, tok)
			if tc.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refuse) || errors.Is(err, sipoauth.ErrUnavailable) {
					t.Fatalf("token: %+v %v, want a refusal for %q", id, err, tc.refuse)
				}
				return
			}
			if err != nil || id.User != "rado" || !id.Nested {
				t.Fatalf("token: %+v %v", id, err)
			}
		})
	}
}
