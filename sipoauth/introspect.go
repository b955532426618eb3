package sipoauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sipoauth/sdk/internal/bounded"
	"github.com/sipoauth/sdk/internal/defaults"
)

// ErrInactive: the authorization server says the token is not active
// (RFC 7662 §2.2): expired, revoked, or never issued by it.
var ErrInactive = errors.New("sipoauth: token not active")

// DefaultIntrospectionCacheTime is how long an introspected token's
// answer is reused, at most, when IntrospectionConfig.CacheTime is 0.
const DefaultIntrospectionCacheTime = time.Minute

// maxIntrospection bounds an introspection response.
const maxIntrospection = 64 << 10

// IntrospectionConfig configures an Introspector.
type IntrospectionConfig struct {
	// Endpoint is the authorization server's introspection endpoint
	// (Metadata.IntrospectionEndpoint), an https URL but on a loopback
	// host.
	Endpoint string
	// ClientID and ClientSecret are the registrar's own credentials at
	// the authorization server, sent with HTTP Basic authentication (RFC
	// 7662 §2.1, RFC 6749 §2.3.1).
	ClientID, ClientSecret string
	// Client makes the requests; one with Timeout when nil.
	Client *http.Client
	// Timeout bounds one request; DefaultDiscoveryTimeout when 0.
	Timeout time.Duration

	// Issuers, Audiences, RequiredScopes and Claims check the answer's
	// members as Config's check a JWT's claims; the answer's exp and nbf
	// hold too (with Leeway, DefaultLeeway when 0).
	Issuers        []string
	Audiences      []string
	RequiredScopes []string
	Claims         ClaimNames
	Leeway         time.Duration
	// Revocation, if set, is asked on every validation, cached answers
	// included: a revocation wins over an answer still cached.
	Revocation Revocation
	// Binding, if set, ties tokens to requests in ValidateRequest.
	Binding *Binding
	// CacheSize bounds the answers kept; DefaultCacheSize when 0, none
	// when negative. CacheTime is how long an active answer is reused at
	// most, never past the token's exp: DefaultIntrospectionCacheTime
	// when 0. Only active answers are kept.
	CacheSize int
	CacheTime time.Duration
	// MaxTokenSize in bytes; DefaultMaxTokenSize when 0.
	MaxTokenSize int
	// MaxInFlight bounds the requests to the endpoint at once;
	// DefaultMaxIntrospections when 0. A token that would take one more
	// is not checked (ErrUnavailable: the registrar answers 503): made-up
	// tokens, which are never kept, cannot turn the registrar into a
	// flood of the authorization server.
	MaxInFlight int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// DefaultMaxIntrospections is IntrospectionConfig.MaxInFlight when 0.
const DefaultMaxIntrospections = 64

// Introspector is a TokenValidator for opaque access tokens: it asks the
// authorization server whether a token is active (RFC 7662 token
// introspection) and whose it is, and keeps the answer for a while.
type Introspector struct {
	cfg    IntrospectionConfig
	client *http.Client
	claims *Validator    // the claim checks of a Validator, without keys
	slots  chan struct{} // one per request to the endpoint in flight

	mu    sync.Mutex
	cache map[[sha256.Size]byte]introspected
}

type introspected struct {
	id          *Identity
	from, until int64
}

var _ TokenValidator = (*Introspector)(nil)

// NewIntrospector returns an Introspector for cfg.
func NewIntrospector(cfg IntrospectionConfig) (*Introspector, error) {
	if err := secureURL("introspection endpoint", cfg.Endpoint); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, errors.New("sipoauth: IntrospectionConfig.ClientID is required: the endpoint lets in authenticated clients only")
	}
	cfg.Timeout = defaults.Positive(cfg.Timeout, DefaultDiscoveryTimeout)
	cfg.CacheTime = defaults.Positive(cfg.CacheTime, DefaultIntrospectionCacheTime)
	cfg.MaxTokenSize = defaults.Positive(cfg.MaxTokenSize, DefaultMaxTokenSize)
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	in := &Introspector{cfg: cfg, client: cfg.Client, cache: map[[sha256.Size]byte]introspected{},
		slots: make(chan struct{}, defaults.Positive(cfg.MaxInFlight, DefaultMaxIntrospections)),
		claims: &Validator{cfg: Config{Issuers: cfg.Issuers, Audiences: cfg.Audiences, RequiredScopes: cfg.RequiredScopes,
			DiscardRawClaims: true}, names: cfg.Claims.withDefaults(), leeway: max(leeway, 0)}}
	if in.client == nil {
		in.client = &http.Client{Timeout: cfg.Timeout}
	}
	return in, nil
}

