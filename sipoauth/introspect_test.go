package sipoauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/sipoauth"
)

// introspectionEndpoint is an RFC 7662 endpoint on 127.0.0.1 that lets in
// the client registrar/s3cret and knows the tokens given.
type introspectionEndpoint struct {
	url    string
	asked  atomic.Int64
	mu     sync.Mutex
	tokens map[string]map[string]any
}

func newIntrospectionEndpoint(t *testing.T, tokens map[string]map[string]any) *introspectionEndpoint {
	t.Helper()
	e := &introspectionEndpoint{tokens: tokens}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.asked.Add(1)
		if user, pass, ok := r.BasicAuth(); !ok || user != "registrar" || pass != "s3cret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.PostFormValue("token_type_hint") != "access_token" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		answer, ok := e.tokens[r.PostFormValue("token")]
		e.mu.Unlock()
		if !ok {
			answer = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/introspect"
	return e
}

// TestIntrospector: an opaque token is checked by the authorization
// server (RFC 7662), the answer's claims as a JWT's; an active answer is
// reused for CacheTime and never past exp, while a revocation wins at
// once; an inactive token is invalid_token, an endpoint that refuses the
// registrar or is down is a check that could not be made.
func TestIntrospector(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	clock := now
	var clockMu sync.Mutex
	at := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	advance := func(d time.Duration) { clockMu.Lock(); clock = clock.Add(d); clockMu.Unlock() }
	iss := "https://idp.example.com/realms/sip"
	ep := newIntrospectionEndpoint(t, map[string]map[string]any{
		"opaque-rado": {"active": true, "iss": iss, "sub": "b1f0", "username": "rado", "aud": "sip", "scope": "sip:register openid",
			"client_id": "jabber", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "jti": "at-7", "device": "CSFrado"},
		"opaque-soon":    {"active": true, "iss": iss, "username": "rado", "aud": "sip", "scope": "sip:register", "exp": now.Add(20 * time.Second).Unix()},
		"opaque-other":   {"active": true, "iss": "https://other.example.com", "username": "rado", "aud": "sip", "scope": "sip:register"},
		"opaque-noscope": {"active": true, "iss": iss, "username": "rado", "aud": "sip", "scope": "openid"},
		"opaque-expired": {"active": true, "iss": iss, "username": "rado", "aud": "sip", "scope": "sip:register", "exp": now.Add(-time.Hour).Unix()},
	})
	rev := &sipoauth.MemoryRevocation{}
	in, err := sipoauth.NewIntrospector(sipoauth.IntrospectionConfig{Endpoint: ep.url, ClientID: "registrar", ClientSecret: "s3cret",
		Issuers: []string{iss}, Audiences: []string{"sip"}, RequiredScopes: []string{"sip:register"},
		Claims: sipoauth.ClaimNames{User: "username"}, Revocation: rev, CacheTime: 30 * time.Second, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := in.ValidateRequest(ctx, "opaque-rado", sipoauth.Request{Device: "CSFrado"})
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "rado" || id.ClientID != "jabber" || id.Device != "CSFrado" || id.TokenID != "at-7" || id.Issuer != iss ||
		!id.Expiry.Equal(now.Add(time.Hour)) || len(id.Scopes) != 2 {
		t.Fatalf("identity %+v", id)
	}
	if _, err := in.ValidateRequest(ctx, "opaque-rado", sipoauth.Request{Device: "CSFalice"}); !errors.Is(err, sipoauth.ErrBindingMismatch) {
		t.Errorf("another device: %v", err)
	}
	if n := ep.asked.Load(); n != 1 {
		t.Errorf("the endpoint was asked %d times for one token, want 1 (the answer kept)", n)
	}
	// Kept CacheTime, then asked again.
	advance(31 * time.Second)
	if _, err := in.Validate(ctx, "opaque-rado"); err != nil || ep.asked.Load() != 2 {
		t.Errorf("after CacheTime: %v, asked %d times", err, ep.asked.Load())
	}
	// Never past exp: a token expiring in 20 s is asked again after 21.
	if _, err := in.Validate(ctx, "opaque-soon"); err != nil {
		t.Fatal(err)
	}
	asked := ep.asked.Load()
	advance(21 * time.Second)
	ep.mu.Lock()
	ep.tokens["opaque-soon"] = map[string]any{"active": false}
	ep.mu.Unlock()
	if _, err := in.Validate(ctx, "opaque-soon"); !errors.Is(err, sipoauth.ErrInactive) || ep.asked.Load() != asked+1 {
		t.Errorf("past exp: %v, asked %d more", err, ep.asked.Load()-asked)
	}
	// A revocation wins over the answer kept.
	rev.RevokeToken("at-7", time.Time{})
	if _, err := in.Validate(ctx, "opaque-rado"); !errors.Is(err, sipoauth.ErrRevoked) {
		t.Errorf("revoked while kept: %v", err)
	}

	for tok, want := range map[string]error{"never-issued": sipoauth.ErrInactive, "opaque-other": sipoauth.ErrIssuer,
		"opaque-noscope": sipoauth.ErrInsufficientScope, "opaque-expired": sipoauth.ErrExpired} {
		_, err := in.Validate(ctx, tok)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", tok, err, want)
		}
	}
	if _, err := in.Validate(ctx, "never-issued"); sipoauth.ErrorCode(err) != bearer.InvalidToken {
		t.Errorf("an inactive token's code: %q", sipoauth.ErrorCode(err))
	}

	// The endpoint refusing the registrar's credentials, or not there:
	// not the token's fault.
	wrong, _ := sipoauth.NewIntrospector(sipoauth.IntrospectionConfig{Endpoint: ep.url, ClientID: "registrar", ClientSecret: "wrong", Now: at})
	if _, err := wrong.Validate(ctx, "opaque-rado"); !errors.Is(err, sipoauth.ErrUnavailable) || sipoauth.ErrorCode(err) != "" {
		t.Errorf("wrong client secret: %v", err)
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	down, _ := sipoauth.NewIntrospector(sipoauth.IntrospectionConfig{Endpoint: gone.URL, ClientID: "registrar", ClientSecret: "s3cret"})
	if _, err := down.Validate(ctx, "opaque-rado"); !errors.Is(err, sipoauth.ErrUnavailable) {
		t.Errorf("endpoint down: %v", err)
	}
	if _, err := sipoauth.NewIntrospector(sipoauth.IntrospectionConfig{Endpoint: "http://idp.example.com/introspect", ClientID: "r"}); err == nil {
		t.Error("a plain http endpoint off the loopback host was taken")
	}
}

// TestIntrospectorInFlight: made-up tokens, never kept, take at most
// MaxInFlight requests to the endpoint at once; the ones beyond are not
// checked (unavailable), and the endpoint sees no more.
func TestIntrospectorInFlight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var inFlight, most atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		w.Write([]byte(`{"active": false}`))
	}))
	defer srv.Close()
	in, err := sipoauth.NewIntrospector(sipoauth.IntrospectionConfig{Endpoint: srv.URL, ClientID: "registrar", MaxInFlight: 3})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 10)
	for i := range 10 {
		go func() {
			_, err := in.Validate(context.Background(), "made-up-"+string(rune('a'+i)))
			errs <- err
		}()
	}
	var unavailable int
	for deadline := time.After(5 * time.Second); unavailable < 7; {
		select {
		case err := <-errs:
			if !errors.Is(err, sipoauth.ErrUnavailable) {
				t.Fatalf("a token over the bound: %v, want ErrUnavailable", err)
			}
			unavailable++
		case <-deadline:
			t.Fatalf("%d tokens refused as unavailable while 3 were in flight, want 7", unavailable)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); inFlight.Load() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests reached the endpoint, want 3", inFlight.Load())
		}
	}
	close(release)
	for range 3 {
		if err := <-errs; !errors.Is(err, sipoauth.ErrInactive) {
			t.Errorf("a token in flight: %v, want ErrInactive", err)
		}
	}
	if most.Load() != 3 {
		t.Errorf("the endpoint saw %d requests at once, want 3", most.Load())
	}
}
