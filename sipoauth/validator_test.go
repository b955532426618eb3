package sipoauth

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josecipher "github.com/go-jose/go-jose/v4/cipher"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sipoauth/sdk/bearer"
)

// Keys are made once per test binary: RSA key generation is slow.
var (
	keysOnce              sync.Once
	rsaKey, rsaKey2       *rsa.PrivateKey
	rsaSmall              *rsa.PrivateKey
	ecKey256, ecKey384    *ecdsa.PrivateKey
	edKey                 ed25519.PrivateKey
	encKey                = []byte("0123456789abcdef0123456789abcdef")
	testNow               = time.Date(2026, 3, 30, 11, 3, 19, 0, time.UTC)
	cucmKID               = "5e8f5d3e-29b4-4b4c-8a5a-0b1c2d3e4f50:8c1f5b6e2d4a7f9e0b3c6d8a1e4f7b2c5d9e0a3b6c8f1d4e7a2b5c8e1f4a7b0c3d"
	errNoKeysForThisBuild = errors.New("no keys")
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		must := func(e error) {
			if e != nil && err == nil {
				err = e
			}
		}
		rsaKey, err = rsa.GenerateKey(rand.Reader, 2048)
		rsaKey2, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsaSmall, _ = rsa.GenerateKey(rand.Reader, 1024)
		var e error
		ecKey256, e = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(e)
		ecKey384, e = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(e)
		_, edKey, e = ed25519.GenerateKey(rand.Reader)
		must(e)
		if err != nil {
			panic(err)
		}
	})
	if rsaKey == nil {
		t.Fatal(errNoKeysForThisBuild)
	}
}

// claims returns a valid claim set for user rado at testNow.
func claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "https://cucm.example.com", "sub": "rado", "aud": "sip", "jti": "tok-1",
		"iat": testNow.Add(-time.Minute).Unix(), "nbf": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(time.Hour).Unix(), "scope": "sip:register openid", "device": "CSFrado",
	}
}

func sign(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rs256 signs c with rsaKey under kid "k1".
func rs256(t testing.TB, c jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "at+jwt"}, c)
}

// seal encrypts claims as Unified CM's JWE (dir, A128CBC-HS256).
func seal(t testing.TB, key []byte, kid string, c any) string {
	t.Helper()
	enc, err := jose.NewEncrypter(jose.A128CBC_HS256, jose.Recipient{Algorithm: jose.DIRECT, Key: key, KeyID: kid}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := json.Marshal(c)
	obj, err := enc.Encrypt(plain)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// cucm makes Unified CM's shape: an RS256 JWS whose only claim is the JWE.
func cucm(t testing.TB, jwe string) string {
	return sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": cucmKID, "typ": "JWT"}, jwt.MapClaims{"private": jwe})
}

func newValidator(t testing.TB, mod func(*Config)) *Validator {
	t.Helper()
	testKeys(t)
	keys, err := NewStaticKeys(map[string]crypto.PublicKey{
		"k1": &rsaKey.PublicKey, cucmKID: &rsaKey.PublicKey, "ec256": &ecKey256.PublicKey,
		"ec384": &ecKey384.PublicKey, "ed": edKey.Public(),
	})
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewSymmetricKeys(map[string][]byte{"enc1": encKey})
	cfg := Config{
		Keys: keys, DecryptionKeys: dec, Issuers: []string{"https://cucm.example.com"}, Audiences: []string{"sip"},
		Now: func() time.Time { return testNow }, CacheSize: -1,
	}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValidateShapes(t *testing.T) {
	t.Parallel()
	testKeys(t)
	v := newValidator(t, nil)
	want := Identity{
		User: "rado", Device: "CSFrado", Scopes: []string{"sip:register", "openid"}, Issuer: "https://cucm.example.com",
		Audience: []string{"sip"}, TokenID: "tok-1", IssuedAt: testNow.Add(-time.Minute), Expiry: testNow.Add(time.Hour),
	}
	cases := []struct {
		name   string
		token  string
		nested bool
	}{
		{"RS256 at+jwt", rs256(t, claims()), false},
		{"RS384", sign(t, jwt.SigningMethodRS384, rsaKey, map[string]any{"kid": "k1"}, claims()), false},
		{"RS512 typ JWT", sign(t, jwt.SigningMethodRS512, rsaKey, map[string]any{"kid": "k1", "typ": "JWT"}, claims()), false},
		{"typ application/at+jwt", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "application/at+jwt"}, claims()), false},
		{"typ AT+JWT", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "AT+JWT"}, claims()), false},
		{"typ absent", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": nil}, claims()), false},
		{"PS256", sign(t, jwt.SigningMethodPS256, rsaKey, map[string]any{"kid": "k1"}, claims()), false},
		{"ES256", sign(t, jwt.SigningMethodES256, ecKey256, map[string]any{"kid": "ec256"}, claims()), false},
		{"ES384", sign(t, jwt.SigningMethodES384, ecKey384, map[string]any{"kid": "ec384"}, claims()), false},
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, edKey, map[string]any{"kid": "ed"}, claims()), false},
		{"Unified CM nested", cucm(t, seal(t, encKey, "enc1", claims())), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := v.Validate(context.Background(), tc.token)
			if err != nil {
				t.Fatal(err)
			}
			all, err := id.Claims()
			if id.Nested != tc.nested || err != nil || all["sub"] != "rado" || all["device"] != "CSFrado" {
				t.Fatalf("nested %v, claims %v, %v", id.Nested, all, err)
			}
			id.RawClaims, id.Nested = nil, false
			if !equalIdentity(id, want) {
				t.Fatalf("identity\n got %+v\nwant %+v", id, want)
			}
		})
	}
}

