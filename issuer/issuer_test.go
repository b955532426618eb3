package issuer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sipoauth/sdk/internal/ucmtoken"
)

var (
	t0       = time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)
	kidRE    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}:[0-9a-f]{64}$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	jtiRE    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	rsaOnce  sync.Once
	rsaPEM   []byte
	encKey32 = bytes.Repeat([]byte{7}, 32)
)

// testClock is a settable clock for Issuer.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func fixedNow() time.Time { return t0 }

// sharedRSAPEM is one RSA key for the tests that do not care which,
// generated once because RSA generation is slow.
func sharedRSAPEM(t testing.TB) []byte {
	t.Helper()
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	return rsaPEM
}

func mustNew(t *testing.T, cfg Config) *Issuer {
	t.Helper()
	i, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return i
}

// tokenSegment decodes the JSON of the n-th dot-separated segment of a
// compact JWS or JWE.
func tokenSegment(t *testing.T, tok string, n int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if n >= len(parts) {
		t.Fatalf("token has %d segments, want more than %d", len(parts), n)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[n])
	if err != nil {
		t.Fatalf("segment %d: %v", n, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("segment %d: %v", n, err)
	}
	return m
}

// verifyToken parses and verifies a token with key for alg, at t0
// unless now is given, and returns its claims.
func verifyToken(t *testing.T, tok, alg string, key crypto.PublicKey, now func() time.Time) jwt.MapClaims {
	t.Helper()
	if now == nil {
		now = fixedNow
	}
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithTimeFunc(now)).
		ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return key, nil })
	if err != nil {
		t.Fatalf("verifying %s token: %v", alg, err)
	}
	return claims
}

// decryptJWE decrypts the private claim of a nested token.
func decryptJWE(t *testing.T, jwe string, key []byte) map[string]any {
	t.Helper()
	obj, err := jose.ParseEncryptedCompact(jwe, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A128CBC_HS256})
	if err != nil {
		t.Fatalf("ParseEncrypted: %v", err)
	}
	plain, err := obj.Decrypt(key)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(plain, &m); err != nil {
		t.Fatalf("private claims: %v", err)
	}
	return m
}

// takeJTI checks and removes the random jti of claims.
func takeJTI(t *testing.T, claims map[string]any) {
	t.Helper()
	jti, _ := claims["jti"].(string)
	if !jtiRE.MatchString(jti) {
		t.Errorf("jti = %v, want 32 hex digits", claims["jti"])
	}
	delete(claims, "jti")
}

func sameClaims(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("%s\n got %s\nwant %s", what, gj, wj)
	}
}

func TestMintAlgorithms(t *testing.T) {
	rsa2048 := func(k crypto.PublicKey) bool {
		r, ok := k.(*rsa.PublicKey)
		return ok && r.N.BitLen() == 2048
	}
	onCurve := func(c elliptic.Curve) func(crypto.PublicKey) bool {
		return func(k crypto.PublicKey) bool {
			e, ok := k.(*ecdsa.PublicKey)
			return ok && e.Curve == c
		}
	}
	isEd25519 := func(k crypto.PublicKey) bool {
		e, ok := k.(ed25519.PublicKey)
		return ok && len(e) == ed25519.PublicKeySize
	}
	for _, tc := range []struct {
		alg   string
		check func(crypto.PublicKey) bool
	}{
		{"RS256", rsa2048},
		{"RS384", rsa2048},
		{"RS512", rsa2048},
		{"PS256", rsa2048},
		{"ES256", onCurve(elliptic.P256())},
		{"ES384", onCurve(elliptic.P384())},
		{"EdDSA", isEd25519},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			iss := mustNew(t, Config{Algorithm: tc.alg, Now: fixedNow})
			if !tc.check(iss.PublicKey()) {
				t.Fatalf("PublicKey() is %T, not the key %s wants", iss.PublicKey(), tc.alg)
			}
			if !kidRE.MatchString(iss.KeyID()) {
				t.Errorf("KeyID() = %q, want <UUIDv4>:<64 hex>", iss.KeyID())
			}
			tok, err := iss.Mint(TokenRequest{User: "alice", Device: "CSFALICE", ClientID: "jabber", Scopes: []string{"sip:register", "openid"}})
			if err != nil {
				t.Fatal(err)
			}
			sameClaims(t, "header", tokenSegment(t, tok, 0), map[string]any{"alg": tc.alg, "kid": iss.KeyID(), "typ": "at+jwt"})
			claims := verifyToken(t, tok, tc.alg, iss.PublicKey(), nil)
			takeJTI(t, claims)
			sameClaims(t, "claims", claims, map[string]any{
				"iss":       "https://issuer.example.test",
				"sub":       "alice",
				"exp":       float64(t0.Unix() + 3600),
				"iat":       float64(t0.Unix()),
				"nbf":       float64(t0.Unix()),
				"scope":     "sip:register openid",
				"device":    "CSFALICE",
				"client_id": "jabber",
			})
		})
	}
}

