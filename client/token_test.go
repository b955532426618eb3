package client_test

import (
	"context"
	"crypto"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestRefreshTokenSource runs the refresh_token grant against the issuer:
// the request's form, caching, renewal before expiry on an injected clock,
// Invalidate, Refresh, and one request for concurrent callers.
func TestRefreshTokenSource(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	issuer, err := issuer.New(issuer.Config{Issuer: "https://cucm.example.com", Nested: true, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ch := &countingHandler{h: issuer.Handler()}
	srv := httptest.NewServer(ch)
	defer srv.Close()
	refresh, _ := issuer.MintRefresh("rado", "")
	src, err := client.NewRefreshTokenSource(client.RefreshConfig{
		TokenURL: srv.URL + "/token", RefreshToken: refresh, Scopes: []string{"sip:register"},
		Params: url.Values{"device": {"CSFrado"}}, EarlyExpiry: 2 * time.Minute, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t, 10*time.Second)
	t1, err := src.Token(c)
	if err != nil {
		t.Fatal(err)
	}
	if ch.n.Load() != 1 || t1.AccessToken == "" || !t1.Expiry.Equal(clk.Now().Add(time.Hour)) || t1.RefreshToken != "" {
		t.Fatalf("first token %v after %d requests", t1, ch.n.Load())
	}
	form, _ := url.ParseQuery(ch.forms[0])
	if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != refresh || form.Get("device") != "CSFrado" || form.Get("scope") != "sip:register" || form.Has("client_id") {
		t.Errorf("form %v", form)
	}
	// The token carries the device asked for.
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{issuer.KeyID(): issuer.PublicKey()})
	kid, key := issuer.EncryptionKey()
	dec, _ := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	v, _ := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec, Now: clk.Now})
	if id, err := v.Validate(c, t1.AccessToken); err != nil || id.User != "rado" || id.Device != "CSFrado" {
		t.Fatalf("token identity %+v, %v", id, err)
	}

	if t2, _ := src.Token(c); t2.AccessToken != t1.AccessToken || ch.n.Load() != 1 {
		t.Fatal("the cached token was not reused")
	}
	// 2 minutes early: not yet at 57:59, renewed at 58:01.
	clk.advance(57*time.Minute + 59*time.Second)
	if t2, _ := src.Token(c); t2.AccessToken != t1.AccessToken || ch.n.Load() != 1 {
		t.Fatal("renewed too early")
	}
	clk.advance(2 * time.Second)
	t3, err := src.Token(c)
	if err != nil || t3.AccessToken == t1.AccessToken || ch.n.Load() != 2 {
		t.Fatalf("not renewed before expiry: %v, %d requests", err, ch.n.Load())
	}

	// Invalidate of another token does nothing; of the current one, renews
	// once for any number of concurrent callers.
	src.Invalidate(t1.AccessToken)
	if t4, _ := src.Token(c); t4.AccessToken != t3.AccessToken {
		t.Fatal("Invalidate dropped a token it was not given")
	}
	src.Invalidate(t3.AccessToken)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tk, err := src.Token(c); err == nil {
				got[i] = tk.AccessToken
			}
		}()
	}
	wg.Wait()
	if ch.n.Load() != 3 {
		t.Fatalf("%d requests for concurrent callers, want one more", ch.n.Load())
	}
	for _, g := range got {
		if g == "" || g != got[0] || g == t3.AccessToken {
			t.Fatalf("concurrent tokens %v", got)
		}
	}
	t5, err := src.Refresh(c)
	if err != nil || t5.AccessToken == got[0] || ch.n.Load() != 4 {
		t.Fatalf("Refresh: %v, %d requests", err, ch.n.Load())
	}
	if s := t5.String(); strings.Contains(s, t5.AccessToken) || !strings.HasPrefix(s, "client.Token{expires ") {
		t.Errorf("String %q", s)
	}
}