func equalIdentity(a, b Identity) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestAttacks: every RFC 8725 attack and every policy failure, refused with
// its own error.
func TestAttacks(t *testing.T) {
	t.Parallel()
	testKeys(t)
	ctx := context.Background()
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})
	with := func(mod func(c jwt.MapClaims)) jwt.MapClaims {
		c := claims()
		mod(c)
		return c
	}
	unsigned := func(header, payload string) string {
		e := base64.RawURLEncoding.EncodeToString
		return e([]byte(header)) + "." + e([]byte(payload)) + "."
	}
	payload, _ := json.Marshal(claims())
	attackerJWK := map[string]any{"kty": "RSA", "n": base64.RawURLEncoding.EncodeToString(rsaKey2.N.Bytes()), "e": "AQAB"}
	goodJWE := seal(t, encKey, "enc1", claims())
	flip := func(s string, part, at int) string {
		parts := strings.Split(s, ".")
		b, _ := base64.RawURLEncoding.DecodeString(parts[part])
		b[at%len(b)] ^= 1
		parts[part] = base64.RawURLEncoding.EncodeToString(b)
		return strings.Join(parts, ".")
	}
	good := rs256(t, claims())
	hdr := `{"alg":"RS256","kid":"k1","typ":"at+jwt"}`
	jweHdr := `{"alg":"dir","enc":"A128CBC-HS256","kid":"enc1"}`
	expired := func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Hour).Unix() }
	future := `"exp":` + fmt.Sprint(testNow.Add(time.Hour).Unix())

	cases := []struct {
		name  string
		token string
		req   *Request
		err   error
		code  bearer.ErrorCode
	}{
		{"alg none", unsigned(`{"alg":"none","typ":"JWT"}`, string(payload)), nil, ErrAlgorithm, bearer.InvalidToken},
		{"alg None", unsigned(`{"alg":"None","kid":"k1"}`, string(payload)), nil, ErrAlgorithm, bearer.InvalidToken},
		{"HS256 signed with the RSA public key (confusion)", sign(t, jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": "k1"}, claims()), nil, ErrAlgorithm, bearer.InvalidToken},
		{"unknown alg", unsigned(`{"alg":"XS999","kid":"k1"}`, string(payload)) + "c2ln", nil, ErrAlgorithm, bearer.InvalidToken},
		{"ES256 header over an RSA key", sign(t, jwt.SigningMethodES256, ecKey256, map[string]any{"kid": "k1"}, claims()), nil, ErrAlgorithm, bearer.InvalidToken},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "nope"}, claims()), nil, ErrUnknownKey, bearer.InvalidToken},
		{"path-like kid", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "../../keys/k1"}, claims()), nil, ErrUnknownKey, bearer.InvalidToken},
		{"URL kid", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "https://evil.example/k"}, claims()), nil, ErrUnknownKey, bearer.InvalidToken},
		{"numeric kid", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": 7}, claims()), nil, ErrUnknownKey, bearer.InvalidToken},
		{"no kid, several keys", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": nil}, claims()), nil, ErrUnknownKey, bearer.InvalidToken},
		{"jku header", sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "k1", "jku": "https://evil.example/jwks"}, claims()), nil, ErrMalformed, bearer.InvalidToken},
		{"x5u header", sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "k1", "x5u": "https://evil.example/cert"}, claims()), nil, ErrMalformed, bearer.InvalidToken},
		{"embedded jwk", sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "k1", "jwk": attackerJWK}, claims()), nil, ErrMalformed, bearer.InvalidToken},
		{"x5c header", sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "k1", "x5c": []string{"MIIB"}}, claims()), nil, ErrMalformed, bearer.InvalidToken},
		{"crit header", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "crit": []string{"exp"}, "exp": 1}, claims()), nil, ErrMalformed, bearer.InvalidToken},
		{"signed by another key", sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "k1"}, claims()), nil, ErrBadSignature, bearer.InvalidToken},
		{"flipped signature bit", flip(good, 2, 10), nil, ErrBadSignature, bearer.InvalidToken},
		{"flipped payload bit", flip(good, 1, 20), nil, ErrMalformed, bearer.InvalidToken},
		{"two parts", "eyJhbGciOiJSUzI1NiJ9.e30", nil, ErrMalformed, bearer.InvalidToken},
		{"not base64", "a.b.c", nil, ErrMalformed, bearer.InvalidToken},
		{"empty", "", nil, ErrMalformed, bearer.InvalidToken},
		{"missing exp", rs256(t, with(func(c jwt.MapClaims) { delete(c, "exp") })), nil, ErrMissingClaim, bearer.InvalidToken},
		{"expired", rs256(t, with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Minute).Unix() })), nil, ErrExpired, bearer.InvalidToken},
		{"exp as string", rs256(t, with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" })), nil, ErrMalformed, bearer.InvalidToken},
		{"nbf in the future", rs256(t, with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(10 * time.Minute).Unix() })), nil, ErrNotYetValid, bearer.InvalidToken},
		{"iat far in the future", rs256(t, with(func(c jwt.MapClaims) { c["iat"] = testNow.Add(24 * time.Hour).Unix() })), nil, ErrNotYetValid, bearer.InvalidToken},
		{"wrong issuer", rs256(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), nil, ErrIssuer, bearer.InvalidToken},
		{"no issuer", rs256(t, with(func(c jwt.MapClaims) { delete(c, "iss") })), nil, ErrIssuer, bearer.InvalidToken},
		{"wrong audience", rs256(t, with(func(c jwt.MapClaims) { c["aud"] = []string{"web", "mail"} })), nil, ErrAudience, bearer.InvalidToken},
		{"Unified CM refresh token", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": cucmKID, "typ": "JWT"},
			jwt.MapClaims{"iss": "5e8f5d3e", "typ": "user", "tid": "t1", "ctyp": "refresh", "ccid": "C1", "exp": testNow.Add(time.Hour).Unix()}), nil, ErrRefreshToken, bearer.InvalidToken},
		{"token_type refresh", rs256(t, with(func(c jwt.MapClaims) { c["token_type"] = "refresh_token" })), nil, ErrRefreshToken, bearer.InvalidToken},
		{"typ header refresh", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "refresh"}, claims()), nil, ErrRefreshToken, bearer.InvalidToken},
		{"refresh inside the JWE", cucm(t, seal(t, encKey, "enc1", with(func(c jwt.MapClaims) { c["ctyp"] = "refresh" }))), nil, ErrRefreshToken, bearer.InvalidToken},
		{"typ of an ID token", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "id+jwt"}, claims()), nil, ErrNotAccessToken, bearer.InvalidToken},
		{"bound to another device", good, &Request{Device: "CSFother"}, ErrBindingMismatch, bearer.InvalidToken},
		{"oversized", rs256(t, with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 9000) })), nil, ErrTooLarge, bearer.InvalidRequest},
		{"JWE with a wrong key", cucm(t, seal(t, []byte("ffffffffffffffffffffffffffffffff"), "enc1", claims())), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE with an unknown key id", cucm(t, seal(t, encKey, "enc9", claims())), nil, ErrDecrypt, bearer.InvalidToken},
		{"flipped ciphertext bit", cucm(t, flip(goodJWE, 3, 5)), nil, ErrDecrypt, bearer.InvalidToken},
		{"flipped tag bit", cucm(t, flip(goodJWE, 4, 3)), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE not compact", cucm(t, "not-a-jwe"), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE with six parts", cucm(t, goodJWE+".x"), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE with an encrypted key", cucm(t, withJWEPart(goodJWE, 1, "AAAA")), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE alg A128KW", cucm(t, withJWEHeader(goodJWE, `{"alg":"A128KW","enc":"A128CBC-HS256","kid":"enc1"}`)), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE enc A256GCM", cucm(t, withJWEHeader(goodJWE, `{"alg":"dir","enc":"A256GCM","kid":"enc1"}`)), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE with zip", cucm(t, withJWEHeader(goodJWE, `{"alg":"dir","enc":"A128CBC-HS256","kid":"enc1","zip":"DEF"}`)), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE header swapped, tag kept", cucm(t, withJWEHeader(goodJWE, `{"alg":"dir","enc":"A128CBC-HS256","kid":"enc1","x":1}`)), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE short IV", cucm(t, withJWEPart(goodJWE, 2, "AAAA")), nil, ErrDecrypt, bearer.InvalidToken},
		{"expired inside the JWE", cucm(t, seal(t, encKey, "enc1", with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Hour).Unix() }))), nil, ErrExpired, bearer.InvalidToken},
		{"insufficient scope", rs256(t, with(func(c jwt.MapClaims) { c["scope"] = "openid" })), nil, ErrInsufficientScope, bearer.InsufficientScope},
		{"scope not a list", rs256(t, with(func(c jwt.MapClaims) { c["scope"] = 7 })), nil, ErrMalformed, bearer.InvalidToken},
		{"sub not a string", rs256(t, with(func(c jwt.MapClaims) { c["sub"] = 7 })), nil, ErrMalformed, bearer.InvalidToken},

		// Claim and header names are case-sensitive and unique (RFC 7519 §4, RFC 8725 §3.11).
		{"duplicate exp, the last in the future", signRaw(t, hdr, jsonOf(with(expired), future)), nil, ErrMalformed, bearer.InvalidToken},
		{"duplicate sub", signRaw(t, hdr, jsonOf(claims(), `"sub":"alice"`)), nil, ErrMalformed, bearer.InvalidToken},
		{"duplicate exp spelled with an escape", signRaw(t, hdr, jsonOf(with(expired), `"\u0065xp":`+fmt.Sprint(testNow.Add(time.Hour).Unix()))), nil, ErrMalformed, bearer.InvalidToken},
		{"EXP for a missing exp", signRaw(t, hdr, jsonOf(with(func(c jwt.MapClaims) { delete(c, "exp") }), "\"EXP\""+future[5:])), nil, ErrMissingClaim, bearer.InvalidToken},
		{"EXP after an expired exp", signRaw(t, hdr, jsonOf(with(expired), "\"EXP\""+future[5:])), nil, ErrExpired, bearer.InvalidToken},
		{"ISS for a missing iss", signRaw(t, hdr, jsonOf(with(func(c jwt.MapClaims) { delete(c, "iss") }), `"ISS":"https://cucm.example.com"`)), nil, ErrIssuer, bearer.InvalidToken},
		{"SCOPE for a missing scope", signRaw(t, hdr, jsonOf(with(func(c jwt.MapClaims) { delete(c, "scope") }), `"SCOPE":"sip:register"`)), nil, ErrInsufficientScope, bearer.InsufficientScope},
		{"AUD for a wrong aud", signRaw(t, hdr, jsonOf(with(func(c jwt.MapClaims) { c["aud"] = "web" }), `"AUD":"sip"`)), nil, ErrAudience, bearer.InvalidToken},
		{"claims not UTF-8", signRaw(t, hdr, jsonOf(claims(), "\"note\":\"\xff\"")), nil, ErrMalformed, bearer.InvalidToken},
		{"claims with trailing data", signRaw(t, hdr, jsonOf(claims(), "")+"{}"), nil, ErrMalformed, bearer.InvalidToken},
		{"duplicate alg", signRaw(t, `{"alg":"none","kid":"k1","alg":"RS256"}`, string(payload)), nil, ErrMalformed, bearer.InvalidToken},
		{"duplicate kid", signRaw(t, `{"alg":"RS256","kid":"nope","kid":"k1"}`, string(payload)), nil, ErrMalformed, bearer.InvalidToken},
		{"duplicate typ", signRaw(t, `{"alg":"RS256","kid":"k1","typ":"id+jwt","typ":"at+jwt"}`, string(payload)), nil, ErrMalformed, bearer.InvalidToken},
		{"ALG in upper case", signRaw(t, `{"ALG":"RS256","kid":"k1"}`, string(payload)), nil, ErrAlgorithm, bearer.InvalidToken},
		{"KID in upper case", signRaw(t, `{"alg":"RS256","KID":"k1"}`, string(payload)), nil, ErrUnknownKey, bearer.InvalidToken},
		{"header not UTF-8", signRaw(t, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x\":\"\xff\"}", string(payload)), nil, ErrMalformed, bearer.InvalidToken},
		{"duplicate exp inside the JWE", cucm(t, sealRaw(t, encKey, jweHdr, jsonOf(with(expired), future))), nil, ErrMalformed, bearer.InvalidToken},
		{"EXP inside the JWE", cucm(t, sealRaw(t, encKey, jweHdr, jsonOf(with(func(c jwt.MapClaims) { delete(c, "exp") }), "\"EXP\""+future[5:]))), nil, ErrMissingClaim, bearer.InvalidToken},
		{"duplicate kid in the JWE header", cucm(t, sealRaw(t, encKey, `{"alg":"dir","enc":"A128CBC-HS256","kid":"enc9","kid":"enc1"}`, string(payload))), nil, ErrDecrypt, bearer.InvalidToken},
		{"JWE header in upper case", cucm(t, sealRaw(t, encKey, `{"ALG":"dir","ENC":"A128CBC-HS256","KID":"enc1"}`, string(payload))), nil, ErrDecrypt, bearer.InvalidToken},

		// One token, one spelling: the base64url alphabet only, no padding, canonical last bits.
		{"CR LF in the signature", good[:len(good)-40] + "\r\n" + good[len(good)-40:], nil, ErrMalformed, bearer.InvalidToken},
		{"trailing newline", good + "\n", nil, ErrMalformed, bearer.InvalidToken},
		{"LF in the header", "\n" + good, nil, ErrMalformed, bearer.InvalidToken},
		{"padded signature", good + "==", nil, ErrMalformed, bearer.InvalidToken},
		{"signature in the standard alphabet", withPart(good, 2, strings.NewReplacer("-", "+", "_", "/").Replace(part(good, 2))), nil, ErrMalformed, bearer.InvalidToken},
		{"non-canonical signature bits", withPart(good, 2, nonCanonical(t, part(good, 2))), nil, ErrMalformed, bearer.InvalidToken},
		{"LF in the JWE ciphertext", cucm(t, withPart(goodJWE, 3, part(goodJWE, 3)[:8]+"\n"+part(goodJWE, 3)[8:])), nil, ErrDecrypt, bearer.InvalidToken},
		{"non-canonical JWE tag bits", cucm(t, withPart(goodJWE, 4, nonCanonical(t, part(goodJWE, 4)))), nil, ErrDecrypt, bearer.InvalidToken},
		{"non-canonical JWE IV bits", cucm(t, withPart(goodJWE, 2, nonCanonical(t, part(goodJWE, 2)))), nil, ErrDecrypt, bearer.InvalidToken},

		// An aud string is one value (RFC 7519 §4.1.3).
		{"aud string naming two", rs256(t, with(func(c jwt.MapClaims) { c["aud"] = "web sip" })), nil, ErrAudience, bearer.InvalidToken},

		// ID tokens are not access tokens.
		{"nonce claim", rs256(t, with(func(c jwt.MapClaims) { c["nonce"] = "n-0S6_WzA2Mj" })), nil, ErrNotAccessToken, bearer.InvalidToken},
		{"at_hash claim", rs256(t, with(func(c jwt.MapClaims) { c["at_hash"] = "77QmUPtjPfzWtF2AnpK9RQ" })), nil, ErrNotAccessToken, bearer.InvalidToken},
		{"c_hash claim", rs256(t, with(func(c jwt.MapClaims) { c["c_hash"] = "LDktKdoQak3Pk0cnXxCltA" })), nil, ErrNotAccessToken, bearer.InvalidToken},
		{"nonce inside the JWE", cucm(t, seal(t, encKey, "enc1", with(func(c jwt.MapClaims) { c["nonce"] = "n-0S6_WzA2Mj" }))), nil, ErrNotAccessToken, bearer.InvalidToken},
		{"typ JOSE", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "JOSE"}, claims()), nil, ErrNotAccessToken, bearer.InvalidToken},
	}
	v := newValidator(t, func(c *Config) { c.RequiredScopes = []string{"sip:register"} })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.req != nil {
				_, err = v.ValidateRequest(ctx, tc.token, *tc.req)
			} else {
				_, err = v.Validate(ctx, tc.token)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			for _, other := range tokenErrors {
				if other != tc.err && errors.Is(err, other) {
					t.Fatalf("error %v is also %v", err, other)
				}
			}
			if code := ErrorCode(err); code != tc.code {
				t.Fatalf("ErrorCode = %q, want %q", code, tc.code)
			}
		})
	}
	// The good token passes the same validator: the table's failures are
	// the attacks', not the setup's.
	if _, err := v.ValidateRequest(ctx, good, Request{Device: "CSFrado"}); err != nil {
		t.Fatalf("good token: %v", err)
	}
	// So do the raw helpers' tokens when nothing is wrong with them.
	for name, tok := range map[string]string{
		"signRaw":          signRaw(t, hdr, jsonOf(claims(), "")),
		"signRaw, sealRaw": cucm(t, sealRaw(t, encKey, jweHdr, jsonOf(claims(), ""))),
	} {
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatalf("%s: good token: %v", name, err)
		}
	}
}

