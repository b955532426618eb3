package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/sipoauth/sdk/sipoauth"
)

// DeviceCode is what the user needs to approve a DeviceLogin on another
// device (RFC 8628 §3.3).
type DeviceCode struct {
	// VerificationURI is the page where the user types UserCode.
	VerificationURI string
	// VerificationURIComplete, when the server gives one, is the page
	// with the code already in it (for a QR code, for instance).
	VerificationURIComplete string
	// UserCode is the code to type.
	UserCode string
	// Expiry is when the code expires.
	Expiry time.Time
}

// DeviceLogin signs a user in with the device authorization grant (RFC
// 8628): show tells the user where to go and which code to type, then
// DeviceLogin polls the token endpoint, at the interval the server asks
// for, until the user has approved or declined, the code expires, or ctx
// ends; Config.LoginTimeout bounds it.
func (p *Provider) DeviceLogin(ctx context.Context, show func(DeviceCode) error) (*Session, error) {
	if p.ep.DeviceAuthURL == "" {
		return nil, fmt.Errorf("%w: no device authorization endpoint", ErrUnsupported)
	}
	ctx, cancelLogin := context.WithTimeout(ctx, p.cfg.LoginTimeout)
	defer cancelLogin()
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	da, err := p.conf.DeviceAuth(p.ctx(rctx), p.authOptions()...)
	cancel()
	if err != nil {
		return nil, retrieveError("device authorization", err)
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, fmt.Errorf("signin: the device authorization response lacks device_code, user_code or verification_uri")
	}
	for _, u := range []string{da.VerificationURI, da.VerificationURIComplete} {
		if u != "" {
			if err := sipoauth.CheckEndpointURL(u); err != nil {
				return nil, fmt.Errorf("signin: verification URI: %w", err)
			}
		}
	}
	if err := show(DeviceCode{VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		UserCode: da.UserCode, Expiry: da.Expiry}); err != nil {
		return nil, err
	}
	t, err := p.conf.DeviceAccessToken(p.ctx(ctx), da, p.tokenOptions()...)
	if err != nil {
		return nil, retrieveError("device sign-in", err)
	}
	return p.signedIn(ctx, t, p.cfg.Now())
}

// AuthError is the server's refusal of a browser sign-in, as its redirect
// said (RFC 6749 §4.1.2.1): access_denied when the user declined.
type AuthError struct {
	Code        string
	Description string
}

// Error returns the code and the description.
func (e *AuthError) Error() string {
	s := "signin: the sign-in was refused: " + e.Code
	if e.Description != "" {
		s += " (" + truncate(e.Description, 200) + ")"
	}
	return s
}

