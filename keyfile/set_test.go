package keyfile_test

import (
	"crypto"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/keyfile"
)

func same(k crypto.PublicKey, want crypto.PublicKey) bool {
	e, ok := k.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(want)
}

// A PEM key answers to its fingerprint, to Unified CM's
// "<uuid>:<fingerprint>" and, as a set's only key, to a token naming
// none; a Key-ID header names it instead.
func TestLookupPEM(t *testing.T) {
	a, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	b, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	fpA, err := keyfile.Fingerprint(a.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	// The issuer's kid is Unified CM's form, ending with the fingerprint:
	// the rule that keeps its tokens verifying with its PEM key.
	if !strings.HasSuffix(a.KeyID(), ":"+fpA) {
		t.Fatalf("kid %q, fingerprint %s", a.KeyID(), fpA)
	}

	one, err := keyfile.ParseKeySet(a.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{fpA, a.KeyID(), "", "other-cluster:" + fpA} {
		if k, err := one.Lookup(kid, "ES256"); err != nil || !same(k.Public, a.PublicKey()) || k.ID != fpA {
			t.Errorf("kid %q: %+v %v", kid, k, err)
		}
	}
	for _, kid := range []string{"lab-1", "x:" + strings.Repeat("0", 64), "x:", fpA + ":"} {
		if _, err := one.Lookup(kid, "ES256"); !errors.Is(err, keyfile.ErrUnknownKey) {
			t.Errorf("kid %q: %v, want ErrUnknownKey", kid, err)
		}
	}

	// Two keys, the second named by a header: no key for a token without
	// a kid, and b's fingerprint does not name it.
	blk, _ := pem.Decode(b.PublicKeyPEM())
	blk.Headers = map[string]string{keyfile.KeyIDHeader: "lab-1"}
	two, err := keyfile.ParseKeySet(append(a.PublicKeyPEM(), pem.EncodeToMemory(blk)...))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := two.Lookup("lab-1", "ES256"); err != nil || !same(k.Public, b.PublicKey()) {
		t.Errorf("lab-1: %v", err)
	}
	if k, err := two.Lookup(a.KeyID(), "ES256"); err != nil || !same(k.Public, a.PublicKey()) {
		t.Errorf("%s: %v", a.KeyID(), err)
	}
	if _, err := two.Lookup(b.KeyID(), "ES256"); !errors.Is(err, keyfile.ErrUnknownKey) {
		t.Errorf("b by its fingerprint, named lab-1: %v", err)
	}
	if _, err := two.Lookup("", "ES256"); !errors.Is(err, keyfile.ErrUnknownKey) || !strings.Contains(err.Error(), "names no key and the set has 2") {
		t.Errorf("no kid among two keys: %v", err)
	}
	if two.Len() != 2 || two.Keys()[1].ID != "lab-1" {
		t.Errorf("keys %+v", two.Keys())
	}
}

// A JWK answers to its kid, and verifies the algorithm its alg names only.
func TestLookupJWKS(t *testing.T) {
	iss, _ := issuer.New(issuer.Config{})
	set, err := keyfile.ParseKeySet(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if k, err := set.Lookup(iss.KeyID(), "RS256"); err != nil || !same(k.Public, iss.PublicKey()) || k.Alg != "RS256" {
		t.Fatalf("the issuer's key: %+v %v", k, err)
	}
	if _, err := set.Lookup(iss.KeyID(), "PS256"); !errors.Is(err, keyfile.ErrAlgorithm) {
		t.Errorf("RS256 key for PS256: %v", err)
	}
}

func TestNewKeySet(t *testing.T) {
	keys, err := keyfile.ParsePublicKeys(read(t, "same-key-twice.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyfile.NewKeySet(keys); !errors.Is(err, keyfile.ErrDuplicateID) || !strings.Contains(err.Error(), "key 2: key id") {
		t.Errorf("same key twice: %v", err)
	}
	if _, err := keyfile.NewKeySet(nil); !errors.Is(err, keyfile.ErrNoKey) {
		t.Errorf("no keys: %v", err)
	}
	for name, data := range map[string]string{
		"empty":       "",
		"private key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		if _, err := keyfile.ParseKeySet([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