func TestMintClaims(t *testing.T) {
	pemKey := sharedRSAPEM(t)
	iat := float64(t0.Unix())
	for _, tc := range []struct {
		name string
		cfg  Config
		req  TokenRequest
		want map[string]any
	}{
		{
			name: "minimal",
			req:  TokenRequest{User: "bob"},
			want: map[string]any{"iss": "https://issuer.example.test", "sub": "bob", "exp": iat + 3600, "iat": iat, "nbf": iat},
		},
		{
			name: "one audience is a string",
			cfg:  Config{Issuer: "https://cucm.example.com:8443", Audience: []string{"ccmsipline"}, AccessTTL: 10 * time.Minute},
			req:  TokenRequest{User: "bob", Scopes: []string{"sip:register"}},
			want: map[string]any{"iss": "https://cucm.example.com:8443", "sub": "bob", "aud": "ccmsipline", "exp": iat + 600, "iat": iat, "nbf": iat, "scope": "sip:register"},
		},
		{
			name: "two audiences are an array",
			cfg:  Config{Audience: []string{"a", "b"}},
			req:  TokenRequest{User: "bob", TTL: 90 * time.Second},
			want: map[string]any{"iss": "https://issuer.example.test", "sub": "bob", "aud": []any{"a", "b"}, "exp": iat + 90, "iat": iat, "nbf": iat},
		},
		{
			name: "extra claims add, replace and remove",
			req:  TokenRequest{User: "bob", Extra: map[string]any{"iss": "https://evil.example", "exp": nil, "roles": []string{"x"}}},
			want: map[string]any{"iss": "https://evil.example", "sub": "bob", "iat": iat, "nbf": iat, "roles": []any{"x"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.SigningKeyPEM, tc.cfg.Now = pemKey, fixedNow
			iss := mustNew(t, tc.cfg)
			tok, err := iss.Mint(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			claims := jwt.MapClaims{}
			// Claims validation off: the "remove exp" case has none.
			_, err = jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation()).
				ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return iss.PublicKey(), nil })
			if err != nil {
				t.Fatal(err)
			}
			takeJTI(t, claims)
			sameClaims(t, "claims", claims, tc.want)
		})
	}

	iss := mustNew(t, Config{SigningKeyPEM: pemKey, Now: fixedNow})
	if _, err := iss.Mint(TokenRequest{}); err == nil {
		t.Error("Mint without a user: no error")
	}
	if _, err := iss.MintRefresh("", "c"); err == nil {
		t.Error("MintRefresh without a user: no error")
	}
	// A negative TTL makes an expired token, which a validator refuses.
	tok, err := iss.Mint(TokenRequest{User: "bob", TTL: -time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = jwt.NewParser(jwt.WithTimeFunc(fixedNow)).Parse(tok, func(*jwt.Token) (any, error) { return iss.PublicKey(), nil })
	if !strings.Contains(errString(err), "expired") {
		t.Errorf("negative TTL: err = %v, want expired", err)
	}
	// Two tokens never share a jti.
	a, _ := iss.Mint(TokenRequest{User: "bob"})
	b, _ := iss.Mint(TokenRequest{User: "bob"})
	if tokenSegment(t, a, 1)["jti"] == tokenSegment(t, b, 1)["jti"] {
		t.Error("two tokens with the same jti")
	}
}

// errString is err.Error(), or "<nil>".
func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// jwkSet reads the issuer's JWKS with go-jose, an independent reader.
func jwkSet(t *testing.T, iss *Issuer) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	return set
}

func TestMintNested(t *testing.T) {
	pemKey := sharedRSAPEM(t)
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		cfg    Config
		nested *bool
		want   bool
	}{
		{"config nested", Config{Nested: true, SigningKeyPEM: pemKey}, nil, true},
		{"request nested", Config{SigningKeyPEM: pemKey}, &yes, true},
		{"request plain overrides config", Config{Nested: true, SigningKeyPEM: pemKey}, &no, false},
		{"ES256 issuer signs nested with RSA", Config{Algorithm: "ES256", Nested: true}, nil, true},
		{"EdDSA issuer signs nested with RSA", Config{Algorithm: "EdDSA", EncryptionKey: encKey32, EncryptionKeyID: "enc-1"}, &yes, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Now = fixedNow
			tc.cfg.Issuer = "https://cucm.example.com:8443"
			iss := mustNew(t, tc.cfg)
			tok, err := iss.Mint(TokenRequest{User: "alice", Device: "CSFALICE", Scopes: []string{"sip:register"}, Nested: tc.nested})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"iss":    "https://cucm.example.com:8443",
				"sub":    "alice",
				"exp":    float64(t0.Unix() + 3600),
				"iat":    float64(t0.Unix()),
				"nbf":    float64(t0.Unix()),
				"scope":  "sip:register",
				"device": "CSFALICE",
			}
			if !tc.want {
				if typ := tokenSegment(t, tok, 0)["typ"]; typ != "at+jwt" {
					t.Fatalf("typ = %v, want a plain at+jwt token", typ)
				}
				return
			}

			hdr := tokenSegment(t, tok, 0)
			kid, _ := hdr["kid"].(string)
			sameClaims(t, "outer header", hdr, map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"})
			// The outer key is published for RS256 whatever the issuer's algorithm.
			set := jwkSet(t, iss)
			keys := set.Key(kid)
			if len(keys) != 1 || keys[0].Algorithm != "RS256" {
				t.Fatalf("JWKS has %d keys with kid %q (%+v), want one RS256 key", len(keys), kid, keys)
			}
			if tc.cfg.Algorithm == "" && kid != iss.KeyID() {
				t.Errorf("RS256 issuer: outer kid %q, want KeyID %q", kid, iss.KeyID())
			}
			if tc.cfg.Algorithm != "" && kid == iss.KeyID() {
				t.Errorf("%s issuer: outer kid is the %s key's", tc.cfg.Algorithm, tc.cfg.Algorithm)
			}
			outer := verifyToken(t, tok, "RS256", keys[0].Key, nil)
			if len(outer) != 1 {
				t.Errorf("outer claims %v, want only %q", outer, ucmtoken.ClaimPrivate)
			}
			jwe, _ := outer[ucmtoken.ClaimPrivate].(string)

			encKID, encKey := iss.EncryptionKey()
			if len(encKey) != 32 {
				t.Fatalf("encryption key of %d bytes", len(encKey))
			}
			if tc.cfg.EncryptionKeyID != "" {
				if encKID != tc.cfg.EncryptionKeyID || !bytes.Equal(encKey, tc.cfg.EncryptionKey) {
					t.Errorf("EncryptionKey() = %q, %x; want the configured ones", encKID, encKey)
				}
			} else if !uuidRE.MatchString(encKID) {
				t.Errorf("encryption kid %q, want a UUID", encKID)
			}
			if n := strings.Count(jwe, "."); n != 4 {
				t.Fatalf("private claim has %d dots, want a compact JWE", n)
			}
			sameClaims(t, "JWE header", tokenSegment(t, jwe, 0), map[string]any{"alg": "dir", "enc": "A128CBC-HS256", "kid": encKID})
			inner := decryptJWE(t, jwe, encKey)
			takeJTI(t, inner)
			sameClaims(t, "private claims", inner, want)

			// Another key does not decrypt.
			obj, err := jose.ParseEncryptedCompact(jwe, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A128CBC_HS256})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := obj.Decrypt(bytes.Repeat([]byte{1}, 32)); err == nil {
				t.Error("decrypted with the wrong key")
			}
		})
	}
}

