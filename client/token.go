package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/defaults"
)

// Token is an OAuth 2.0 access token with what the client needs to use and
// renew it.
type Token struct {
	// AccessToken is the bearer token sent in REGISTER requests.
	AccessToken string
	// RefreshToken, if any, obtains the next access token.
	RefreshToken string
	// Expiry is when the access token expires; zero when it does not.
	Expiry time.Time
}

// String hides the tokens, so that a Token printed by mistake leaks nothing.
func (t *Token) String() string {
	if t == nil {
		return "<nil>"
	}
	exp := "no expiry"
	if !t.Expiry.IsZero() {
		exp = "expires " + t.Expiry.UTC().Format(time.RFC3339)
	}
	return "client.Token{" + exp + "}"
}

// TokenSource gives the access token to register with. Implementations
// must be safe for concurrent use; they return a cached token while it is
// valid.
type TokenSource interface {
	Token(ctx context.Context) (*Token, error)
}

// Invalidator is implemented by token sources that can renew a token
// before it expires. The client calls Invalidate with a token the registrar
// refused with error="invalid_token", and then asks for a token again: it
// never sends a refused token a second time.
type Invalidator interface {
	// Invalidate drops the cached token if it is accessToken, so that the
	// next call to Token fetches a new one.
	Invalidate(accessToken string)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context) (*Token, error)

// Token implements TokenSource.
func (f TokenSourceFunc) Token(ctx context.Context) (*Token, error) { return f(ctx) }

// StaticTokenSource returns a TokenSource that always returns tok. It
// cannot renew a token the registrar refuses.
func StaticTokenSource(tok *Token) TokenSource {
	return staticSource{tok: tok}
}

type staticSource struct{ tok *Token }

func (s staticSource) Token(context.Context) (*Token, error) {
	if s.tok == nil || s.tok.AccessToken == "" {
		return nil, ErrNoToken
	}
	t := *s.tok
	return &t, nil
}

// Defaults of RefreshConfig.
const (
	DefaultEarlyExpiry      = time.Minute
	DefaultMaxTokenResponse = 64 << 10
	DefaultTokenTimeout     = 30 * time.Second
)

