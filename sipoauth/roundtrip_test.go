package sipoauth

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/issuer"
)

// The issuer shares its revocations with validators through a
// MemoryRevocation.
var _ issuer.Revocations = (*MemoryRevocation)(nil)

// The issuer's tokens pass the validator, in both shapes and with every
// key source, and what the issuer revokes the validator refuses.
func TestIssuerToValidator(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			rev := &MemoryRevocation{}
			iss, err := issuer.New(issuer.Config{Issuer: "https://cucm.example.com", Audience: []string{"sip"}, Algorithm: alg, Revocation: rev,
				Users: map[string]string{"rado": "pw"}, Clients: map[string]string{"admin": "s3cret"}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(iss.Handler())
			defer srv.Close()
			jwks, err := NewJWKSURL(srv.URL+"/.well-known/jwks.json", JWKSOptions{Timeout: 2 * time.Second, UnknownKIDInterval: 10 * time.Millisecond, UnknownKIDWait: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer jwks.Close()
			encKID, key := iss.EncryptionKey()
			dec, _ := NewSymmetricKeys(map[string][]byte{encKID: key})
			v, err := New(Config{Keys: jwks, DecryptionKeys: dec, Issuers: []string{"https://cucm.example.com"}, Audiences: []string{"sip"},
				RequiredScopes: []string{"sip:register"}, Revocation: rev})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			yes, no := true, false
			for _, nested := range []*bool{&yes, &no} {
				tok, err := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", Scopes: []string{"sip:register"}, Nested: nested})
				if err != nil {
					t.Fatal(err)
				}
				id, err := v.ValidateRequest(ctx, tok, Request{Device: "CSFrado"})
				if err != nil || id.User != "rado" || id.Nested != *nested || id.TokenID == "" {
					t.Fatalf("nested=%v: %+v, %v", *nested, id, err)
				}
			}
			refresh, _ := iss.MintRefresh("rado", "jabber")
			if _, err := v.Validate(ctx, refresh); !errors.Is(err, ErrRefreshToken) {
				t.Fatalf("refresh token as credential: %v", err)
			}

			// Tokens from the token endpoint.
			res, err := http.PostForm(srv.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"rado"}, "password": {"pw"}, "scope": {"sip:register"}})
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				AccessToken string `json:"access_token"`
			}
			json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if _, err := v.Validate(ctx, body.AccessToken); err != nil {
				t.Fatalf("token endpoint's token: %v", err)
			}

			// Rotation: the validator learns the new key from the JWKS.
			if _, err := iss.RotateKey(true); err != nil {
				t.Fatal(err)
			}
			tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Scopes: []string{"sip:register"}, Nested: &yes})
			if _, err := v.Validate(ctx, tok); err != nil {
				t.Fatalf("after rotation: %v", err)
			}

			// Revocation through the endpoint reaches the validator.
			req, _ := http.NewRequest("POST", srv.URL+"/revoke", strings.NewReader("user=rado"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("admin", "s3cret")
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("revoke: %d", res.StatusCode)
			}
			if _, err := v.Validate(ctx, tok); !errors.Is(err, ErrRevoked) {
				t.Fatalf("after the user's revocation: %v", err)
			}
		})
	}
}

// The issuer's PEM public key and StaticKeys work together.
func TestIssuerPEMToStaticKeys(t *testing.T) {
	t.Parallel()
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := ParsePublicKeysPEM(iss.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): keys[0]})
	v, _ := New(Config{Keys: sk})
	tok, _ := iss.Mint(issuer.TokenRequest{User: "alice"})
	if id, err := v.Validate(context.Background(), tok); err != nil || id.User != "alice" {
		t.Fatalf("%+v, %v", id, err)
	}
	expired, _ := iss.Mint(issuer.TokenRequest{User: "alice", TTL: -time.Hour})
	if _, err := v.Validate(context.Background(), expired); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
}