func TestPEM(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)

	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return block("PRIVATE KEY", der)
	}
	sec1 := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return block("EC PRIVATE KEY", der)
	}

	for _, tc := range []struct {
		name    string
		pem     []byte
		alg     string
		kid     string
		pub     crypto.PublicKey
		wantAlg string
		wantErr string
	}{
		{name: "RSA PKCS#1", pem: block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), pub: &rsaKey.PublicKey, wantAlg: "RS256"},
		{name: "RSA PKCS#8 for PS256", pem: pkcs8(rsaKey), alg: "PS256", kid: "my-kid", pub: &rsaKey.PublicKey, wantAlg: "PS256"},
		{name: "P-256 SEC1 after EC PARAMETERS", pem: append(block("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), sec1(p256)...), pub: &p256.PublicKey, wantAlg: "ES256"},
		{name: "P-384 PKCS#8", pem: pkcs8(p384), pub: &p384.PublicKey, wantAlg: "ES384"},
		{name: "Ed25519 PKCS#8", pem: pkcs8(edKey), pub: edKey.Public(), wantAlg: "EdDSA"},
		{name: "RSA 1024 refused", pem: block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa1024)), wantErr: "1024 bits"},
		{name: "RSA key for ES256", pem: pkcs8(rsaKey), alg: "ES256", wantErr: "cannot sign ES256"},
		{name: "P-256 key for ES384", pem: sec1(p256), alg: "ES384", wantErr: "cannot sign ES384"},
		{name: "P-521 unsupported", pem: sec1(p521), wantErr: "cannot sign ES256"},
		{name: "Ed25519 key for RS256", pem: pkcs8(edKey), alg: "RS256", wantErr: "cannot sign RS256"},
		{name: "encrypted", pem: block("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), wantErr: "encrypted"},
		{name: "public key only", pem: block("PUBLIC KEY", []byte{1, 2, 3}), wantErr: "no private key"},
		{name: "garbage DER", pem: block("RSA PRIVATE KEY", []byte("junk")), wantErr: "RSA PRIVATE KEY"},
		{name: "not PEM", pem: []byte("hello"), wantErr: "no private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss, err := New(Config{SigningKeyPEM: tc.pem, Algorithm: tc.alg, KeyID: tc.kid, Now: fixedNow})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pk, ok := iss.PublicKey().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(tc.pub) {
				t.Errorf("PublicKey() is not the PEM's key")
			}
			if tc.kid != "" && iss.KeyID() != tc.kid {
				t.Errorf("KeyID() = %q, want %q", iss.KeyID(), tc.kid)
			}
			b, _ := pem.Decode(iss.PublicKeyPEM())
			if b == nil || b.Type != "PUBLIC KEY" {
				t.Fatalf("PublicKeyPEM() = %q", iss.PublicKeyPEM())
			}
			pub, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil || !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.pub) {
				t.Errorf("PublicKeyPEM() does not hold the key: %v", err)
			}
			tok, err := iss.Mint(TokenRequest{User: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			if got := tokenSegment(t, tok, 0)["alg"]; got != tc.wantAlg {
				t.Errorf("alg = %v, want %s", got, tc.wantAlg)
			}
			if c := verifyToken(t, tok, tc.wantAlg, tc.pub, nil); c["sub"] != "alice" {
				t.Errorf("sub = %v", c["sub"])
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"HMAC algorithm", Config{Algorithm: "HS256"}, `unsupported signing algorithm "HS256"`},
		{"none algorithm", Config{Algorithm: "none"}, `unsupported signing algorithm "none"`},
		{"short encryption key", Config{EncryptionKey: make([]byte, 16)}, "16 bytes, want 32"},
		{"negative TTL", Config{AccessTTL: -time.Second}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// rawJWKS is the JWKS as generic JSON, to see every member.
func rawJWKS(t *testing.T, iss *Issuer) []map[string]any {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWK %v has private member %q", k["kid"], private)
			}
		}
	}
	return set.Keys
}

func kidsOf(keys []map[string]any) []string {
	var kids []string
	for _, k := range keys {
		kids = append(kids, k["kid"].(string))
	}
	return kids
}

func TestJWKS(t *testing.T) {
	t.Run("members", func(t *testing.T) {
		for _, alg := range []string{"RS256", "ES256", "ES384", "EdDSA"} {
			cfg := Config{Algorithm: alg}
			if alg == "RS256" {
				cfg.SigningKeyPEM = sharedRSAPEM(t)
			}
			iss := mustNew(t, cfg)
			keys := rawJWKS(t, iss)
			k := keys[0]
			b64 := func(name string) []byte {
				v, err := base64.RawURLEncoding.DecodeString(k[name].(string))
				if err != nil {
					t.Fatalf("%s: %s: %v", alg, name, err)
				}
				return v
			}
			var want map[string]any
			switch pub := iss.PublicKey().(type) {
			case *rsa.PublicKey:
				if new(big.Int).SetBytes(b64("n")).Cmp(pub.N) != 0 || new(big.Int).SetBytes(b64("e")).Int64() != int64(pub.E) {
					t.Errorf("RSA n/e do not match the key")
				}
				want = map[string]any{"kty": "RSA", "use": "sig", "kid": iss.KeyID(), "alg": "RS256", "n": k["n"], "e": "AQAB"}
			case *ecdsa.PublicKey:
				raw, _ := pub.Bytes()
				size := (len(raw) - 1) / 2
				if !bytes.Equal(b64("x"), raw[1:1+size]) || !bytes.Equal(b64("y"), raw[1+size:]) {
					t.Errorf("%s x/y do not match the key", alg)
				}
				want = map[string]any{"kty": "EC", "use": "sig", "kid": iss.KeyID(), "alg": alg, "crv": map[string]string{"ES256": "P-256", "ES384": "P-384"}[alg], "x": k["x"], "y": k["y"]}
			case ed25519.PublicKey:
				if !bytes.Equal(b64("x"), pub) {
					t.Errorf("Ed25519 x does not match the key")
				}
				want = map[string]any{"kty": "OKP", "use": "sig", "kid": iss.KeyID(), "alg": "EdDSA", "crv": "Ed25519", "x": k["x"]}
			}
			sameClaims(t, alg+" JWK", k, want)
			// Besides the RS256 issuer, each publishes the RS256 key of nested tokens.
			wantN := 2
			if alg == "RS256" {
				wantN = 1
			}
			if len(keys) != wantN {
				t.Errorf("%s: %d keys, want %d", alg, len(keys), wantN)
			}
			// go-jose reads the same key back.
			set := jwkSet(t, iss)
			got := set.Key(iss.KeyID())
			if len(got) != 1 || !got[0].Key.(interface{ Equal(crypto.PublicKey) bool }).Equal(iss.PublicKey()) || !got[0].IsPublic() {
				t.Errorf("%s: go-jose reads %+v", alg, got)
			}
		}
	})

	t.Run("rotation", func(t *testing.T) {
		iss := mustNew(t, Config{SigningKeyPEM: sharedRSAPEM(t), KeyID: "k0", Now: fixedNow})
		old, _ := iss.Mint(TokenRequest{User: "alice"})
		oldPub := iss.PublicKey()
		if got := kidsOf(rawJWKS(t, iss)); !reflect.DeepEqual(got, []string{"k0"}) {
			t.Fatalf("kids %v, want [k0]", got)
		}

		k1, err := iss.RotateKey(true)
		if err != nil {
			t.Fatal(err)
		}
		if k1 != iss.KeyID() || !kidRE.MatchString(k1) {
			t.Errorf("RotateKey returned %q, KeyID() %q", k1, iss.KeyID())
		}
		if got := kidsOf(rawJWKS(t, iss)); !reflect.DeepEqual(got, []string{k1, "k0"}) {
			t.Errorf("after RotateKey(true): kids %v, want [%s k0]", got, k1)
		}
		if r, ok := iss.PublicKey().(*rsa.PublicKey); !ok || r.N.BitLen() != 2048 || r.Equal(oldPub) {
			t.Errorf("rotated key %T is not a new RSA 2048 key", iss.PublicKey())
		}
		tok, _ := iss.Mint(TokenRequest{User: "alice"})
		if kid := tokenSegment(t, tok, 0)["kid"]; kid != k1 {
			t.Errorf("minted with kid %v, want %s", kid, k1)
		}
		verifyToken(t, tok, "RS256", iss.PublicKey(), nil)
		// The kept key still verifies the old token.
		set := jwkSet(t, iss)
		verifyToken(t, old, "RS256", set.Key("k0")[0].Key, nil)

		k2, err := iss.RotateKey(false)
		if err != nil {
			t.Fatal(err)
		}
		// k1, the key replaced, is dropped; k0, kept by the earlier rotation, stays.
		if got := kidsOf(rawJWKS(t, iss)); !reflect.DeepEqual(got, []string{k2, "k0"}) {
			t.Errorf("after RotateKey(false): kids %v, want [%s k0]", got, k2)
		}
	})

	t.Run("rotation of a non-RS256 issuer", func(t *testing.T) {
		iss := mustNew(t, Config{Algorithm: "ES256", Now: fixedNow})
		before := kidsOf(rawJWKS(t, iss))
		k1, err := iss.RotateKey(false)
		if err != nil {
			t.Fatal(err)
		}
		after := rawJWKS(t, iss)
		if len(after) != 2 || after[0]["kid"] != k1 || after[0]["alg"] != "ES256" || after[1]["alg"] != "RS256" {
			t.Fatalf("after RotateKey(false): %v", after)
		}
		for _, k := range after {
			if k["kid"] == before[0] || k["kid"] == before[1] {
				t.Errorf("old key %v still published", k["kid"])
			}
		}
		tok, _ := iss.Mint(TokenRequest{User: "a", Nested: new(true)})
		if kid := tokenSegment(t, tok, 0)["kid"]; kid != after[1]["kid"] {
			t.Errorf("nested token signed by %v, want the new RS256 key %v", kid, after[1]["kid"])
		}
	})
}

// testServer is an issuer behind a loopback test server.
type testServer struct {
	iss    *Issuer
	clock  *testClock
	rev    *memoryRevocations
	srv    *httptest.Server
	client *http.Client
}

func serve(t *testing.T, cfg Config) *testServer {
	t.Helper()
	h := &testServer{clock: &testClock{t: t0}, rev: new(memoryRevocations)}
	cfg.Now, cfg.Revocation = h.clock.Now, h.rev
	if cfg.SigningKeyPEM == nil && cfg.Algorithm == "" {
		cfg.SigningKeyPEM = sharedRSAPEM(t)
	}
	h.iss = mustNew(t, cfg)
	h.srv = httptest.NewServer(h.iss.Handler()) // listens on 127.0.0.1
	t.Cleanup(h.srv.Close)
	h.client = &http.Client{Timeout: 5 * time.Second}
	return h
}

// testResponse is what a test keeps of a response.
type testResponse struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (h *testServer) do(t *testing.T, method, path, contentType string, body io.Reader, basic ...string) testResponse {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := testResponse{status: resp.StatusCode, header: resp.Header}
	if r.body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(r.body, &r.json); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, r.body, err)
		}
	}
	return r
}

