package signin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testoidc"
	"github.com/sipoauth/sdk/signin"
)

// countingStore is a MemoryStore that counts saves and can fail them.
type countingStore struct {
	signin.MemoryStore
	saves atomic.Int32
	fail  atomic.Int32 // saves left to fail
}

func (s *countingStore) Save(ctx context.Context, t *oauth2.Token) error {
	s.saves.Add(1)
	if s.fail.Add(-1) >= 0 {
		return errors.New("keychain locked")
	}
	return s.MemoryStore.Save(ctx, t)
}

// setup starts oidc-provider and a Provider for its soft client.
func setup(t *testing.T, mod func(*signin.Config)) (*testoidc.Provider, *signin.Provider, *countingStore) {
	t.Helper()
	op := testoidc.Start(t)
	store := new(countingStore)
	cfg := signin.Config{Issuer: op.Issuer, ClientID: testoidc.SoftClient, Store: store,
		Scopes: []string{"openid", "offline_access", testoidc.Scope}, Resource: testoidc.Resource}
	if mod != nil {
		mod(&cfg)
	}
	p, err := signin.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return op, p, store
}

// claims decodes a JWT's header and payload, unverified.
func claims(t *testing.T, jwt string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", jwt)
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

// browserLogin signs rado in through the browser flow.
func browserLogin(t *testing.T, ctx context.Context, p *signin.Provider) (*signin.Session, string) {
	t.Helper()
	var authURL string
	s, err := p.BrowserLogin(ctx, func(u string) error {
		authURL = u
		page, err := testoidc.NewBrowser("rado").SignIn(ctx, u)
		if err != nil {
			return err
		}
		if page.Status != 200 || !strings.Contains(page.Body, "Sign-in received") {
			t.Errorf("the redirect's page: %d %s", page.Status, page.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, authURL
}

// TestDeviceLogin: the device grant against oidc-provider, the user typing
// the code on the verification page; the access token is the registrar's
// JWT for rado, and the session is saved.
func TestDeviceLogin(t *testing.T) {
	t.Parallel()
	op, p, store := setup(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var shown signin.DeviceCode
	userDone := make(chan error, 1)
	s, err := p.DeviceLogin(ctx, func(dc signin.DeviceCode) error {
		shown = dc
		b := testoidc.NewBrowser("rado")
		b.UserCode = dc.UserCode
		go func() {
			page, err := b.SignIn(ctx, dc.VerificationURI)
			if err == nil && !strings.Contains(page.Body, "Sign-in Success") {
				err = errors.New("last page: " + page.Body)
			}
			userDone <- err
		}()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-userDone; err != nil {
		t.Fatal(err)
	}
	if shown.VerificationURI != op.Issuer+"/device" || shown.UserCode == "" || !strings.Contains(shown.VerificationURIComplete, "user_code=") ||
		time.Until(shown.Expiry) < time.Minute {
		t.Errorf("device code shown: %+v", shown)
	}
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, c := claims(t, tok.AccessToken)
	if h["typ"] != "at+jwt" || h["kid"] != op.KeyID() || c["sub"] != "rado" || c["aud"] != testoidc.Audience ||
		c["client_id"] != testoidc.SoftClient || !strings.Contains(c["scope"].(string), testoidc.Scope) {
		t.Errorf("access token header %v, claims %v", h, c)
	}
	if tok.RefreshToken == "" || time.Until(tok.Expiry) < 30*time.Minute {
		t.Errorf("token: refresh %q, expiry %v", tok.RefreshToken, tok.Expiry)
	}
	if saved, _ := store.Load(ctx); store.saves.Load() != 1 || saved == nil || saved.AccessToken != tok.AccessToken || saved.RefreshToken != tok.RefreshToken {
		t.Errorf("saved %d times: %+v", store.saves.Load(), saved)
	}
}

// TestDeviceLoginDenied: the user declines on the verification page.
func TestDeviceLoginDenied(t *testing.T) {
	t.Parallel()
	_, p, _ := setup(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := p.DeviceLogin(ctx, func(dc signin.DeviceCode) error {
		go testoidc.NewBrowser("rado").Deny(ctx, dc.VerificationURIComplete)
		return nil
	})
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("declined: %v", err)
	}
}

// TestBrowserLogin: the authorization code grant with PKCE and a loopback
// redirect, through oidc-provider's own pages. A forged redirect with
// another state is refused and does not end the sign-in; the one with
// the right state does.
func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	op, p, _ := setup(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var forged *http.Response
	s, err := p.BrowserLogin(ctx, func(authURL string) error {
		u, _ := url.Parse(authURL)
		q := u.Query()
		redirect, _ := url.Parse(q.Get("redirect_uri"))
		if u.Scheme+"://"+u.Host != op.Issuer || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
			len(q.Get("state")) < 43 || q.Get("client_id") != testoidc.SoftClient || q.Get("prompt") != "consent" ||
			q.Get("resource") != testoidc.Resource || q.Get("scope") != "openid offline_access "+testoidc.Scope ||
			redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Port() == "" || redirect.Path != "/callback" {
			t.Errorf("authorization request %s", authURL)
		}
		// Another page tries to finish the sign-in with its own code.
		evil := *redirect
		evil.RawQuery = url.Values{"code": {"attacker-code"}, "state": {"guessed"}}.Encode()
		var err error
		if forged, err = http.Get(evil.String()); err != nil {
			return err
		}
		forged.Body.Close()
		page, err := testoidc.NewBrowser("rado").SignIn(ctx, authURL)
		if err != nil {
			return err
		}
		if page.Status != 200 || !strings.Contains(page.Body, "Sign-in received") {
			t.Errorf("the redirect's page: %d %s", page.Status, page.Body)
		}
		// The redirect URI serves one sign-in only.
		again, err := http.Get(page.URL)
		if err == nil {
			again.Body.Close()
			if again.StatusCode != 400 {
				t.Errorf("the redirect again: %d", again.StatusCode)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if forged.StatusCode != 400 {
		t.Errorf("a redirect with another state: %d", forged.StatusCode)
	}
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, c := claims(t, tok.AccessToken); c["sub"] != "rado" || c["aud"] != testoidc.Audience || tok.RefreshToken == "" {
		t.Errorf("claims %v, refresh %q", c, tok.RefreshToken)
	}
	if id, _ := s.OAuth2Token().Extra("id_token").(string); id == "" {
		t.Error("no ID token for the openid scope")
	}
}

// TestBrowserLoginDenied: the user declines; the redirect says
// access_denied.
func TestBrowserLoginDenied(t *testing.T) {
	t.Parallel()
	_, p, _ := setup(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := p.BrowserLogin(ctx, func(u string) error {
		_, err := testoidc.NewBrowser("rado").Deny(ctx, u)
		return err
	})
	var ae *signin.AuthError
	if !errors.As(err, &ae) || ae.Code != "access_denied" {
		t.Fatalf("declined: %v", err)
	}
	// A login that nobody answers ends with its context.
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if _, err := p.BrowserLogin(short, func(string) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("nobody at the browser: %v", err)
	}
}

// TestSessionRenewal: a session renews its access token when it is due
// and when the registrar refused it, one request for many callers, saves
// each rotated refresh token, and resumes from the Store elsewhere.
func TestSessionRenewal(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	_, p, store := setup(t, func(c *signin.Config) { c.Now = func() time.Time { return time.Unix(0, now.Load()) } })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, _ := browserLogin(t, ctx, p)
	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Token(ctx); again.AccessToken != first.AccessToken || store.saves.Load() != 1 {
		t.Fatalf("a valid token was renewed (%d saves)", store.saves.Load())
	}
	// Another token's refusal changes nothing.
	s.Invalidate("someone else's")
	if again, _ := s.Token(ctx); again.AccessToken != first.AccessToken {
		t.Fatal("renewed for another token's refusal")
	}

	// The registrar refused it: eight callers at once share one renewal.
	s.Invalidate(first.AccessToken)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			if tok, err := s.Token(ctx); err == nil {
				got[i] = tok.AccessToken
			} else {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	second := got[0]
	for _, g := range got {
		if g != second || g == first.AccessToken {
			t.Fatalf("tokens after the refusal: %q (first %q)", got, first.AccessToken)
		}
	}
	tok2, _ := s.Token(ctx)
	// Saved three times: at sign-in, without the refused access token,
	// and after the renewal.
	if store.saves.Load() != 3 || tok2.RefreshToken == first.RefreshToken {
		t.Fatalf("%d saves; refresh token rotated: %v", store.saves.Load(), tok2.RefreshToken != first.RefreshToken)
	}
	if saved, _ := store.Load(ctx); saved.RefreshToken != tok2.RefreshToken {
		t.Fatal("the store kept the old refresh token")
	}

	// Due: the clock passes the token's expiry less a minute.
	now.Store(tok2.Expiry.Add(-30 * time.Second).UnixNano())
	tok3, err := s.Token(ctx)
	if err != nil || tok3.AccessToken == tok2.AccessToken || store.saves.Load() != 4 {
		t.Fatalf("due token: %v, renewed %v, %d saves", err, tok3.AccessToken != tok2.AccessToken, store.saves.Load())
	}

	// Another process resumes from the store.
	p2, err := signin.New(ctx, signin.Config{Endpoints: p.Endpoints(), ClientID: testoidc.SoftClient, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := p2.Resume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := s2.Token(ctx); err != nil || tok.AccessToken != tok3.AccessToken {
		t.Fatalf("resumed: %v", err)
	}
	if _, err := signin.New(ctx, signin.Config{Endpoints: p.Endpoints(), ClientID: "x"}); err != nil {
		t.Fatal(err)
	}
	empty, _ := signin.New(ctx, signin.Config{Endpoints: p.Endpoints(), ClientID: "x"})
	if _, err := empty.Resume(ctx); !errors.Is(err, signin.ErrSignInRequired) {
		t.Errorf("an empty store: %v", err)
	}
}

// TestSignOut: SignOut revokes the refresh token at the server (RFC 7009),
// forgets the session, and the session gives no token after it.
func TestSignOut(t *testing.T) {
	t.Parallel()
	_, p, store := setup(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, _ := browserLogin(t, ctx, p)
	tok, _ := s.Token(ctx)
	if err := s.SignOut(ctx); err != nil {
		t.Fatalf("sign-out: %v", err)
	}
	if _, err := s.Token(ctx); !errors.Is(err, signin.ErrSignedOut) {
		t.Errorf("a token after sign-out: %v", err)
	}
	if _, err := s.Refresh(ctx); !errors.Is(err, signin.ErrSignedOut) {
		t.Errorf("a renewal after sign-out: %v", err)
	}
	if saved, _ := store.Load(ctx); saved != nil || s.OAuth2Token() != nil {
		t.Error("the tokens are kept after sign-out")
	}
	// The server refuses the refresh token now.
	conf := oauth2.Config{ClientID: testoidc.SoftClient, Endpoint: oauth2.Endpoint{TokenURL: p.Endpoints().TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
	_, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("the revoked refresh token: %v", err)
	}
	// A session whose refresh token the server refuses needs the user.
	store2 := new(signin.MemoryStore)
	store2.Save(ctx, &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: "Bearer"})
	p2, _ := signin.New(ctx, signin.Config{Endpoints: p.Endpoints(), ClientID: testoidc.SoftClient, Store: store2})
	s2, _ := p2.Resume(ctx)
	if _, err := s2.Refresh(ctx); !errors.Is(err, signin.ErrSignInRequired) || !errors.As(err, &re) {
		t.Errorf("renewing with a revoked refresh token: %v", err)
	}
}

// TestSignOutUnreachable: a revocation endpoint that fails makes SignOut
// fail, and the next call asks again for both tokens; the session ends
// anyway, and the Store keeps the tokens the server has not revoked.
func TestSignOutUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := new(signin.MemoryStore)
	store.Save(ctx, &oauth2.Token{AccessToken: "a1", RefreshToken: "r1", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)})
	var asked atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		r.ParseForm()
		if want := map[string]string{"refresh_token": "r1", "access_token": "a1"}[r.Form.Get("token_type_hint")]; r.Form.Get("token") != want || want == "" || r.Form.Get("client_id") != "jabber" {
			t.Errorf("revocation request %v", r.Form)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	ln := listen(t)
	go srv.Serve(ln)
	defer srv.Close()
	p, err := signin.New(ctx, signin.Config{ClientID: "jabber", Store: store,
		Endpoints: signin.Endpoints{TokenURL: "http://" + ln.Addr().String() + "/token", RevocationURL: "http://" + ln.Addr().String() + "/revoke"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Resume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SignOut(ctx); err == nil || !strings.Contains(err.Error(), "answered 503") {
		t.Fatalf("sign-out with the endpoint failing: %v", err)
	}
	if err := s.SignOut(ctx); err == nil || asked.Load() != 4 {
		t.Fatalf("again: %v, asked %d times", err, asked.Load())
	}
	if _, err := s.Token(ctx); !errors.Is(err, signin.ErrSignedOut) {
		t.Errorf("token: %v", err)
	}
	// The tokens not revoked stay, for another try after a restart.
	if saved, _ := store.Load(ctx); saved == nil || saved.RefreshToken != "r1" || saved.AccessToken != "a1" {
		t.Errorf("the store holds %+v", saved)
	}
	if left := s.OAuth2Token(); left == nil || left.RefreshToken != "r1" {
		t.Errorf("the tokens left: %+v", left)
	}
}

// TestStoreFailure: a store that fails to save does not fail the sign-in;
// the save is tried again at the next use, and the failure is logged.
func TestStoreFailure(t *testing.T) {
	t.Parallel()
	log := new(syncbuf.Buffer)
	_, p, store := setup(t, func(c *signin.Config) { c.Logger = slog.New(slog.NewTextHandler(log, nil)) })
	store.fail.Store(1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, _ := browserLogin(t, ctx, p)
	if saved, _ := store.Load(ctx); saved != nil || !strings.Contains(log.String(), "keychain locked") {
		t.Fatalf("after a failed save: %+v, log %q", saved, log)
	}
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if saved, _ := store.Load(ctx); saved == nil || saved.AccessToken != tok.AccessToken || store.saves.Load() != 2 {
		t.Fatalf("saved again: %+v after %d saves", saved, store.saves.Load())
	}
	if again, _ := s.Token(ctx); again.AccessToken != tok.AccessToken || store.saves.Load() != 2 {
		t.Errorf("saved a third time")
	}
}

// TestConfigErrors: what New refuses, and a server without the endpoint
// asked for.
func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []signin.Config{
		{Endpoints: signin.Endpoints{TokenURL: "https://a/token"}},
		{ClientID: "c"},
		{ClientID: "c", Endpoints: signin.Endpoints{TokenURL: "http://login.example.com/token"}},
		{ClientID: "c", Endpoints: signin.Endpoints{TokenURL: "https://a/token", AuthURL: "http://a/auth"}},
		{ClientID: "c", Endpoints: signin.Endpoints{TokenURL: "https://a/token"}, RedirectPath: "callback"},
	} {
		if _, err := signin.New(ctx, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	p, err := signin.New(ctx, signin.Config{ClientID: "c", Endpoints: signin.Endpoints{TokenURL: "https://a/token"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DeviceLogin(ctx, func(signin.DeviceCode) error { return nil }); !errors.Is(err, signin.ErrUnsupported) {
		t.Errorf("device login: %v", err)
	}
	if _, err := p.BrowserLogin(ctx, func(string) error { return nil }); !errors.Is(err, signin.ErrUnsupported) {
		t.Errorf("browser login: %v", err)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