// TestClaimNamesCaseSensitive: a claim whose name differs from a known one
// in case only is another claim.
func TestClaimNamesCaseSensitive(t *testing.T) {
	t.Parallel()
	testKeys(t)
	v := newValidator(t, nil)
	c := claims()
	c["sub"], c["device"] = "alice", "CSFalice"
	tok := signRaw(t, `{"alg":"RS256","kid":"k1"}`, jsonOf(c, `"Sub":"rado","DEVICE":"CSFrado","Jti":"tok-9"`))
	id, err := v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "alice" || id.Device != "CSFalice" || id.TokenID != "tok-1" {
		t.Fatalf("user %q, device %q, jti %q: want alice, CSFalice, tok-1", id.User, id.Device, id.TokenID)
	}
	all, err := id.Claims()
	if err != nil || all["Sub"] != "rado" || all["sub"] != "alice" {
		t.Fatalf("claims %v, %v", all, err)
	}
}

// withJWEPart replaces part i of a compact JWE.
func withJWEPart(jwe string, i int, v string) string {
	parts := strings.Split(jwe, ".")
	parts[i] = v
	return strings.Join(parts, ".")
}

// withJWEHeader replaces the protected header of a compact JWE.
func withJWEHeader(jwe, header string) string {
	return withJWEPart(jwe, 0, base64.RawURLEncoding.EncodeToString([]byte(header)))
}