func (h *testServer) post(t *testing.T, path string, form url.Values, basic ...string) testResponse {
	t.Helper()
	return h.do(t, http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), basic...)
}

// token gets a token by the password grant, failing the test otherwise.
func (h *testServer) password(t *testing.T, user, password string, basic ...string) (access, refresh string) {
	t.Helper()
	r := h.post(t, "/token", url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}, "scope": {"sip:register"}, "device": {"CSF" + strings.ToUpper(user)}}, basic...)
	if r.status != http.StatusOK {
		t.Fatalf("password grant: %d %s", r.status, r.body)
	}
	access, _ = r.json["access_token"].(string)
	refresh, _ = r.json["refresh_token"].(string)
	return access, refresh
}

func TestTokenEndpoint(t *testing.T) {
	h := serve(t, Config{
		Users:   map[string]string{"alice": "wonderland", "bob": "builder"},
		Clients: map[string]string{"jabber": "s3cret", "other": "pw"},
	})
	iatNow := float64(t0.Unix())

	t.Run("password grant", func(t *testing.T) {
		r := h.post(t, "/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}, "scope": {"sip:register openid"}, "device": {"CSFALICE"}}, "jabber", "s3cret")
		if r.status != http.StatusOK {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		access, _ := r.json["access_token"].(string)
		refresh, _ := r.json["refresh_token"].(string)
		sameClaims(t, "response", r.json, map[string]any{"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": float64(3600), "scope": "sip:register openid"})

		claims := verifyToken(t, access, "RS256", h.iss.PublicKey(), nil)
		takeJTI(t, claims)
		sameClaims(t, "access claims", claims, map[string]any{
			"iss": "https://issuer.example.test", "sub": "alice", "exp": iatNow + 3600, "iat": iatNow, "nbf": iatNow,
			"scope": "sip:register openid", "device": "CSFALICE", "client_id": "jabber",
		})

		sameClaims(t, "refresh header", tokenSegment(t, refresh, 0), map[string]any{"alg": "RS256", "kid": h.iss.KeyID(), "typ": "JWT"})
		rc := verifyToken(t, refresh, "RS256", h.iss.PublicKey(), nil)
		if tid, _ := rc["tid"].(string); !uuidRE.MatchString(tid) {
			t.Errorf("tid %v, want a UUID", rc["tid"])
		}
		delete(rc, "tid")
		sameClaims(t, "refresh claims", rc, map[string]any{
			"iss": "https://issuer.example.test", "sub": "alice", "typ": "user", "ctyp": "refresh", "ccid": "jabber",
			"iat": iatNow, "exp": iatNow + 60*24*3600,
		})
	})

	access, refresh := h.password(t, "alice", "wonderland", "jabber", "s3cret")
	_, otherRefresh := h.password(t, "bob", "builder", "other", "pw")

	// A refresh token with a good signature but a payload changed to bob.
	parts := strings.Split(refresh, ".")
	payload := tokenSegment(t, refresh, 1)
	payload["sub"] = "bob"
	pj, _ := json.Marshal(payload)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(pj) + "." + parts[2]
	// A refresh token signed by a stranger under the issuer's kid.
	stranger := mustNew(t, Config{KeyID: h.iss.KeyID(), Now: h.clock.Now})
	forged, _ := stranger.MintRefresh("alice", "jabber")
	// A refresh token of the same key and kid under another issuer name.
	foreign := mustNew(t, Config{Issuer: "https://other.example", SigningKeyPEM: sharedRSAPEM(t), KeyID: h.iss.KeyID(), Now: h.clock.Now})
	foreignRefresh, _ := foreign.MintRefresh("alice", "jabber")
	nestedAccess, _ := h.iss.Mint(TokenRequest{User: "alice", ClientID: "jabber", Nested: new(true)})
	// An access token with every refresh claim but ctyp, and a JWT-typed
	// token with them all but ctyp: the type alone must refuse them.
	accessLikeRefresh, _ := h.iss.Mint(TokenRequest{User: "alice", ClientID: "jabber", Extra: map[string]any{"tid": "t1", "ccid": "jabber", "typ": "user", "ctyp": "refresh"}})
	noCtyp, err := h.iss.current.sign("JWT", jwt.MapClaims{"iss": "https://issuer.example.test", "sub": "alice", "typ": "user", "tid": "t2",
		"ccid": "jabber", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	noExp, err := h.iss.current.sign("JWT", jwt.MapClaims{"iss": "https://issuer.example.test", "sub": "alice", "typ": "user", "tid": "t3",
		"ctyp": "refresh", "ccid": "jabber", "iat": t0.Unix()})
	if err != nil {
		t.Fatal(err)
	}

	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		form    url.Values
		basic   []string
		status  int
		errCode string
		sub     string // of the access token issued
	}{
		{"wrong password", form("grant_type", "password", "username", "alice", "password", "nope"), nil, 400, "invalid_grant", ""},
		{"unknown user", form("grant_type", "password", "username", "mallory", "password", "x"), nil, 400, "invalid_grant", ""},
		{"password grant without password", form("grant_type", "password", "username", "alice"), nil, 400, "invalid_request", ""},
		{"password grant, public client", form("grant_type", "password", "username", "bob", "password", "builder", "client_id", "softphone"), nil, 200, "", "bob"},
		{"confidential client without secret", form("grant_type", "password", "username", "bob", "password", "builder", "client_id", "jabber"), nil, 401, "invalid_client", ""},
		{"client_credentials, Basic", form("grant_type", "client_credentials"), []string{"jabber", "s3cret"}, 200, "", "jabber"},
		{"client_credentials, form", form("grant_type", "client_credentials", "client_id", "other", "client_secret", "pw"), nil, 200, "", "other"},
		{"client_credentials, wrong secret", form("grant_type", "client_credentials"), []string{"jabber", "wrong"}, 401, "invalid_client", ""},
		{"client_credentials, unknown client", form("grant_type", "client_credentials"), []string{"nobody", "s3cret"}, 401, "invalid_client", ""},
		{"client_credentials, no client", form("grant_type", "client_credentials"), nil, 401, "invalid_client", ""},
		{"two client authentications", form("grant_type", "client_credentials", "client_secret", "s3cret"), []string{"jabber", "s3cret"}, 400, "invalid_request", ""},
		{"refresh", form("grant_type", "refresh_token", "refresh_token", refresh), []string{"jabber", "s3cret"}, 200, "", "alice"},
		{"refresh, form client auth", form("grant_type", "refresh_token", "refresh_token", refresh, "client_id", "jabber", "client_secret", "s3cret"), nil, 200, "", "alice"},
		{"refresh without client auth", form("grant_type", "refresh_token", "refresh_token", refresh), nil, 401, "invalid_client", ""},
		{"refresh by another client", form("grant_type", "refresh_token", "refresh_token", otherRefresh), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"refresh, tampered", form("grant_type", "refresh_token", "refresh_token", tampered), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"refresh, signed by another key", form("grant_type", "refresh_token", "refresh_token", forged), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"refresh, another issuer", form("grant_type", "refresh_token", "refresh_token", foreignRefresh), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"access token as refresh token", form("grant_type", "refresh_token", "refresh_token", access), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"at+jwt token with refresh claims", form("grant_type", "refresh_token", "refresh_token", accessLikeRefresh), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"refresh token without exp", form("grant_type", "refresh_token", "refresh_token", noExp), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"refresh token without ctyp", form("grant_type", "refresh_token", "refresh_token", noCtyp), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"nested access token as refresh token", form("grant_type", "refresh_token", "refresh_token", nestedAccess), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"refresh, garbage", form("grant_type", "refresh_token", "refresh_token", "a.b.c"), []string{"jabber", "s3cret"}, 400, "invalid_grant", ""},
		{"refresh, missing token", form("grant_type", "refresh_token"), []string{"jabber", "s3cret"}, 400, "invalid_request", ""},
		{"unsupported grant", form("grant_type", "authorization_code", "code", "x"), nil, 400, "unsupported_grant_type", ""},
		{"missing grant_type", form("username", "alice"), nil, 400, "invalid_request", ""},
		{"repeated parameter", form("grant_type", "password", "grant_type", "password", "username", "alice", "password", "wonderland"), nil, 400, "invalid_request", ""},
		{"malformed scope", form("grant_type", "password", "username", "alice", "password", "wonderland", "scope", `a  "b"`), nil, 400, "invalid_scope", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post(t, "/token", tc.form, tc.basic...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
			if tc.errCode != "" {
				if r.json["error"] != tc.errCode || r.json["error_description"] == "" {
					t.Errorf("body %s, want error %s with a description", r.body, tc.errCode)
				}
				if _, ok := r.json["access_token"]; ok {
					t.Error("error response with an access token")
				}
				want := ""
				if tc.status == 401 {
					want = `Basic realm="token"`
				}
				if got := r.header.Get("WWW-Authenticate"); got != want {
					t.Errorf("WWW-Authenticate %q, want %q", got, want)
				}
				return
			}
			if r.json["token_type"] != "Bearer" || r.json["expires_in"] != float64(3600) {
				t.Errorf("response %s", r.body)
			}
			// Only the password grant issues a refresh token.
			if _, ok := r.json["refresh_token"]; ok != (tc.form.Get("grant_type") == "password") {
				t.Errorf("refresh_token present: %v", ok)
			}
			tok, _ := r.json["access_token"].(string)
			c := verifyToken(t, tok, "RS256", h.iss.PublicKey(), nil)
			if c["sub"] != tc.sub {
				t.Errorf("sub %v, want %s", c["sub"], tc.sub)
			}
			if tc.sub == "alice" && c["client_id"] != "jabber" {
				t.Errorf("client_id %v, want jabber", c["client_id"])
			}
		})
	}
}

func TestRefreshExpiredAndRevoked(t *testing.T) {
	h := serve(t, Config{
		Users:   map[string]string{"alice": "wonderland", "bob": "builder"},
		Clients: map[string]string{"jabber": "s3cret"},
	})
	refreshOK := func(t *testing.T, refresh string) testResponse {
		t.Helper()
		return h.post(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, "jabber", "s3cret")
	}
	wantGrantError := func(t *testing.T, r testResponse, why string) {
		t.Helper()
		if r.status != 400 || r.json["error"] != "invalid_grant" || !strings.Contains(r.json["error_description"].(string), why) {
			t.Errorf("status %d body %s, want 400 invalid_grant (%s)", r.status, r.body, why)
		}
	}

	t.Run("expired", func(t *testing.T) {
		_, refresh := h.password(t, "bob", "builder", "jabber", "s3cret")
		h.clock.Add(59 * 24 * time.Hour)
		if r := refreshOK(t, refresh); r.status != 200 {
			t.Fatalf("59 days later: %d %s", r.status, r.body)
		}
		h.clock.Add(24*time.Hour + time.Second)
		wantGrantError(t, refreshOK(t, refresh), "expired")
	})

	t.Run("revoked user", func(t *testing.T) {
		access, refresh := h.password(t, "alice", "wonderland", "jabber", "s3cret")
		_, bobRefresh := h.password(t, "bob", "builder", "jabber", "s3cret")
		jti := tokenSegment(t, access, 1)["jti"].(string)

		if r := h.post(t, "/revoke", url.Values{"user": {"alice"}}); r.status != 401 || r.json["error"] != "invalid_client" {
			t.Fatalf("unauthenticated revoke: %d %s", r.status, r.body)
		}
		if r := h.post(t, "/revoke", url.Values{"user": {"alice"}}, "jabber", "bad"); r.status != 401 {
			t.Fatalf("revoke with a wrong secret: %d %s", r.status, r.body)
		}
		if r := h.post(t, "/revoke", url.Values{}, "jabber", "s3cret"); r.status != 400 || r.json["error"] != "invalid_request" {
			t.Fatalf("revoke of nothing: %d %s", r.status, r.body)
		}
		if r := h.post(t, "/revoke", url.Values{"user": {"alice"}}, "jabber", "s3cret"); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		wantGrantError(t, refreshOK(t, refresh), "revoked")
		// The shared revocation also refuses her access token, issued in
		// the same second as the revocation.
		iat := time.Unix(int64(tokenSegment(t, access, 1)["iat"].(float64)), 0)
		if revoked, _ := h.rev.Revoked(context.Background(), jti, "alice", iat); !revoked {
			t.Error("access token issued before the revocation is not revoked")
		}
		// Bob is not affected.
		if r := refreshOK(t, bobRefresh); r.status != 200 {
			t.Errorf("bob's refresh: %d %s", r.status, r.body)
		}
		// Tokens issued after the revocation work.
		h.clock.Add(time.Second)
		_, fresh := h.password(t, "alice", "wonderland", "jabber", "s3cret")
		if r := refreshOK(t, fresh); r.status != 200 {
			t.Errorf("refresh issued after the revocation: %d %s", r.status, r.body)
		}
	})

	t.Run("revoked token", func(t *testing.T) {
		access, refresh := h.password(t, "bob", "builder", "jabber", "s3cret")
		_, refresh2 := h.password(t, "bob", "builder", "jabber", "s3cret")
		nested, _ := h.iss.Mint(TokenRequest{User: "bob", Nested: new(true)})
		for _, tok := range []string{refresh, access, nested, "some-token-id", "x.y.z"} {
			if r := h.post(t, "/revoke", url.Values{"token": {tok}, "token_type_hint": {"refresh_token"}}, "jabber", "s3cret"); r.status != 200 {
				t.Fatalf("revoke token: %d %s", r.status, r.body)
			}
		}
		wantGrantError(t, refreshOK(t, refresh), "revoked")
		if r := refreshOK(t, refresh2); r.status != 200 {
			t.Errorf("another refresh token of the user: %d %s", r.status, r.body)
		}
		ctx := context.Background()
		for name, id := range map[string]string{
			"access jti":  tokenSegment(t, access, 1)["jti"].(string),
			"nested jti":  decryptJWE(t, tokenSegment(t, nested, 1)["private"].(string), encKeyOf(h.iss))["jti"].(string),
			"refresh tid": tokenSegment(t, refresh, 1)["tid"].(string),
			"raw id":      "some-token-id",
		} {
			if revoked, _ := h.rev.Revoked(ctx, id, "bob", h.clock.Now()); !revoked {
				t.Errorf("%s %q not revoked", name, id)
			}
		}
		if revoked, _ := h.rev.Revoked(ctx, tokenSegment(t, refresh2, 1)["tid"].(string), "bob", h.clock.Now()); revoked {
			t.Error("a token never revoked is revoked")
		}
	})
}

// encKeyOf is the key that decrypts i's nested tokens.
func encKeyOf(i *Issuer) []byte {
	_, k := i.EncryptionKey()
	return k
}

func TestOpenTokenEndpoint(t *testing.T) {
	// Without Clients, refresh needs no client authentication, but a
	// client id given must match the token's.
	h := serve(t, Config{Users: map[string]string{"alice": "wonderland"}, Nested: true})
	_, refresh := h.password(t, "alice", "wonderland")
	if c := tokenSegment(t, refresh, 1); c["ccid"] != "" {
		t.Errorf("ccid %v, want empty", c["ccid"])
	}
	r := h.post(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {"sip:register"}})
	if r.status != 200 || r.json["scope"] != "sip:register" {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	// The issuer is Nested: the token endpoint issues the nested shape.
	tok := r.json["access_token"].(string)
	outer := verifyToken(t, tok, "RS256", h.iss.PublicKey(), nil)
	inner := decryptJWE(t, outer[ucmtoken.ClaimPrivate].(string), encKeyOf(h.iss))
	if inner["sub"] != "alice" || inner["scope"] != "sip:register" {
		t.Errorf("private claims %v", inner)
	}
	if r := h.post(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"someone"}}); r.status != 400 || r.json["error"] != "invalid_grant" {
		t.Errorf("refresh by another public client: %d %s", r.status, r.body)
	}
	if r := h.post(t, "/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {""}}); r.status != 401 {
		t.Errorf("client_credentials without Clients: %d %s", r.status, r.body)
	}
	if r := h.post(t, "/revoke", url.Values{"user": {"alice"}}); r.status != 401 {
		t.Errorf("revoke without Clients: %d %s", r.status, r.body)
	}
}

func TestHTTPRoutes(t *testing.T) {
	h := serve(t, Config{Clients: map[string]string{"jabber": "s3cret"}})
	big := "grant_type=client_credentials&pad=" + strings.Repeat("a", 70<<10)
	for _, tc := range []struct {
		name, method, path, contentType, body string
		status                                int
	}{
		{"JWKS", "GET", "/jwks.json", "", "", 200},
		{"well-known JWKS", "GET", "/.well-known/jwks.json", "", "", 200},
		{"JWKS by POST", "POST", "/jwks.json", "", "", 405},
		{"token by GET", "GET", "/token", "", "", 405},
		{"revoke by PUT", "PUT", "/revoke", "application/x-www-form-urlencoded", "user=a", 405},
		{"unknown path", "GET", "/authorize", "", "", 404},
		{"oversized body", "POST", "/token", "application/x-www-form-urlencoded", big, 413},
		{"oversized revoke body", "POST", "/revoke", "application/x-www-form-urlencoded", big, 413},
		{"JSON body", "POST", "/token", "application/json", `{"grant_type":"client_credentials"}`, 400},
		{"malformed form", "POST", "/token", "application/x-www-form-urlencoded", "grant_type=%zz", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, tc.method, tc.path, tc.contentType, strings.NewReader(tc.body), "jabber", "s3cret")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			switch {
			case tc.status == 200:
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=60") {
					t.Errorf("Cache-Control %q", cc)
				}
				if !bytes.Equal(r.body, h.iss.JWKS()) {
					t.Errorf("body %s, want the JWKS", r.body)
				}
				if kids := kidsOf(rawJWKS(t, h.iss)); len(kids) != 1 || kids[0] != h.iss.KeyID() {
					t.Errorf("kids %v", kids)
				}
			case tc.status == 405:
				if r.header.Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			case tc.status == 400 || tc.status == 413:
				if r.json["error"] != "invalid_request" {
					t.Errorf("body %s, want invalid_request", r.body)
				}
			}
		})
	}
}