// TestRefreshShortLifetime: the early renewal is at most half the token's
// lifetime, and a new refresh token replaces the old one.
func TestRefreshShortLifetime(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	var n atomic.Int32
	var lastRefresh atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		lastRefresh.Store(r.PostForm.Get("refresh_token"))
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"tok` + string(rune('0'+i)) + `","token_type":"bearer","expires_in":"60","refresh_token":"rt` + string(rune('0'+i)) + `"}`))
	}))
	defer srv.Close()
	src, _ := client.NewRefreshTokenSource(client.RefreshConfig{TokenURL: srv.URL, RefreshToken: "rt0", ClientID: "jabber", Now: clk.Now})
	c := ctx(t, 5*time.Second)
	if tk, err := src.Token(c); err != nil || tk.AccessToken != "tok1" || !tk.Expiry.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("%v %v", tk, err)
	}
	clk.advance(29 * time.Second)
	if tk, _ := src.Token(c); tk.AccessToken != "tok1" {
		t.Fatal("renewed before half the lifetime")
	}
	clk.advance(2 * time.Second)
	if tk, _ := src.Token(c); tk.AccessToken != "tok2" || lastRefresh.Load() != "rt1" {
		t.Fatalf("renewal %v with %v", tk, lastRefresh.Load())
	}
}

// TestTokenEndpointErrors: malformed, oversized and refusing answers give
// errors that say so.
func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		status      int
		ctype, body string
		check       func(error) bool
		msg         string
	}{
		{"invalid_grant", 400, "application/json", `{"error":"invalid_grant","error_description":"refresh token revoked"}`,
			func(err error) bool {
				var re *client.RetrieveError
				return errors.As(err, &re) && re.StatusCode == 400 && re.ErrorCode == "invalid_grant" && re.ErrorDescription == "refresh token revoked"
			}, "client: token endpoint answered 400: invalid_grant (refresh token revoked)"},
		{"server error, not JSON", 502, "text/html", `<html>bad gateway</html>`,
			func(err error) bool {
				var re *client.RetrieveError
				return errors.As(err, &re) && re.StatusCode == 502 && re.ErrorCode == "" && re.Body == "<html>bad gateway</html>"
			}, "client: token endpoint answered 502"},
		{"not JSON", 200, "application/json", `{"access_token": "abc"`,
			func(err error) bool { return errors.Is(err, client.ErrBadTokenResponse) }, "client: malformed token response: unexpected EOF"},
		{"no access token", 200, "application/json", `{"token_type":"Bearer","expires_in":3600}`,
			func(err error) bool { return errors.Is(err, client.ErrBadTokenResponse) }, "client: malformed token response: no access_token"},
		{"wrong type", 200, "application/json", `{"access_token":"abc","token_type":"mac"}`,
			func(err error) bool { return errors.Is(err, client.ErrBadTokenResponse) }, `client: malformed token response: token_type "mac", want Bearer`},
		{"negative expiry", 200, "application/json", `{"access_token":"abc","expires_in":-5}`,
			func(err error) bool { return errors.Is(err, client.ErrBadTokenResponse) }, `client: malformed token response: expires_in "-5" is not a number of seconds`},
		{"token with a quote", 200, "application/json", `{"access_token":"ab\"c"}`,
			func(err error) bool { return errors.Is(err, client.ErrBadTokenResponse) }, ""},
		{"HTML", 200, "text/html", `{"access_token":"abc"}`,
			func(err error) bool { return errors.Is(err, client.ErrBadTokenResponse) }, `client: malformed token response: content type "text/html", want application/json`},
		{"trailing data", 200, "application/json", `{"access_token":"abc"} {}`,
			func(err error) bool { return errors.Is(err, client.ErrBadTokenResponse) }, "client: malformed token response: content after the JSON object"},
		{"too large", 200, "application/json", `{"access_token":"` + strings.Repeat("a", 70<<10) + `"}`,
			func(err error) bool { return errors.Is(err, client.ErrTokenResponseTooLarge) }, "client: token response too large (more than 65536 bytes)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			src, err := client.NewRefreshTokenSource(client.RefreshConfig{TokenURL: srv.URL, RefreshToken: "rt"})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.Token(ctx(t, 5*time.Second))
			if tok != nil || !tc.check(err) {
				t.Fatalf("token %v, error %v", tok, err)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
		})
	}
}

// TestTokenEndpointTimeout: a token endpoint that does not answer is given
// up on after Timeout.
func TestTokenEndpointTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// With the body read, the server notices the client leaving.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer srv.Close()
	src, _ := client.NewRefreshTokenSource(client.RefreshConfig{TokenURL: srv.URL, RefreshToken: "rt", Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := src.Token(ctx(t, 5*time.Second))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}

// TestNewRefreshTokenSourceChecks refuses unusable configurations.
func TestNewRefreshTokenSourceChecks(t *testing.T) {
	t.Parallel()
	for _, cfg := range []client.RefreshConfig{
		{TokenURL: "ftp://x/token", RefreshToken: "rt"},
		{TokenURL: "https:///token", RefreshToken: "rt"},
		{TokenURL: "https://cucm.example.com/token"},
	} {
		if _, err := client.NewRefreshTokenSource(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestStaticTokenSource returns its token, and ErrNoToken without one.
func TestStaticTokenSource(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour)
	tk, err := client.StaticTokenSource(&client.Token{AccessToken: "abc", Expiry: exp}).Token(context.Background())
	if err != nil || tk.AccessToken != "abc" || !tk.Expiry.Equal(exp) {
		t.Fatalf("%v %v", tk, err)
	}
	if _, err := client.StaticTokenSource(nil).Token(context.Background()); !errors.Is(err, client.ErrNoToken) {
		t.Fatalf("nil token: %v", err)
	}
}

// TestParseTokenResponse checks the decoder on its own.
func TestParseTokenResponse(t *testing.T) {
	t.Parallel()
	r, err := client.ParseTokenResponse(200, "application/json;charset=UTF-8", []byte(`{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","scope":"sip:register"}`))
	if err != nil || r.AccessToken != "eyJ.a.b" || r.ExpiresIn != 3600 || r.RefreshToken != "rt" || r.Scope != "sip:register" {
		t.Fatalf("%+v %v", r, err)
	}
	at := time.Date(2020, 3, 30, 11, 3, 19, 0, time.UTC)
	if tk := r.Token(at); !tk.Expiry.Equal(at.Add(time.Hour)) || tk.RefreshToken != "rt" {
		t.Errorf("token %+v", tk)
	}
	r, err = client.ParseTokenResponse(200, "", []byte(`{"access_token":"abc","expires_in":null}`))
	if err != nil || r.ExpiresIn != 0 || !r.Token(at).Expiry.IsZero() {
		t.Errorf("no expiry: %+v %v", r, err)
	}
}