// signRaw signs header and payload, JSON text exactly as it is to appear
// in the token, with RS256 and rsaKey: for tokens no JSON encoder makes.
func signRaw(t testing.TB, header, payload string) string {
	t.Helper()
	e := base64.RawURLEncoding.EncodeToString
	input := e([]byte(header)) + "." + e([]byte(payload))
	sig, err := jwt.SigningMethodRS256.Sign(input, rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + e(sig)
}

// sealRaw is seal with the protected header and the plaintext given as
// JSON text exactly as they are to appear.
func sealRaw(t testing.TB, key []byte, header, plaintext string) string {
	t.Helper()
	aead, err := josecipher.NewCBCHMAC(key, aes.NewCipher)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, aes.BlockSize)
	rand.Read(iv)
	e := base64.RawURLEncoding.EncodeToString
	h := e([]byte(header))
	out := aead.Seal(nil, iv, []byte(plaintext), []byte(h))
	ct, tag := out[:len(out)-16], out[len(out)-16:]
	return h + ".." + e(iv) + "." + e(ct) + "." + e(tag)
}

// jsonOf is the JSON text of c with members, JSON text, appended: for
// duplicate names and names no map can hold twice.
func jsonOf(c jwt.MapClaims, members string) string {
	b, _ := json.Marshal(c)
	if members == "" {
		return string(b)
	}
	return string(b[:len(b)-1]) + "," + members + "}"
}