// RefreshConfig configures a RefreshTokenSource.
type RefreshConfig struct {
	// TokenURL is the token endpoint, e.g.
	// "https://cucm.example.com:8443/ssosp/oauth/token".
	TokenURL string
	// RefreshToken is the refresh token to start with. A token response
	// that carries a new one replaces it.
	RefreshToken string
	// Token, if set, is an access token already held: it is used until it
	// is due for renewal.
	Token *Token
	// ClientID and ClientSecret authenticate the client with HTTP Basic
	// (RFC 6749 §2.3.1); a ClientID alone is sent as client_id in the body,
	// as a public client does.
	ClientID, ClientSecret string
	// Scopes are sent as the scope parameter when not empty.
	Scopes []string
	// Params are other form parameters sent with each request, such as
	// the device the token is for.
	Params url.Values
	// HTTPClient sends the requests; http.DefaultClient when nil.
	HTTPClient *http.Client
	// EarlyExpiry is how long before its expiry a token is renewed;
	// DefaultEarlyExpiry when 0, and never more than half the token's
	// lifetime, so that short-lived tokens are not renewed at every use.
	EarlyExpiry time.Duration
	// MaxResponseSize bounds the token endpoint's answer, in bytes;
	// DefaultMaxTokenResponse when 0.
	MaxResponseSize int64
	// Timeout bounds each request; DefaultTokenTimeout when 0.
	Timeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// RefreshTokenSource is a TokenSource that obtains access tokens with the
// refresh_token grant of RFC 6749 §6 and caches them until they are due
// for renewal. Concurrent callers share one request. It implements
// Invalidator.
type RefreshTokenSource struct {
	cfg RefreshConfig

	// sem is a one-slot lock that a caller waiting for it can abandon
	// when its context ends.
	sem     chan struct{}
	mu      sync.Mutex // guards the fields below, held only briefly
	tok     *Token
	refresh string
	renewAt time.Time
}

// NewRefreshTokenSource returns a RefreshTokenSource for cfg. It fails
// when TokenURL is not an http or https URL or RefreshToken is empty.
func NewRefreshTokenSource(cfg RefreshConfig) (*RefreshTokenSource, error) {
	u, err := url.Parse(cfg.TokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("client: token URL %q is not an http(s) URL", cfg.TokenURL)
	}
	if cfg.RefreshToken == "" {
		return nil, errors.New("client: RefreshConfig needs a RefreshToken")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	cfg.EarlyExpiry = defaults.Positive(cfg.EarlyExpiry, DefaultEarlyExpiry)
	cfg.MaxResponseSize = defaults.Positive(cfg.MaxResponseSize, DefaultMaxTokenResponse)
	cfg.Timeout = defaults.Positive(cfg.Timeout, DefaultTokenTimeout)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &RefreshTokenSource{cfg: cfg, sem: make(chan struct{}, 1), refresh: cfg.RefreshToken}
	if cfg.Token != nil && cfg.Token.AccessToken != "" {
		t := *cfg.Token
		s.setLocked(&t, cfg.Now())
	}
	return s, nil
}

// Token returns the cached access token, or obtains a new one when there
// is none or it is due for renewal.
func (s *RefreshTokenSource) Token(ctx context.Context) (*Token, error) {
	if t := s.cached(); t != nil {
		return t, nil
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	// Another caller may have renewed it while this one waited.
	if t := s.cached(); t != nil {
		return t, nil
	}
	return s.fetch(ctx)
}

// Refresh obtains a new access token now, whatever the cached one's
// expiry.
func (s *RefreshTokenSource) Refresh(ctx context.Context) (*Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	return s.fetch(ctx)
}

// Invalidate implements Invalidator: the cached token is dropped if it is
// accessToken, and the next call to Token obtains a new one.
func (s *RefreshTokenSource) Invalidate(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == accessToken {
		s.tok = nil
	}
}

func (s *RefreshTokenSource) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *RefreshTokenSource) unlock() { <-s.sem }

// cached returns a copy of the token if it is not due for renewal.
func (s *RefreshTokenSource) cached() *Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil
	}
	if !s.tok.Expiry.IsZero() && !s.cfg.Now().Before(s.renewAt) {
		return nil
	}
	t := *s.tok
	return &t
}

// setLocked caches t and computes when it is due for renewal.
func (s *RefreshTokenSource) setLocked(t *Token, now time.Time) {
	s.tok = t
	if t.RefreshToken != "" {
		s.refresh = t.RefreshToken
	}
	if t.Expiry.IsZero() {
		s.renewAt = time.Time{}
		return
	}
	early := s.cfg.EarlyExpiry
	if life := t.Expiry.Sub(now); life > 0 && early > life/2 {
		early = life / 2
	}
	s.renewAt = t.Expiry.Add(-early)
}

// fetch makes one token request. The caller holds sem.
func (s *RefreshTokenSource) fetch(ctx context.Context) (*Token, error) {
	s.mu.Lock()
	refresh := s.refresh
	s.mu.Unlock()

	form := url.Values{}
	for k, v := range s.cfg.Params {
		form[k] = append([]string(nil), v...)
	}
	form.Set("grant_type", "refresh_token")
	form.Set("refresh_token", refresh)
	if len(s.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(s.cfg.Scopes, " "))
	}
	if s.cfg.ClientID != "" && s.cfg.ClientSecret == "" {
		form.Set("client_id", s.cfg.ClientID)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("client: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.cfg.ClientSecret != "" {
		// RFC 6749 §2.3.1: the id and secret are form-encoded first.
		req.SetBasicAuth(url.QueryEscape(s.cfg.ClientID), url.QueryEscape(s.cfg.ClientSecret))
	}
	start := s.cfg.Now()
	res, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: token request: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, s.cfg.MaxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("client: reading the token response: %w", err)
	}
	if int64(len(body)) > s.cfg.MaxResponseSize {
		return nil, fmt.Errorf("%w (more than %d bytes)", ErrTokenResponseTooLarge, s.cfg.MaxResponseSize)
	}
	tr, err := ParseTokenResponse(res.StatusCode, res.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, err
	}
	t := tr.Token(start)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(t, start)
	c := *t
	return &c, nil
}

