package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/testoidc"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
)

// TestKeyFiles: -keys takes PEM public keys and certificates or a JWKS,
// -decryption-key the cluster key in every form keyfile reads (the JSON
// object of base64 keys by kid the registrar has always read among them),
// and a nested token registers with each.
func TestKeyFiles(t *testing.T) {
	f := newFixture(t)
	kid, key := f.issuer.EncryptionKey()
	b64 := base64.RawURLEncoding.EncodeToString(key)
	jwk, _ := json.Marshal(map[string]string{"kty": "oct", "kid": kid, "k": b64})
	set, _ := json.Marshal(map[string]any{"keys": []any{
		map[string]string{"kty": "oct", "kid": "retired", "k": base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
		map[string]string{"kty": "oct", "kid": kid, "k": b64}}})
	byKid, _ := json.Marshal(map[string]string{kid: hex.EncodeToString(key)})
	for _, tc := range []struct {
		name     string
		keys, dk []byte
	}{
		{"PEM and JSON object of base64 keys", f.issuer.PublicKeyPEM(), nil},
		{"JWKS and JWK", f.issuer.JWKS(), jwk},
		{"JWKS and JWK set", f.issuer.JWKS(), set},
		{"PEM and JSON object of hex keys", f.issuer.PublicKeyPEM(), byKid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.write("keys", "keys", tc.keys)
			if tc.dk != nil {
				f.write("decryption-key", "dk", tc.dk)
			}
			r := f.start("-edge", "")
			c := f.client(r.addr("oauth", "tls"), "TLS", nil)
			req := c.register("CSFrado", "rado")
			req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`))
			if res := c.do(t, req); res.StatusCode != 200 {
				t.Fatalf("nested token:\n%s", res)
			}
		})
	}
	// A key without its kid is the cluster's one key: it decrypts the
	// token whatever kid the token names.
	for name, dk := range map[string][]byte{"bare hex": []byte(hex.EncodeToString(key) + "\n"), "raw key": key} {
		t.Run(name, func(t *testing.T) {
			f.write("decryption-key", "dk", dk)
			r := f.start("-edge", "")
			c := f.client(r.addr("oauth", "tls"), "TLS", nil)
			req := c.register("CSFrado", "rado")
			req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`))
			if res := c.do(t, req); res.StatusCode != 200 {
				t.Fatalf("nested token:\n%s", res)
			}
		})
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

// TestJWKSReadiness: while the -jwks key server has not answered, the node
// is alive (/healthz) but not ready (/readyz says why); the first REGISTER
// fetches the keys again, and then it is ready.
func TestJWKSReadiness(t *testing.T) {
	f := newFixture(t)
	var up atomic.Bool
	keys := f.issuer.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		keys.ServeHTTP(w, r)
	}))
	defer srv.Close()
	r := f.start("-edge", "", "-keys", "", "-jwks", srv.URL+"/.well-known/jwks.json")
	cl := &http.Client{Timeout: 2 * time.Second}
	res, err := cl.Get("http://" + r.addr("metrics", "http") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("/healthz: %d %q", res.StatusCode, body)
	}
	if code, why := readyz(t, r); code != 503 || why != "the signing keys of -jwks not fetched yet\n" {
		t.Fatalf("/readyz before the keys: %d %q", code, why)
	}
	up.Store(true)
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	req := c.register("CSFrado", "rado")
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`))
	if res := c.do(t, req); res.StatusCode != 200 {
		t.Fatalf("REGISTER once the key server answers:\n%s", res)
	}
	if code, why := readyz(t, r); code != 200 || why != "ready\n" {
		t.Fatalf("/readyz after the keys: %d %q", code, why)
	}
}

// TestIssuerURL: with -issuer-url alone, the node reads the authorization
// server's metadata, takes its keys and pins its issuer; a token of it
// registers, one of another issuer does not. A server whose metadata
// names another issuer stops the start.
func TestIssuerURL(t *testing.T) {
	f := newFixture(t)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	idp, err := issuer.New(issuer.Config{Issuer: srv.URL + "/realms/sip", Audience: []string{audience}})
	if err != nil {
		t.Fatal(err)
	}
	named := srv.URL + "/realms/sip"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/sip/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": named, "jwks_uri": srv.URL + "/.well-known/jwks.json"})
	})
	mux.Handle("/", idp.Handler())
	handler = mux
	// The fixture's -keys and -issuer left out.
	args := without(f.args(), "-keys", "-issuer")
	r, _ := startArgs(t, append(args, "-edge", "", "-issuer-url", srv.URL+"/realms/sip"))
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	register := func(tok string) *sip.Response {
		req := c.register("CSFrado", "rado")
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
		return c.do(t, req)
	}
	tok, _ := idp.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	if res := register(tok); res.StatusCode != 200 {
		t.Fatalf("a token of the discovered issuer:\n%s", res)
	}
	// As a real server issues them: sub an opaque id, the user's name in
	// preferred_username (-user-claim), the device in its own claim.
	r2, _ := startArgs(t, append(args, "-edge", "", "-issuer-url", srv.URL+"/realms/sip", "-user-claim", "preferred_username", "-device-claim", "sip_device"))
	c2 := f.client(r2.addr("oauth", "tls"), "TLS", nil)
	byName, _ := idp.Mint(issuer.TokenRequest{User: "9b2e7c4a-0f1d-4e6b-8a3c-5d7f9e1b2c4d", Extra: map[string]any{"preferred_username": "RADO", "sip_device": "CSFrado"}})
	req := c2.register("CSFrado", "rado")
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+byName+`"`))
	if res := c2.do(t, req); res.StatusCode != 200 {
		t.Fatalf("-user-claim preferred_username:\n%s", res)
	}
	otherDevice, _ := idp.Mint(issuer.TokenRequest{User: "9b2e7c4a", Extra: map[string]any{"preferred_username": "rado", "sip_device": "CSFalice"}})
	req = c2.register("CSFrado", "rado")
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+otherDevice+`"`))
	if res := c2.do(t, req); res.StatusCode == 200 {
		t.Fatalf("a token bound to another device by -device-claim registered:\n%s", res)
	}
	if res := register(f.mint("rado", "CSFrado", nil)); res.StatusCode != 407 {
		t.Fatalf("a token of another issuer:\n%s", res)
	}

	named = "https://impostor.example.com"
	s, _ := loadConfig(append(args, "-edge", "", "-issuer-url", srv.URL+"/realms/sip"))
	s.logOut = io.Discard
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if r, err := start(ctx, s); err == nil || !strings.Contains(err.Error(), `-issuer-url: sipoauth: discovery: `) || !strings.Contains(err.Error(), `names the issuer "https://impostor.example.com"`) {
		if err == nil {
			r.Close(ctx)
		}
		t.Fatalf("metadata naming another issuer: %v", err)
	}
}