// nonCanonical sets an unused low bit of the last character of a base64url
// segment: Go's non-strict decoder reads it as the same bytes.
func nonCanonical(t testing.TB, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 < 2 {
		t.Fatalf("segment of %d characters has no unused bits", len(seg))
	}
	i := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[i|1])
}

// withPart replaces part i of a compact JWS or JWE.
func withPart(tok string, i int, v string) string {
	parts := strings.Split(tok, ".")
	parts[i] = v
	return strings.Join(parts, ".")
}

// part returns part i of a compact JWS or JWE.
func part(tok string, i int) string { return strings.Split(tok, ".")[i] }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestHMACOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	testKeys(t)
	secret := []byte("a-lab-secret-of-32-bytes-or-more!")
	tok := sign(t, jwt.SigningMethodHS256, secret, map[string]any{"kid": "lab"}, claims())
	if _, err := newValidator(t, nil).Validate(context.Background(), tok); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("HS256 without Config.HMAC: %v", err)
	}
	h, _ := NewSymmetricKeys(map[string][]byte{"lab": secret})
	v := newValidator(t, func(c *Config) { c.HMAC = h })
	if id, err := v.Validate(context.Background(), tok); err != nil || id.User != "rado" {
		t.Fatalf("HS256 with Config.HMAC: %v", err)
	}
	// A public key id stays a public key even with HMAC configured.
	h2, _ := NewSymmetricKeys(map[string][]byte{"k1": []byte(strings.Repeat("k", 32))})
	v = newValidator(t, func(c *Config) { c.HMAC = h2 })
	conf := sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("k", 32)), map[string]any{"kid": "k1"}, claims())
	if _, err := v.Validate(context.Background(), conf); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("HMAC under a public key's id: %v", err)
	}
	if _, err := NewSymmetricKeys(map[string][]byte{"short": []byte("short")}); err == nil {
		t.Fatal("short secret accepted")
	}
	if _, err := New(Config{Keys: &StaticKeys{}, Algorithms: []string{"HS256"}}); err == nil {
		t.Fatal("HS256 accepted without HMAC keys")
	}
	if _, err := New(Config{Keys: &StaticKeys{}, Algorithms: []string{"none"}}); err == nil {
		t.Fatal("none accepted as an algorithm")
	}
}

