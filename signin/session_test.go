package signin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/signin"
)

// fakeServer is a token endpoint that rotates refresh tokens, and a
// revocation endpoint.
type fakeServer struct {
	mu      sync.Mutex
	valid   map[string]bool // refresh tokens
	n       int
	typ     string // token_type of the next answer; Bearer when empty
	sameAT  bool   // answer access token a0 each time
	delay   time.Duration
	fail    atomic.Bool // answer 503
	hits    atomic.Int32
	revoke  func(token, hint string) (status int, body string)
	revoked []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/revoke" {
		f.mu.Lock()
		f.revoked = append(f.revoked, r.Form.Get("token"))
		f.mu.Unlock()
		status, body := 200, ""
		if f.revoke != nil {
			status, body = f.revoke(r.Form.Get("token"), r.Form.Get("token_type_hint"))
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
		return
	}
	f.hits.Add(1)
	if f.fail.Load() {
		time.Sleep(f.delay)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	f.mu.Lock()
	rt := r.Form.Get("refresh_token")
	if !f.valid[rt] {
		f.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant"}`)
		return
	}
	delete(f.valid, rt)
	f.n++
	nrt := fmt.Sprintf("r%d", f.n)
	f.valid[nrt] = true
	at := fmt.Sprintf("a%d", f.n)
	if f.sameAT {
		at = "a0"
	}
	typ := f.typ
	f.typ = ""
	if typ == "" {
		typ = "Bearer"
	}
	f.mu.Unlock()
	// The server has rotated the refresh token before it answers.
	time.Sleep(f.delay)
	fmt.Fprintf(w, `{"access_token":%q,"token_type":%q,"refresh_token":%q,"expires_in":300}`, at, typ, nrt)
}

// fakeProvider starts f and a Provider for it; mod changes the Config.
func fakeProvider(t *testing.T, f *fakeServer, mod func(*signin.Config)) *signin.Provider {
	t.Helper()
	if f.valid == nil {
		f.valid = map[string]bool{"r0": true}
	}
	ln := listen(t)
	srv := &http.Server{Handler: f}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()
	cfg := signin.Config{ClientID: "c", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Endpoints: signin.Endpoints{TokenURL: base + "/token", RevocationURL: base + "/revoke"}}
	if mod != nil {
		mod(&cfg)
	}
	p, err := signin.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clock is a settable Config.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := new(clock)
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) now() time.Time            { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)           { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration)       { c.ns.Add(int64(d)) }
func logTo(b *syncbuf.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// TestRenewalBadTokenKeepsRefresh: an answer the session cannot use
// (token_type DPoP) fails with ErrBadToken but keeps and saves the
// rotated refresh token, which the next call uses.
func TestRenewalBadTokenKeepsRefresh(t *testing.T) {
	t.Parallel()
	f := &fakeServer{typ: "DPoP"}
	store := new(signin.MemoryStore)
	p := fakeProvider(t, f, func(c *signin.Config) { c.Store = store })
	s, _ := p.NewSession(&oauth2.Token{RefreshToken: "r0"})
	ctx := context.Background()
	if _, err := s.Token(ctx); !errors.Is(err, signin.ErrBadToken) {
		t.Fatalf("a DPoP token: %v", err)
	}
	if saved, _ := store.Load(ctx); saved == nil || saved.RefreshToken != "r1" || saved.AccessToken != "" {
		t.Errorf("saved %+v", saved)
	}
	if tok, err := s.Token(ctx); err != nil || tok.AccessToken != "a2" {
		t.Fatalf("next: %v", err)
	}
}

// TestRenewalOutlivesCaller: a caller that stops waiting does not lose
// the refresh token the server rotated meanwhile.
func TestRenewalOutlivesCaller(t *testing.T) {
	t.Parallel()
	f := &fakeServer{delay: 300 * time.Millisecond}
	p := fakeProvider(t, f, nil)
	s, _ := p.NewSession(&oauth2.Token{RefreshToken: "r0"})
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Token(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the impatient caller: %v", err)
	}
	tok, err := s.Token(context.Background())
	if err != nil || tok.AccessToken != "a1" || tok.RefreshToken != "r1" || f.hits.Load() != 1 {
		t.Fatalf("after: %+v %v, %d requests", tok, err, f.hits.Load())
	}
}

// TestRenewalOutage: in the early expiry window, a token endpoint that
// fails does not fail a token still good; the failure is logged.
func TestRenewalOutage(t *testing.T) {
	t.Parallel()
	f := new(fakeServer)
	c := newClock()
	log := new(syncbuf.Buffer)
	p := fakeProvider(t, f, func(cfg *signin.Config) { cfg.Now, cfg.Logger = c.now, logTo(log) })
	s, _ := p.NewSession(&oauth2.Token{RefreshToken: "r0"})
	ctx := context.Background()
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.set(tok.Expiry.Add(-30 * time.Second))
	f.fail.Store(true)
	if again, err := s.Token(ctx); err != nil || again.AccessToken != tok.AccessToken {
		t.Fatalf("during the outage: %v", err)
	}
	if !strings.Contains(log.String(), "WARN") || !strings.Contains(log.String(), "503") {
		t.Errorf("log %q", log)
	}
	// A refused token is not given again.
	s.Invalidate(tok.AccessToken)
	if _, err := s.Token(ctx); err == nil {
		t.Error("the refused token was given during the outage")
	}
	// Nor an expired one.
	s2, _ := p.NewSession(&oauth2.Token{AccessToken: "x", RefreshToken: "r9", TokenType: "Bearer", Expiry: c.now().Add(-time.Second)})
	if _, err := s2.Token(ctx); err == nil {
		t.Error("an expired token was given during the outage")
	}
}

// TestSameAccessTokenRefused: a renewal that gives again the refused
// access token fails and keeps it refused; Invalidate leaves the refused
// token out of the Store.
func TestSameAccessTokenRefused(t *testing.T) {
	t.Parallel()
	f := &fakeServer{sameAT: true}
	store := new(signin.MemoryStore)
	p := fakeProvider(t, f, func(c *signin.Config) { c.Store = store })
	s, _ := p.NewSession(&oauth2.Token{RefreshToken: "r0"})
	ctx := context.Background()
	t1, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Invalidate(t1.AccessToken)
	if saved, _ := store.Load(ctx); saved == nil || saved.AccessToken != "" || saved.RefreshToken != "r1" {
		t.Errorf("saved after Invalidate: %+v", saved)
	}
	for range 2 {
		if t2, err := s.Token(ctx); !errors.Is(err, signin.ErrBadToken) {
			t.Fatalf("the refused token again: %+v %v", t2, err)
		}
	}
	if saved, _ := store.Load(ctx); saved == nil || saved.AccessToken != "" || saved.RefreshToken != "r3" {
		t.Errorf("saved after the renewals: %+v", saved)
	}
}

// TestSignInRequiredKept: once the server refused the refresh token,
// Token says so without asking again; callers waiting for a renewal share
// its outcome.
func TestSignInRequiredKept(t *testing.T) {
	t.Parallel()
	f := new(fakeServer)
	p := fakeProvider(t, f, nil)
	s, _ := p.NewSession(&oauth2.Token{RefreshToken: "dead"})
	ctx := context.Background()
	for range 5 {
		if _, err := s.Token(ctx); !errors.Is(err, signin.ErrSignInRequired) {
			t.Fatal(err)
		}
	}
	if n := f.hits.Load(); n != 1 {
		t.Errorf("%d requests for 5 calls", n)
	}

	f2 := &fakeServer{delay: 200 * time.Millisecond}
	f2.fail.Store(true)
	s2, _ := fakeProvider(t, f2, nil).NewSession(&oauth2.Token{RefreshToken: "r0"})
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := s2.Token(ctx); err == nil || !strings.Contains(err.Error(), "503") {
				t.Errorf("a waiting caller: %v", err)
			}
		})
	}
	wg.Wait()
	if n := f2.hits.Load(); n != 1 {
		t.Errorf("%d requests for 5 callers at once", n)
	}
}