// Validate checks token with the authorization server and returns whose
// it is.
func (in *Introspector) Validate(ctx context.Context, token string) (Identity, error) {
	return in.validate(ctx, token, nil)
}

// ValidateRequest is Validate, then the Binding for req.
func (in *Introspector) ValidateRequest(ctx context.Context, token string, req Request) (Identity, error) {
	return in.validate(ctx, token, &req)
}

func (in *Introspector) validate(ctx context.Context, token string, req *Request) (Identity, error) {
	if len(token) > in.cfg.MaxTokenSize {
		return Identity{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(token), in.cfg.MaxTokenSize)
	}
	now := in.cfg.Now()
	key := digest(token)
	in.mu.Lock()
	e, hit := in.cache[key]
	in.mu.Unlock()
	if n := now.UnixNano(); !hit || n < e.from || n >= e.until {
		id, entry, err := in.introspect(ctx, token, now)
		if err != nil {
			return Identity{}, err
		}
		e = introspected{id: id, from: entry.from, until: min(entry.until, now.Add(in.cfg.CacheTime).UnixNano())}
		in.keep(key, e)
	}
	return admit(ctx, in.cfg.Revocation, in.cfg.Binding, e.id, req)
}

// keep remembers an active answer; a full cache drops an arbitrary entry,
// which keeps the cost of a flood of distinct tokens constant.
func (in *Introspector) keep(key [sha256.Size]byte, e introspected) {
	if in.cfg.CacheSize < 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.cache[key]; !ok && len(in.cache) >= in.cfg.CacheSize {
		for k := range in.cache {
			delete(in.cache, k)
			break
		}
	}
	in.cache[key] = e
}

// introspect asks the endpoint about token and checks the answer.
func (in *Introspector) introspect(ctx context.Context, token string, now time.Time) (*Identity, *cacheEntry, error) {
	select {
	case in.slots <- struct{}{}:
		defer func() { <-in.slots }()
	default:
		return nil, nil, fmt.Errorf("%w: introspection: %d requests to the endpoint in flight already", ErrUnavailable, cap(in.slots))
	}
	ctx, cancel := context.WithTimeout(ctx, in.cfg.Timeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.Endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, unavailable("introspection", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	res, err := in.client.Do(req)
	if err != nil {
		return nil, nil, unavailable("introspection", err)
	}
	defer res.Body.Close()
	body, err := bounded.ReadAll(res.Body, maxIntrospection)
	switch {
	case err != nil:
		return nil, nil, unavailable("introspection", err)
	case res.StatusCode != http.StatusOK:
		// The endpoint refused the registrar (its credentials) or failed:
		// not the token's fault.
		return nil, nil, unavailable("introspection", fmt.Errorf("%s: %s", in.cfg.Endpoint, res.Status))
	}
	c, err := decodeClaims(body)
	if err != nil {
		return nil, nil, unavailable("introspection", err)
	}
	active, ok, err := c.lookup("active")
	if err != nil || !ok {
		return nil, nil, unavailable("introspection", errors.New("the answer has no active member"))
	}
	if string(active) != "true" {
		return nil, nil, ErrInactive
	}
	e := &cacheEntry{from: math.MinInt64, until: math.MaxInt64}
	if err := in.claims.checkTimes(c, now, false, e); err != nil {
		return nil, nil, err
	}
	id := &Identity{}
	if err := in.claims.fill(id, c); err != nil {
		return nil, nil, err
	}
	id.Expiry, _, _ = date(c.Exp, "exp")
	return id, e, nil
}