func TestStaticKeys(t *testing.T) {
	t.Parallel()
	testKeys(t)
	if _, err := NewStaticKeys(map[string]crypto.PublicKey{"small": &rsaSmall.PublicKey}); err == nil || !strings.Contains(err.Error(), "1024 bits") {
		t.Fatalf("RSA-1024 accepted: %v", err)
	}
	keys, _ := NewStaticKeys(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey})
	v := newValidator(t, func(c *Config) { c.Keys = keys })
	tok := rs256(t, claims())
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	// A token without kid uses the only key.
	if _, err := v.Validate(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": nil}, claims())); err != nil {
		t.Fatalf("no kid, one key: %v", err)
	}
	// Rotation: k1 goes, k2 comes; no restart.
	if err := keys.Set(map[string]crypto.PublicKey{"k2": &rsaKey2.PublicKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("token of a rotated-out key: %v", err)
	}
	if _, err := v.Validate(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "k2"}, claims())); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	// A bad set is refused whole and the old one stays.
	if err := keys.Set(map[string]crypto.PublicKey{"k3": &rsaKey.PublicKey, "bad": &rsaSmall.PublicKey}); err == nil {
		t.Fatal("set with a small key accepted")
	}
	if _, err := keys.VerificationKey(context.Background(), "k2", "RS256"); err != nil {
		t.Fatal("old set lost")
	}
}