// BrowserLogin signs a user in with the authorization code grant, PKCE
// (S256) and a loopback redirect URI, as RFC 8252 has native apps do. It
// listens on 127.0.0.1 (or ::1) on a port of its own, gives open the
// authorization request's URL to show in the system browser, and waits
// until the browser comes back to http://127.0.0.1:<port><RedirectPath>
// or ctx ends; Config.LoginTimeout bounds the time a user may take.
//
// The redirect must carry the state of this request: a request that does
// not is answered 400 and ignored, so that another page cannot end or
// hijack the sign-in. When the server names itself in the redirect (RFC
// 9207 iss), the name must be the issuer's, in an error redirect too. When Scopes holds
// offline_access and AuthParams no prompt, prompt=consent is sent, as
// OpenID Connect requires for a refresh token.
func (p *Provider) BrowserLogin(ctx context.Context, open func(authURL string) error) (*Session, error) {
	if p.ep.AuthURL == "" {
		return nil, fmt.Errorf("%w: no authorization endpoint", ErrUnsupported)
	}
	ctx, cancelLogin := context.WithTimeout(ctx, p.cfg.LoginTimeout)
	defer cancelLogin()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		if ln, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			return nil, fmt.Errorf("signin: listening on a loopback port: %w", err)
		}
	}
	defer ln.Close()
	conf := p.conf
	conf.RedirectURL = "http://" + ln.Addr().String() + p.cfg.RedirectPath
	verifier := oauth2.GenerateVerifier()
	var b [32]byte
	rand.Read(b[:])
	state := base64.RawURLEncoding.EncodeToString(b[:])
	opts := append(p.authOptions(), oauth2.S256ChallengeOption(verifier))
	if slices.Contains(p.cfg.Scopes, "offline_access") && p.cfg.AuthParams.Get("prompt") == "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "consent"))
	}
	cb := &callback{path: p.cfg.RedirectPath, state: state, issuer: p.ep.Issuer, done: make(chan url.Values, 1)}
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10}
	go srv.Serve(ln)
	defer srv.Close()

	if err := open(conf.AuthCodeURL(state, opts...)); err != nil {
		return nil, err
	}
	var q url.Values
	select {
	case q = <-cb.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("signin: waiting for the browser: %w", ctx.Err())
	}
	if iss := q.Get("iss"); iss != "" && p.ep.Issuer != "" && iss != p.ep.Issuer {
		return nil, fmt.Errorf("signin: the redirect came from issuer %q, not %q (RFC 9207)", truncate(iss, 100), p.ep.Issuer)
	}
	if code := q.Get("error"); code != "" {
		return nil, &AuthError{Code: code, Description: q.Get("error_description")}
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	received := p.cfg.Now()
	t, err := conf.Exchange(p.ctx(rctx), q.Get("code"), append(p.tokenOptions(), oauth2.VerifierOption(verifier))...)
	if err != nil {
		return nil, retrieveError("exchanging the authorization code", err)
	}
	return p.signedIn(ctx, t, received)
}

// callback serves the loopback redirect URI: it takes the first redirect
// with the right state and answers the browser.
type callback struct {
	path, state, issuer string
	once                sync.Once
	done                chan url.Values
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.URL.Path != c.path || r.Method != http.MethodGet {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(c.state)) != 1 {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, page("Unknown sign-in", "This page does not answer a sign-in this application started."))
		return
	}
	if q.Get("error") == "" && q.Get("code") == "" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, page("Sign-in failed", "The answer has neither a code nor an error."))
		return
	}
	taken := false
	c.once.Do(func() { c.done <- q; taken = true })
	switch {
	case !taken:
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, page("Sign-in already done", "This sign-in was answered before."))
	case q.Get("error") != "":
		io.WriteString(w, page("Sign-in failed", "The sign-in was refused: "+q.Get("error")+". You can close this window."))
	default:
		// The code is not exchanged yet: the sign-in may still fail.
		io.WriteString(w, page("Sign-in received", "Sign-in received; return to the application. You can close this window."))
	}
}

func page(title, text string) string {
	return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) +
		"</title></head><body><h1>" + html.EscapeString(title) + "</h1><p>" + html.EscapeString(text) + "</p></body></html>\n"
}

// revoke asks the server to revoke token (RFC 7009 §2.1).
func (p *Provider) revoke(ctx context.Context, token, hint string) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	if p.cfg.ClientSecret == "" {
		form.Set("client_id", p.cfg.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.ep.RevocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("signin: revoking the %s: %w", hint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p.cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret))
	}
	res, err := p.hc.Do(req)
	if err != nil {
		return fmt.Errorf("signin: revoking the %s: %w", hint, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 16<<10))
	if res.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	json.Unmarshal(body, &e)
	if e.Error == "unsupported_token_type" {
		return fmt.Errorf("signin: revoking the %s: %w", strings.ReplaceAll(hint, "_", " "), ErrNotRevocable)
	}
	msg := "answered " + strconv.Itoa(res.StatusCode)
	if e.Error != "" {
		msg += ": " + truncate(e.Error, 64)
	}
	if e.ErrorDescription != "" {
		msg += " (" + truncate(e.ErrorDescription, 200) + ")"
	}
	return fmt.Errorf("signin: revoking the %s: the revocation endpoint %s", hint, msg)
}