// TestIntrospection: with -introspection-client, opaque tokens are checked
// at the introspection endpoint the -issuer-url metadata gives, with the
// registrar's client credentials.
func TestIntrospection(t *testing.T) {
	f := newFixture(t)
	var base string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/sip/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": base + "/realms/sip", "jwks_uri": base + "/jwks", "introspection_endpoint": base + "/introspect"})
	})
	var asked atomic.Int64
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "sip-registrar" || p != "n0de" {
			http.Error(w, "{}", http.StatusUnauthorized)
			return
		}
		answer := map[string]any{"active": false}
		if r.PostFormValue("token") == "opaque-rado" {
			answer = map[string]any{"active": true, "iss": base + "/realms/sip", "sub": "rado", "aud": audience, "exp": time.Now().Add(time.Hour).Unix()}
		}
		json.NewEncoder(w).Encode(answer)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base = srv.URL
	args := without(f.args(), "-keys", "-issuer")
	r, _ := startArgs(t, append(args, "-edge", "", "-issuer-url", base+"/realms/sip", "-introspection-client", "sip-registrar", "-introspection-secret", "n0de"))
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	register := func(tok string) *sip.Response {
		req := c.register("CSFrado", "rado")
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
		return c.do(t, req)
	}
	if res := register("opaque-rado"); res.StatusCode != 200 {
		t.Fatalf("an active opaque token:\n%s", res)
	}
	if res := register("opaque-rado"); res.StatusCode != 200 || asked.Load() != 1 {
		t.Fatalf("again: %d, the endpoint asked %d times (want the answer kept)", res.StatusCode, asked.Load())
	}
	if res := register("opaque-unknown"); res.StatusCode != 407 || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline", error="invalid_token"` {
		t.Fatalf("an inactive token:\n%s", res)
	}
	if code, why := readyz(t, r); code != 200 {
		t.Errorf("/readyz with introspection: %d %q (no JWKS to wait for)", code, why)
	}
}

// TestIssuerURLWithOIDCProvider: a node configured with oidc-provider's
// issuer URL alone registers a device with an access token of that real
// server (here one of the client credentials grant, whose user is the
// client), and refuses one for another audience.
func TestIssuerURLWithOIDCProvider(t *testing.T) {
	p := testoidc.Start(t)
	f := newFixture(t)
	f.write("devices", "devices.json", []byte(`[{"name": "CSFbot", "owner": "`+testoidc.ResourceServer+`", "oauth": true}]`))
	args := without(f.args(), "-keys", "-issuer", "-audience")
	r, _ := startArgs(t, append(args, "-edge", "", "-issuer-url", p.Issuer, "-audience", testoidc.Audience, "-scope", testoidc.Scope))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := sipoauth.Discover(ctx, p.Issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	token := func(resource string) string {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {testoidc.Scope}}
		if resource != "" {
			form.Set("resource", resource)
		}
		req, _ := http.NewRequest(http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testoidc.ResourceServer, testoidc.ResourceServerSecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
			t.Fatalf("token: %d, %v", res.StatusCode, err)
		}
		return tok.AccessToken
	}
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	register := func(tok string) *sip.Response {
		req := c.register("CSFbot", testoidc.ResourceServer)
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
		return c.do(t, req)
	}
	if res := register(token("")); res.StatusCode != 200 {
		t.Fatalf("oidc-provider's access token:\n%s", res)
	}
	// An opaque token (for another resource) cannot be read as a JWT.
	opaque := token(testoidc.Opaque)
	if res := register(opaque); res.StatusCode != 407 || !strings.Contains(header(res, "Proxy-Authenticate"), "invalid_token") {
		t.Fatalf("an opaque token without introspection:\n%s", res)
	}
	// A node that introspects takes it, with the registrar's client
	// credentials at the provider. oidc-provider's introspection answer
	// for a client credentials token has no sub: the user is its
	// client_id (-user-claim).
	r2, _ := startArgs(t, append(args, "-edge", "", "-issuer-url", p.Issuer, "-scope", testoidc.Scope, "-user-claim", "client_id",
		"-introspection-client", testoidc.ResourceServer, "-introspection-secret", testoidc.ResourceServerSecret))
	c = f.client(r2.addr("oauth", "tls"), "TLS", nil)
	if res := register(opaque); res.StatusCode != 200 {
		t.Fatalf("an opaque token introspected:\n%s", res)
	}
}

// without returns args without the flags named and their values.
func without(args []string, flags ...string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if slices.Contains(flags, args[i]) {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}
