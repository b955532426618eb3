package sipoauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
)

// metadataServer serves a metadata document at path, built by doc from the
// server's URL, and the issuer's keys at /jwks.json.
func metadataServer(t *testing.T, iss *issuer.Issuer, path string, doc func(base string) any) string {
	t.Helper()
	mux := http.NewServeMux()
	var base string
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc(base))
	})
	if iss != nil {
		mux.Handle("GET /jwks.json", iss.Handler())
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base = srv.URL
	return base
}

// TestDiscoverOpenIDConnect: the issuer's openid-configuration gives the
// keys; a token of that issuer validates with them, and one of another
// issuer does not.
func TestDiscoverOpenIDConnect(t *testing.T) {
	t.Parallel()
	var iss *issuer.Issuer
	var issuerURL string
	base := metadataServer(t, nil, "/realms/lab/.well-known/openid-configuration", func(base string) any {
		return map[string]any{"issuer": base + "/realms/lab", "jwks_uri": base + "/jwks.json",
			"token_endpoint": base + "/token", "device_authorization_endpoint": base + "/device",
			"revocation_endpoint": base + "/revoke", "grant_types_supported": []string{"refresh_token", "urn:ietf:params:oauth:grant-type:device_code"}}
	})
	issuerURL = base + "/realms/lab"
	m, err := sipoauth.Discover(context.Background(), issuerURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Issuer != issuerURL || m.JWKSURI != base+"/jwks.json" || m.TokenEndpoint != base+"/token" ||
		m.DeviceAuthorizationEndpoint != base+"/device" || m.RevocationEndpoint != base+"/revoke" ||
		len(m.GrantTypesSupported) != 2 || m.Source != issuerURL+"/.well-known/openid-configuration" {
		t.Fatalf("metadata %+v", m)
	}

	// The keys it names verify the issuer's tokens.
	iss, err = issuer.New(issuer.Config{Issuer: issuerURL, Audience: []string{"sip"}})
	if err != nil {
		t.Fatal(err)
	}
	keysSrv := httptest.NewServer(iss.Handler())
	defer keysSrv.Close()
	keys, err := sipoauth.NewJWKSURL(keysSrv.URL+"/.well-known/jwks.json", sipoauth.JWKSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, Issuers: []string{m.Issuer}, Audiences: []string{"sip"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	if id, err := v.Validate(context.Background(), tok); err != nil || id.User != "rado" {
		t.Fatalf("a token of the discovered issuer: %+v, %v", id, err)
	}
	other, _ := issuer.New(issuer.Config{Issuer: base + "/realms/other", Audience: []string{"sip"}})
	otherTok, _ := other.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	if _, err := v.Validate(context.Background(), otherTok); err == nil {
		t.Error("a token of another issuer was taken")
	}
}

// TestDiscoverRFC8414: without openid-configuration, the RFC 8414
// document, its well-known segment inserted before the issuer's path.
func TestDiscoverRFC8414(t *testing.T) {
	t.Parallel()
	base := metadataServer(t, nil, "/.well-known/oauth-authorization-server/tenant/7", func(base string) any {
		return map[string]any{"issuer": base + "/tenant/7", "jwks_uri": base + "/keys", "introspection_endpoint": base + "/introspect"}
	})
	m, err := sipoauth.Discover(context.Background(), base+"/tenant/7", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.JWKSURI != base+"/keys" || m.IntrospectionEndpoint != base+"/introspect" || m.Source != base+"/.well-known/oauth-authorization-server/tenant/7" {
		t.Fatalf("metadata %+v", m)
	}
}

// TestDiscoverRefusals: a document naming another issuer (a server
// passing itself off as another), one without keys, plain http off the
// loopback host, a document too large, a server that is not there.
func TestDiscoverRefusals(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for name, tc := range map[string]struct {
		doc  func(base string) any
		want string
	}{
		"another issuer": {func(base string) any {
			return map[string]any{"issuer": "https://idp.example.com", "jwks_uri": base + "/jwks.json"}
		}, `names the issuer "https://idp.example.com"`},
		"no keys": {func(base string) any { return map[string]any{"issuer": base} }, "gives no jwks_uri"},
		"keys over http": {func(base string) any {
			return map[string]any{"issuer": base, "jwks_uri": "http://idp.example.com/jwks"}
		}, `jwks_uri "http://idp.example.com/jwks" is not https`},
		"too large": {func(base string) any {
			return map[string]any{"issuer": base, "jwks_uri": base, "x": strings.Repeat("a", 2<<20)}
		}, "larger than 1048576 bytes"},
	} {
		base := metadataServer(t, nil, "/.well-known/openid-configuration", tc.doc)
		_, err := sipoauth.Discover(ctx, base, nil)
		if !errors.Is(err, sipoauth.ErrDiscovery) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an ErrDiscovery saying %q", name, err, tc.want)
		}
	}
	if _, err := sipoauth.Discover(ctx, "http://idp.example.com/realms/lab", nil); err == nil || !strings.Contains(err.Error(), "is not https") {
		t.Errorf("a plain http issuer off the loopback host: %v", err)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	if _, err := sipoauth.Discover(ctx, srv.URL, nil); !errors.Is(err, sipoauth.ErrDiscovery) || !strings.Contains(err.Error(), "no metadata for") {
		t.Errorf("no server: %v", err)
	}
}
