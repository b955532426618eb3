package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
)

// A PEM key answers to its fingerprint, to Unified CM's
// "<uuid>:<fingerprint>" and, with a single key, to a token naming none;
// a Key-ID header names it instead.
func TestPEMKeys(t *testing.T) {
	a, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	b, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	fpA, err := keyFingerprint(a.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	// The issuer's kid is Unified CM's form, ending with the fingerprint.
	if !strings.HasSuffix(a.KeyID(), ":"+fpA) {
		t.Fatalf("kid %q, fingerprint %s", a.KeyID(), fpA)
	}
	ctx := context.Background()
	is := func(k crypto.PublicKey, want crypto.PublicKey) bool {
		e, ok := k.(interface{ Equal(crypto.PublicKey) bool })
		return ok && e.Equal(want)
	}

	one, err := parsePEMKeys(a.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{fpA, a.KeyID(), "", "other-cluster:" + fpA} {
		if k, err := one.VerificationKey(ctx, kid, "ES256"); err != nil || !is(k, a.PublicKey()) {
			t.Errorf("kid %q: %v", kid, err)
		}
	}
	for _, kid := range []string{"lab-1", "x:" + strings.Repeat("0", 64), "x:"} {
		if _, err := one.VerificationKey(ctx, kid, "ES256"); !errors.Is(err, sipoauth.ErrUnknownKey) {
			t.Errorf("kid %q: %v, want ErrUnknownKey", kid, err)
		}
	}

	// Two keys, the second named by a header: no key for a token without kid.
	blk, _ := pem.Decode(b.PublicKeyPEM())
	blk.Headers = map[string]string{"Key-ID": "lab-1"}
	two, err := parsePEMKeys(append(a.PublicKeyPEM(), pem.EncodeToMemory(blk)...))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := two.VerificationKey(ctx, "lab-1", "ES256"); err != nil || !is(k, b.PublicKey()) {
		t.Errorf("lab-1: %v", err)
	}
	if k, err := two.VerificationKey(ctx, a.KeyID(), "ES256"); err != nil || !is(k, a.PublicKey()) {
		t.Errorf("%s: %v", a.KeyID(), err)
	}
	if _, err := two.VerificationKey(ctx, "", "ES256"); !errors.Is(err, sipoauth.ErrUnknownKey) {
		t.Errorf("no kid among two keys: %v", err)
	}

	// End to end through a validator: tokens of a verify, of b (named by
	// fingerprint, not by lab-1) do not.
	v, _ := sipoauth.New(sipoauth.Config{Keys: two})
	tok, _ := a.Mint(issuer.TokenRequest{User: "rado"})
	if id, err := v.Validate(ctx, tok); err != nil || id.User != "rado" {
		t.Errorf("token of a: %+v %v", id, err)
	}
	tok, _ = b.Mint(issuer.TokenRequest{User: "rado"})
	if _, err := v.Validate(ctx, tok); !errors.Is(err, sipoauth.ErrUnknownKey) {
		t.Errorf("token of b: %v", err)
	}

	for name, data := range map[string]string{
		"empty":          "",
		"private key":    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"same key twice": string(a.PublicKeyPEM()) + string(a.PublicKeyPEM()),
	} {
		if _, err := parsePEMKeys([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestKeysFile(t *testing.T) {
	iss, _ := issuer.New(issuer.Config{})
	dir := t.TempDir()
	p := filepath.Join(dir, "keys")
	ctx := context.Background()

	writeFile(t, p, "\n  "+string(iss.JWKS()))
	ks, err := loadKeysFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ks.(*sipoauth.JWKS); !ok {
		t.Fatalf("JWKS file read as %T", ks)
	}
	if _, err := ks.VerificationKey(ctx, iss.KeyID(), "RS256"); err != nil {
		t.Fatalf("JWKS key: %v", err)
	}
	writeFile(t, p, string(iss.PublicKeyPEM()))
	if ks, err = loadKeysFile(p); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.VerificationKey(ctx, iss.KeyID(), "RS256"); err != nil {
		t.Fatalf("PEM key: %v", err)
	}
	for content, want := range map[string]string{
		`{"keys": []}`:           "has no keys",
		`{"keys": [1]`:           "not a JWKS document",
		"not a key":              "no public key",
		`{"keys": [{}]}`:         "JWKS",
		string(iss.JWKS()) + "x": "not a JWKS document",
	} {
		writeFile(t, p, content)
		if _, err := loadKeysFile(p); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: %v, want the file and %q", content, err, want)
		}
	}
}

func TestDecryptionKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dk.json")
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		writeFile(t, p, `{"kid-1": "`+enc.EncodeToString(key)+`"}`)
		m, err := loadDecryptionKeys(p)
		if err != nil || len(m) != 1 || string(m["kid-1"]) != string(key) {
			t.Fatalf("%v: %v %v", enc, m, err)
		}
	}
	for content, want := range map[string]string{
		`{}`:           "no key",
		`["AAAA"]`:     "want a JSON object",
		`{"k": "@@@"}`: `key "k": not base64`,
		`{"k": "` + base64.StdEncoding.EncodeToString(key[:16]) + `"}`: `key "k": 16 bytes, want 32`,
		`{"k": 32}`: "want a JSON object",
	} {
		writeFile(t, p, content)
		if _, err := loadDecryptionKeys(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", content, err, want)
		}
	}
}

// TestJWKSURL: keys fetched from the issuer's JWKS endpoint verify its
// tokens.
func TestJWKSURL(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.issuer.Handler())
	defer srv.Close()
	r := f.start("-edge", "", "-keys", "", "-jwks", srv.URL+"/.well-known/jwks.json")
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	req := c.register("CSFrado", "rado")
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`))
	if res := c.do(t, req); res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("with a token:\n%s", res)
	}
}

// TestSwapKeysReload: a -keys file reloaded without a key takes the
// tokens of that key out of the validator's cache at once, for PEM and
// JWKS files alike.
func TestSwapKeysReload(t *testing.T) {
	a, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	b, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	ctx := context.Background()
	for name, content := range map[string]func(*issuer.Issuer) []byte{
		"PEM":  (*issuer.Issuer).PublicKeyPEM,
		"JWKS": (*issuer.Issuer).JWKS,
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys")
			keys := new(swapKeys)
			load := func(iss *issuer.Issuer) {
				t.Helper()
				writeFile(t, p, string(content(iss)))
				ks, err := loadKeysFile(p)
				if err != nil {
					t.Fatal(err)
				}
				keys.set(ks)
			}
			load(a)
			if _, ok := sipoauth.KeySource(keys).(sipoauth.Generational); !ok {
				t.Fatal("swapKeys does not say when its keys change")
			}
			v, _ := sipoauth.New(sipoauth.Config{Keys: keys})
			tok, _ := a.Mint(issuer.TokenRequest{User: "rado"})
			for range 2 {
				if _, err := v.Validate(ctx, tok); err != nil {
					t.Fatal(err)
				}
			}
			g := keys.Generation()
			load(b)
			if keys.Generation() == g {
				t.Fatal("generation unchanged by a reload")
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

// TestSwapKeysGeneration: swapKeys changes generation when it is set and
// when the source it holds changes.
func TestSwapKeysGeneration(t *testing.T) {
	a, _ := issuer.New(issuer.Config{Algorithm: "ES256"})
	pk, err := parsePEMKeys(a.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	keys := new(swapKeys)
	keys.set(pk)
	seen := map[uint64]bool{keys.Generation(): true}
	if err := pk.static.Set(map[string]crypto.PublicKey{"other": a.PublicKey()}); err != nil {
		t.Fatal(err)
	}
	if seen[keys.Generation()] {
		t.Fatal("generation unchanged by a change of the source")
	}
	seen[keys.Generation()] = true
	keys.set(pk)
	if seen[keys.Generation()] {
		t.Fatal("generation unchanged by set")
	}
}
