package sipoauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/testoidc"
	"github.com/sipoauth/sdk/sipoauth"
)

// postForm posts form to endpoint with the resource server's credentials
// and decodes the JSON answer.
func postForm(t *testing.T, endpoint string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testoidc.ResourceServer, testoidc.ResourceServerSecret)
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestOIDCProvider: against oidc-provider, a real OpenID Connect server:
// its metadata found from its issuer URL alone; its JWT access tokens
// (RFC 9068, at+jwt, for a resource indicator) validated with the keys
// the metadata names; its opaque tokens checked by introspection, active
// until revoked at its revocation endpoint.
func TestOIDCProvider(t *testing.T) {
	t.Parallel()
	p := testoidc.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := sipoauth.Discover(ctx, p.Issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Issuer != p.Issuer || m.JWKSURI == "" || m.TokenEndpoint == "" || m.IntrospectionEndpoint == "" || m.RevocationEndpoint == "" {
		t.Fatalf("metadata %+v", m)
	}

	code, tok := postForm(t, m.TokenEndpoint, url.Values{"grant_type": {"client_credentials"}, "scope": {testoidc.Scope}})
	access, _ := tok["access_token"].(string)
	if code != 200 || strings.Count(access, ".") != 2 {
		t.Fatalf("token endpoint: %d %v", code, tok)
	}
	keys, err := sipoauth.NewJWKSURL(m.JWKSURI, sipoauth.JWKSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, Issuers: []string{m.Issuer}, Audiences: []string{testoidc.Audience},
		RequiredScopes: []string{testoidc.Scope}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.Validate(ctx, access)
	if err != nil {
		t.Fatalf("oidc-provider's JWT access token: %v", err)
	}
	if id.User != testoidc.ResourceServer || id.ClientID != testoidc.ResourceServer || id.Issuer != p.Issuer || id.Expiry.Before(time.Now()) {
		t.Fatalf("identity %+v", id)
	}
	// Another audience is refused.
	other, _ := sipoauth.New(sipoauth.Config{Keys: keys, Issuers: []string{m.Issuer}, Audiences: []string{"not-sip"}})
	if _, err := other.Validate(ctx, access); !errors.Is(err, sipoauth.ErrAudience) {
		t.Errorf("another audience: %v", err)
	}

	code, tok = postForm(t, m.TokenEndpoint, url.Values{"grant_type": {"client_credentials"}, "scope": {testoidc.Scope}, "resource": {testoidc.Opaque}})
	opaque, _ := tok["access_token"].(string)
	if code != 200 || opaque == "" || strings.Contains(opaque, ".") {
		t.Fatalf("an opaque token: %d %v", code, tok)
	}
	introspect := func() (sipoauth.Identity, error) {
		in, err := sipoauth.NewIntrospector(sipoauth.IntrospectionConfig{Endpoint: m.IntrospectionEndpoint,
			ClientID: testoidc.ResourceServer, ClientSecret: testoidc.ResourceServerSecret,
			Issuers: []string{m.Issuer}, RequiredScopes: []string{testoidc.Scope}, CacheSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		return in.Validate(ctx, opaque)
	}
	if id, err := introspect(); err != nil || id.ClientID != testoidc.ResourceServer {
		t.Fatalf("introspected: %+v, %v", id, err)
	}
	if code, _ := postForm(t, m.RevocationEndpoint, url.Values{"token": {opaque}}); code != 200 {
		t.Fatalf("revocation endpoint: %d", code)
	}
	if _, err := introspect(); !errors.Is(err, sipoauth.ErrInactive) {
		t.Errorf("after revocation: %v, want ErrInactive", err)
	}
}