func TestParsePublicKeysPEM(t *testing.T) {
	t.Parallel()
	testKeys(t)
	der := must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))
	tmpl := &x509.Certificate{SerialNumber: bigOne(), NotBefore: testNow, NotAfter: testNow.Add(time.Hour)}
	cert := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey256.PublicKey, ecKey256))
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})...)
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey2.PublicKey)})...)
	keys, err := ParsePublicKeysPEM(bundle)
	if err != nil || len(keys) != 3 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	if !keys[0].(*rsa.PublicKey).Equal(&rsaKey.PublicKey) || !keys[1].(*ecdsa.PublicKey).Equal(&ecKey256.PublicKey) || !keys[2].(*rsa.PublicKey).Equal(&rsaKey2.PublicKey) {
		t.Fatal("keys differ")
	}
	small := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaSmall.PublicKey))})
	for name, in := range map[string][]byte{
		"small RSA":   small,
		"private key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}),
		"nothing":     []byte("not pem"),
		"bad DER":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}),
	} {
		if _, err := ParsePublicKeysPEM(in); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	testKeys(t)
	rev := &MemoryRevocation{}
	v := newValidator(t, func(c *Config) { c.Revocation = rev; c.CacheSize = 0 })
	ctx := context.Background()
	tok := rs256(t, claims())
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// The cache holds the token now; revocation still applies.
	rev.RevokeToken("tok-1", testNow.Add(time.Hour))
	if _, err := v.Validate(ctx, tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked id on a cache hit: %v", err)
	}
	other := rs256(t, func() jwt.MapClaims { c := claims(); c["jti"] = "tok-2"; return c }())
	if _, err := v.Validate(ctx, other); err != nil {
		t.Fatalf("another token of the user: %v", err)
	}
	rev.RevokeUser("rado", testNow)
	if _, err := v.Validate(ctx, other); !errors.Is(err, ErrRevoked) {
		t.Fatalf("user revoked: %v", err)
	}
	later := rs256(t, func() jwt.MapClaims {
		c := claims()
		c["jti"], c["iat"] = "tok-3", testNow.Add(time.Second).Unix()
		return c
	}())
	if _, err := v.Validate(ctx, later); err != nil {
		t.Fatalf("token issued after the user's revocation: %v", err)
	}
	rev.RevokeUser("rado", testNow.Add(-time.Hour)) // earlier: ignored
	if _, err := v.Validate(ctx, other); !errors.Is(err, ErrRevoked) {
		t.Fatal("an earlier RevokeUser undid a later one")
	}
	rev.Forget(testNow.Add(2 * time.Hour))
	if ok, _ := rev.Revoked(ctx, "tok-1", "someone", testNow); ok {
		t.Fatal("expired id not forgotten")
	}
}

func TestBinding(t *testing.T) {
	t.Parallel()
	testKeys(t)
	owners := map[string]string{"CSFrado": "Rado", "CSFalice": "alice"}
	v := newValidator(t, func(c *Config) {
		c.Binding = &Binding{
			DeviceOwner: func(_ context.Context, d string) (string, error) {
				if o, ok := owners[d]; ok {
					return o, nil
				}
				return "", errors.New("no such device")
			},
			MatchFromUser: true,
		}
	})
	c := claims()
	delete(c, "device") // a token that names no device
	tok := rs256(t, c)
	ctx := context.Background()
	for _, tc := range []struct {
		req Request
		err error
	}{
		{Request{Device: "CSFrado", FromUser: "rado"}, nil},
		{Request{Device: "CSFalice", FromUser: "rado"}, ErrBindingMismatch},
		{Request{Device: "CSFnone", FromUser: "rado"}, ErrBindingMismatch},
		{Request{Device: "CSFrado", FromUser: "alice"}, ErrBindingMismatch},
	} {
		_, err := v.ValidateRequest(ctx, tok, tc.req)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%+v: %v, want %v", tc.req, err, tc.err)
		}
	}
	// Validate alone does not bind.
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	testKeys(t)
	now := testNow
	keys := newMapKeys(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey})
	v := newValidator(t, func(c *Config) { c.Keys = keys; c.CacheSize = 64; c.Now = func() time.Time { return now } })
	ctx := context.Background()
	tok := rs256(t, claims())
	for range 2 {
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if v.cache.len() != 1 {
		t.Fatalf("cache holds %d", v.cache.len())
	}
	// The entry does not outlive the token.
	now = testNow.Add(time.Hour + time.Minute)
	if _, err := v.Validate(ctx, tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired token: %v", err)
	}
	// Failures are remembered for FailureTTL only: the key source is not
	// asked again until then.
	now = testNow
	bad := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1"}, jwt.MapClaims{"exp": 1})
	if _, err := v.Validate(ctx, bad); !errors.Is(err, ErrExpired) {
		t.Fatal(err)
	}
	asked := keys.lookups.Load()
	if _, err := v.Validate(ctx, bad); !errors.Is(err, ErrExpired) || keys.lookups.Load() != asked {
		t.Fatalf("remembered failure: %v, %d lookups", err, keys.lookups.Load()-asked)
	}
	now = now.Add(DefaultFailureTTL + time.Millisecond)
	if _, err := v.Validate(ctx, bad); !errors.Is(err, ErrExpired) || keys.lookups.Load() != asked+1 {
		t.Fatalf("failure remembered too long: %v, %d lookups", err, keys.lookups.Load()-asked)
	}
	// The cache stays bounded.
	for i := range 300 {
		c := claims()
		c["jti"] = i
		v.Validate(ctx, rs256(t, c))
	}
	if n := v.cache.len(); n > 64 {
		t.Fatalf("cache grew to %d entries, limit 64", n)
	}
}

