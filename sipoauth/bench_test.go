package sipoauth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// BenchmarkValidateColdRS256 validates an RS256 access token with the
// cache off: every call parses, verifies and checks the claims.
func BenchmarkValidateColdRS256(b *testing.B) {
	v := newValidator(b, func(c *Config) { c.CacheSize = -1 })
	tok := rs256(b, claims())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineRSAVerify is the floor under the cold validation: the
// SHA-256 and rsa.VerifyPKCS1v15 of the same token's signing input.
func BenchmarkBaselineRSAVerify(b *testing.B) {
	testKeys(b)
	tok := rs256(b, claims())
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256([]byte(tok[:i]))
		if err := rsa.VerifyPKCS1v15(&rsaKey.PublicKey, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrecomputedRSAVerify is the baseline's work as the validator
// does it: the same SHA-256 and PKCS #1 v1.5 check, with the key's modulus
// precomputed once (rsaVerifier) where crypto/rsa rebuilds it every call.
func BenchmarkPrecomputedRSAVerify(b *testing.B) {
	testKeys(b)
	tok := rs256(b, claims())
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	k, err := newRSAVerifier(&rsaKey.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256([]byte(tok[:i]))
		if err := k.verify(crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateColdNested validates Unified CM's shape, cache off:
// signature, then decryption of the private claims.
func BenchmarkValidateColdNested(b *testing.B) {
	v := newValidator(b, func(c *Config) { c.CacheSize = -1 })
	tok := cucm(b, seal(b, encKey, "enc1", claims()))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateCached validates a token already in the cache, with
// revocation consulted, from all cores at once.
func BenchmarkValidateCached(b *testing.B) {
	v := newValidator(b, func(c *Config) { c.CacheSize = 0; c.Revocation = &MemoryRevocation{} })
	tok := cucm(b, seal(b, encKey, "enc1", claims()))
	ctx := context.Background()
	if _, err := v.Validate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkValidateCachedSerial is the same on one goroutine.
func BenchmarkValidateCachedSerial(b *testing.B) {
	v := newValidator(b, func(c *Config) { c.CacheSize = 0; c.Revocation = &MemoryRevocation{} })
	tok := cucm(b, seal(b, encKey, "enc1", claims()))
	ctx := context.Background()
	v.Validate(ctx, tok)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