// TokenResponse is the successful answer of a token endpoint (RFC 6749
// §5.1).
type TokenResponse struct {
	AccessToken  string
	TokenType    string
	ExpiresIn    int64 // seconds; 0 when the server did not say
	RefreshToken string
	Scope        string
}

// Token returns the response as a Token, its expiry counted from issued,
// the time the request was sent.
func (r *TokenResponse) Token(issued time.Time) *Token {
	t := &Token{AccessToken: r.AccessToken, RefreshToken: r.RefreshToken}
	if r.ExpiresIn > 0 {
		t.Expiry = issued.Add(time.Duration(r.ExpiresIn) * time.Second)
	}
	return t
}

// maxExpiresIn bounds expires_in to a hundred years, so that adding it to
// a time cannot overflow.
const maxExpiresIn = 100 * 365 * 24 * 3600

// ParseTokenResponse decodes a token endpoint's answer: a JSON object with
// access_token, token_type, expires_in and refresh_token on status 200,
// or an RFC 6749 §5.2 error object, returned as a *RetrieveError, on any
// other status. The access token must be a bearer token that fits in a SIP
// header (a b64token), token_type must be Bearer when present, and
// expires_in a non-negative number (a JSON number or a numeric string, as
// some servers send).
func ParseTokenResponse(status int, contentType string, body []byte) (*TokenResponse, error) {
	if status != http.StatusOK {
		e := &RetrieveError{StatusCode: status, Body: truncate(string(body), 512)}
		var eo struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if json.Unmarshal(body, &eo) == nil {
			e.ErrorCode, e.ErrorDescription = eo.Error, eo.ErrorDescription
		}
		return nil, e
	}
	if contentType != "" {
		if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return nil, fmt.Errorf("%w: content type %q, want application/json", ErrBadTokenResponse, mt)
		}
	}
	var raw struct {
		AccessToken  *string         `json:"access_token"`
		TokenType    string          `json:"token_type"`
		ExpiresIn    json.RawMessage `json:"expires_in"`
		RefreshToken string          `json:"refresh_token"`
		Scope        string          `json:"scope"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTokenResponse, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: content after the JSON object", ErrBadTokenResponse)
	}
	if raw.AccessToken == nil || *raw.AccessToken == "" {
		return nil, fmt.Errorf("%w: no access_token", ErrBadTokenResponse)
	}
	if err := (bearer.Credentials{Token: *raw.AccessToken}).Validate(); err != nil {
		return nil, fmt.Errorf("%w: access_token cannot be sent in a SIP header: %v", ErrBadTokenResponse, err)
	}
	if raw.TokenType != "" && !strings.EqualFold(raw.TokenType, "Bearer") {
		return nil, fmt.Errorf("%w: token_type %q, want Bearer", ErrBadTokenResponse, truncate(raw.TokenType, 32))
	}
	r := &TokenResponse{AccessToken: *raw.AccessToken, TokenType: raw.TokenType, RefreshToken: raw.RefreshToken, Scope: raw.Scope}
	if len(raw.ExpiresIn) > 0 && string(raw.ExpiresIn) != "null" {
		s := string(raw.ExpiresIn)
		if s[0] == '"' {
			if err := json.Unmarshal(raw.ExpiresIn, &s); err != nil {
				return nil, fmt.Errorf("%w: expires_in: %v", ErrBadTokenResponse, err)
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > maxExpiresIn {
			return nil, fmt.Errorf("%w: expires_in %q is not a number of seconds", ErrBadTokenResponse, truncate(s, 32))
		}
		r.ExpiresIn = n
	}
	return r, nil
}

// RetrieveError is a token endpoint's refusal: its status and its RFC 6749
// §5.2 error code, such as invalid_grant for a refresh token that expired
// or was revoked.
type RetrieveError struct {
	StatusCode       int
	ErrorCode        string
	ErrorDescription string
	// Body is the start of the answer, for logs.
	Body string
}

// Error returns the status and the error code and description.
func (e *RetrieveError) Error() string {
	s := "client: token endpoint answered " + strconv.Itoa(e.StatusCode)
	if e.ErrorCode != "" {
		s += ": " + e.ErrorCode
	}
	if e.ErrorDescription != "" {
		s += " (" + truncate(e.ErrorDescription, 200) + ")"
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