func TestCheckSecret(t *testing.T) {
	m := map[string]string{"a": "secret", "empty": ""}
	for _, tc := range []struct {
		name, secret string
		want         bool
	}{
		{"a", "secret", true},
		{"a", "secre", false},
		{"a", "secret ", false},
		{"a", "", false},
		{"empty", "", true},
		{"nobody", "", false},
		{"nobody", "secret", false},
	} {
		if got := checkSecret(m, tc.name, tc.secret); got != tc.want {
			t.Errorf("checkSecret(%q, %q) = %v, want %v", tc.name, tc.secret, got, tc.want)
		}
	}
}

func TestConcurrentRotation(t *testing.T) {
	iss := mustNew(t, Config{Algorithm: "ES256", Now: fixedNow})
	var wg sync.WaitGroup
	toks := make([]string, 40)
	for n := range toks {
		wg.Go(func() {
			var err error
			if toks[n], err = iss.Mint(TokenRequest{User: "alice", Nested: new(n%2 == 0)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			if _, err := iss.RotateKey(true); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	// Every token verifies with a key of the final JWKS: kept keys stay.
	set := jwkSet(t, iss)
	if len(set.Keys) != 8 {
		t.Errorf("%d keys after three rotations keeping the old ones, want 8", len(set.Keys))
	}
	for _, tok := range toks {
		h := tokenSegment(t, tok, 0)
		keys := set.Key(h["kid"].(string))
		if len(keys) != 1 {
			t.Fatalf("kid %v not published", h["kid"])
		}
		verifyToken(t, tok, h["alg"].(string), keys[0].Key, nil)
	}
}
