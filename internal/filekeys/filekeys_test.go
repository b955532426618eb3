package filekeys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/keyfile"
	"github.com/sipoauth/sdk/sipoauth"
)

// A validator over a Source takes the tokens of the keys the file holds,
// by kid, by Unified CM's kid and as the only key, and refuses the others
// as sipoauth does.
func TestSource(t *testing.T) {
	a, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	b, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	ctx := context.Background()
	s := new(Source)
	if _, err := s.VerificationKey(ctx, "", "ES256"); !errors.Is(err, sipoauth.ErrUnknownKey) {
		t.Fatalf("no keys: %v", err)
	}
	if err := s.Load(a.PublicKeyPEM()); err != nil {
		t.Fatal(err)
	}
	v, _ := sipoauth.New(sipoauth.Config{Keys: s})
	tok, _ := a.Mint(issuer.TokenRequest{User: "rado"})
	if id, err := v.Validate(ctx, tok); err != nil || id.User != "rado" {
		t.Errorf("token of the key, by Unified CM's kid: %+v %v", id, err)
	}
	tok, _ = b.Mint(issuer.TokenRequest{User: "rado"})
	if _, err := v.Validate(ctx, tok); !errors.Is(err, sipoauth.ErrUnknownKey) {
		t.Errorf("token of another key: %v", err)
	}
	// A JWK for ES256 is not one for ES384: sipoauth's ErrAlgorithm.
	if err := s.Load(a.JWKS()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerificationKey(ctx, a.KeyID(), "ES384"); !errors.Is(err, sipoauth.ErrAlgorithm) {
		t.Errorf("ES256 JWK for ES384: %v", err)
	}
}

// TestSourceReload: keys loaded without a key take the tokens of that key
// out of the validator's cache at once, for PEM and JWKS files alike; a
// load that fails keeps the keys.
func TestSourceReload(t *testing.T) {
	a, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	b, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	ctx := context.Background()
	for name, content := range map[string]func(*issuer.Issuer) []byte{
		"PEM":  (*issuer.Issuer).PublicKeyPEM,
		"JWKS": (*issuer.Issuer).JWKS,
	} {
		t.Run(name, func(t *testing.T) {
			s := new(Source)
			if err := s.Load(content(a)); err != nil {
				t.Fatal(err)
			}
			v, _ := sipoauth.New(sipoauth.Config{Keys: s})
			tok, _ := a.Mint(issuer.TokenRequest{User: "rado"})
			for range 2 {
				if _, err := v.Validate(ctx, tok); err != nil {
					t.Fatal(err)
				}
			}
			g := s.Generation()
			if err := s.Load([]byte("not a key")); err == nil || s.Generation() != g {
				t.Fatalf("a bad file: %v, generation %d → %d", err, g, s.Generation())
			}
			if _, err := v.Validate(ctx, tok); err != nil {
				t.Fatalf("after a load that failed: %v", err)
			}
			if err := s.Load(content(b)); err != nil {
				t.Fatal(err)
			}
			if s.Generation() == g {
				t.Fatal("generation unchanged by a load")
			}
			if _, err := v.Validate(ctx, tok); !errors.Is(err, sipoauth.ErrUnknownKey) {
				t.Fatalf("token of the removed key: %v", err)
			}
			tok, _ = b.Mint(issuer.TokenRequest{User: "rado"})
			if _, err := v.Validate(ctx, tok); err != nil {
				t.Fatalf("token of the new key: %v", err)
			}
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	iss, _ := issuer.New(issuer.Config{})
	s := new(Source)
	for content, want := range map[string]string{
		`{"keys": []}`:           "has no keys",
		`{"keys": [1]`:           "not a JWKS document",
		"not a key":              "no public key",
		`{"keys": [{}]}`:         "JWKS",
		string(iss.JWKS()) + "x": "not a JWKS document",
		string(iss.PublicKeyPEM()) + string(iss.PublicKeyPEM()): "given twice",
	} {
		if err := s.Load([]byte(content)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: %v, want %q", content, err, want)
		}
	}
	keys, err := keyfile.ParsePEM(privatePEM(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSet(keys); err == nil || !strings.Contains(err.Error(), "key 1 is a private key") {
		t.Errorf("a private key: %v", err)
	}
}

func privatePEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