func TestLeeway(t *testing.T) {
	t.Parallel()
	testKeys(t)
	c := claims()
	c["exp"] = testNow.Add(-10 * time.Second).Unix()
	tok := rs256(t, c)
	if _, err := newValidator(t, nil).Validate(context.Background(), tok); err != nil {
		t.Fatalf("10 s late within the default leeway: %v", err)
	}
	if _, err := newValidator(t, func(c *Config) { c.Leeway = -1 }).Validate(context.Background(), tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("no leeway: %v", err)
	}
}

func TestRequiredClaimsAndClaimNames(t *testing.T) {
	t.Parallel()
	testKeys(t)
	c := claims()
	c["userid"], c["devname"], c["scp"] = "rado2", "CSFrado2", []string{"sip:register"}
	delete(c, "scope")
	v := newValidator(t, func(cfg *Config) {
		cfg.Claims = ClaimNames{User: "userid", Device: "devname"}
		cfg.RequiredClaims = []string{"jti", "client_id"}
	})
	if _, err := v.Validate(context.Background(), rs256(t, c)); !errors.Is(err, ErrMissingClaim) {
		t.Fatalf("client_id missing: %v", err)
	}
	c["client_id"] = "jabber"
	id, err := v.Validate(context.Background(), rs256(t, c))
	if err != nil || id.User != "rado2" || id.Device != "CSFrado2" || !id.HasScope("sip:register") {
		t.Fatalf("%+v, %v", id, err)
	}
}

func bigOne() *big.Int { return big.NewInt(1) }

// TestRFC9068Claims: an access token as a real authorization server
// issues it (RFC 9068): typ at+jwt, aud a string, scp an array, client_id,
// sub an opaque id and the user's name in another claim, which
// Config.Claims.User names.
func TestRFC9068Claims(t *testing.T) {
	testKeys(t)
	c := jwt.MapClaims{
		"iss": "https://cucm.example.com", "sub": "5d1f8b0e-6a4b-4c1e-9a7e-0c2b8f3d1a77", "aud": "sip",
		"iat": testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(time.Hour).Unix(), "jti": "at-1",
		"client_id": "jabber-desktop", "scp": []string{"sip:register", "openid"}, "preferred_username": "Rado",
	}
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "at+jwt"}, c)
	byName := newValidator(t, func(cfg *Config) {
		cfg.Claims.User = "preferred_username"
		cfg.RequiredScopes = []string{"sip:register"}
	})
	id, err := byName.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "Rado" || id.ClientID != "jabber-desktop" || !slices.Equal(id.Scopes, []string{"sip:register", "openid"}) ||
		!slices.Equal(id.Audience, []string{"sip"}) || id.Device != "" {
		t.Fatalf("identity %+v", id)
	}
	if !SameUser(id.User, "rado") {
		t.Error("the user claim does not name the device owner rado")
	}
	bySub, _ := newValidator(t, nil).Validate(context.Background(), tok)
	if bySub.User != "5d1f8b0e-6a4b-4c1e-9a7e-0c2b8f3d1a77" {
		t.Errorf("by default the user is sub: %q", bySub.User)
	}
	// A client_id that is not a string is malformed.
	c["client_id"] = 7
	if _, err := byName.Validate(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "at+jwt"}, c)); !errors.Is(err, ErrMalformed) {
		t.Errorf("client_id 7: %v", err)
	}
}