// failingStore fails every save.
type failingStore struct {
	signin.MemoryStore
	saves atomic.Int32
}

func (f *failingStore) Save(context.Context, *oauth2.Token) error {
	f.saves.Add(1)
	return errors.New("keychain locked")
}

// TestStoreAlwaysFails: a Store that keeps failing is tried again once
// at the next call, then once every 30 s, and logged once.
func TestStoreAlwaysFails(t *testing.T) {
	t.Parallel()
	f := new(fakeServer)
	store := new(failingStore)
	c := newClock()
	log := new(syncbuf.Buffer)
	p := fakeProvider(t, f, func(cfg *signin.Config) { cfg.Store, cfg.Now, cfg.Logger = store, c.now, logTo(log) })
	s, _ := p.NewSession(&oauth2.Token{RefreshToken: "r0"})
	ctx := context.Background()
	for range 10 {
		if _, err := s.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.saves.Load(); n != 2 {
		t.Errorf("%d saves for 10 calls", n)
	}
	c.add(31 * time.Second)
	for range 10 {
		s.Token(ctx)
	}
	if n := store.saves.Load(); n != 3 || f.hits.Load() != 1 {
		t.Errorf("%d saves, %d renewals", n, f.hits.Load())
	}
	if n := strings.Count(log.String(), "keychain locked"); n != 1 {
		t.Errorf("logged %d times: %s", n, log)
	}
}

// TestSignOutDuringRenewal: SignOut ends the session at once, a renewal
// running meanwhile included, and revokes the tokens it got.
func TestSignOutDuringRenewal(t *testing.T) {
	t.Parallel()
	f := &fakeServer{delay: 300 * time.Millisecond}
	p := fakeProvider(t, f, nil)
	s, _ := p.NewSession(&oauth2.Token{RefreshToken: "r0"})
	ctx := context.Background()
	renewed := make(chan error, 1)
	go func() {
		_, err := s.Token(ctx)
		renewed <- err
	}()
	for f.hits.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-renewed; !errors.Is(err, signin.ErrSignedOut) {
		t.Errorf("the renewal during sign-out: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.revoked) != 2 || f.revoked[0] != "r1" || f.revoked[1] != "a1" {
		t.Errorf("revoked %q", f.revoked)
	}
}

// TestSignOutNotRevocable: a refresh token the server cannot revoke is an
// error (ErrNotRevocable), and stays in the Store; an access token it
// cannot revoke is not.
func TestSignOutNotRevocable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, kind := range []string{"refresh_token", "access_token"} {
		f := &fakeServer{revoke: func(_, hint string) (int, string) {
			if hint == kind {
				return 400, `{"error":"unsupported_token_type"}`
			}
			return 200, ""
		}}
		store := new(signin.MemoryStore)
		store.Save(ctx, &oauth2.Token{AccessToken: "a1", RefreshToken: "r1", TokenType: "Bearer"})
		p := fakeProvider(t, f, func(c *signin.Config) { c.Store = store })
		s, _ := p.Resume(ctx)
		err := s.SignOut(ctx)
		saved, _ := store.Load(ctx)
		switch kind {
		case "refresh_token":
			if !errors.Is(err, signin.ErrNotRevocable) || !strings.Contains(err.Error(), "refresh token") {
				t.Errorf("an unrevocable refresh token: %v", err)
			}
			if saved == nil || saved.RefreshToken != "r1" || s.OAuth2Token() == nil {
				t.Errorf("left %+v", saved)
			}
		default:
			if err != nil || saved != nil || s.OAuth2Token() != nil {
				t.Errorf("an unrevocable access token: %v, left %+v", err, saved)
			}
		}
	}
}

// TestAuthParamsRefused: New refuses AuthParams that would override the
// package's parameters, several values of a parameter, and a
// RedirectPath with a query or a fragment.
func TestAuthParamsRefused(t *testing.T) {
	ctx := context.Background()
	ep := signin.Endpoints{TokenURL: "http://127.0.0.1:1/token", AuthURL: "http://127.0.0.1:1/auth"}
	for _, cfg := range []signin.Config{
		{AuthParams: url.Values{"state": {"fixed"}}},
		{AuthParams: url.Values{"code_challenge": {"x"}}},
		{AuthParams: url.Values{"redirect_uri": {"http://evil/"}}},
		{AuthParams: url.Values{"scope": {"admin"}}},
		{AuthParams: url.Values{"resource": {"a"}}},
		{AuthParams: url.Values{"audience": {"a", "b"}}},
		{RedirectPath: "/cb?x=1"},
		{RedirectPath: "/cb#x"},
	} {
		cfg.ClientID, cfg.Endpoints = "c", ep
		if _, err := signin.New(ctx, cfg); err == nil {
			t.Errorf("%v %q accepted", cfg.AuthParams, cfg.RedirectPath)
		}
	}
	p, err := signin.New(ctx, signin.Config{ClientID: "c", Endpoints: ep, AuthParams: url.Values{"audience": {"sip"}, "nonce": {"n"}}})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	p.BrowserLogin(short, func(u string) error {
		q, _ := url.Parse(u)
		if v := q.Query(); v.Get("audience") != "sip" || v.Get("nonce") != "n" {
			t.Errorf("authorization request %s", u)
		}
		return nil
	})
}

// TestBrowserLoginRedirect: the redirect's page does not claim a sign-in
// the code exchange has not done, an error redirect from another issuer
// is refused as such, and LoginTimeout bounds a login nobody answers.
func TestBrowserLoginRedirect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, err := signin.New(ctx, signin.Config{ClientID: "c", LoginTimeout: 200 * time.Millisecond,
		Endpoints: signin.Endpoints{Issuer: "https://login.example.com", TokenURL: "http://127.0.0.1:1/token", AuthURL: "http://127.0.0.1:1/auth"}})
	if err != nil {
		t.Fatal(err)
	}
	redirect := func(extra string) (string, error) {
		var body string
		_, err := p.BrowserLogin(ctx, func(u string) error {
			pu, _ := url.Parse(u)
			q := pu.Query()
			res, err := http.Get(q.Get("redirect_uri") + "?state=" + url.QueryEscape(q.Get("state")) + "&" + extra)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			body = string(b)
			return nil
		})
		return body, err
	}
	body, err := redirect("code=c1")
	if err == nil || strings.Contains(body, "signed in") || !strings.Contains(body, "return to the application") {
		t.Errorf("the code's page %q, %v", body, err)
	}
	_, err = redirect("error=access_denied&iss=" + url.QueryEscape("https://evil.example.com"))
	var ae *signin.AuthError
	if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "RFC 9207") {
		t.Errorf("an error from another issuer: %v", err)
	}
	start := time.Now()
	if _, err := p.BrowserLogin(ctx, func(string) error { return nil }); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("nobody at the browser: %v", err)
	}
}
