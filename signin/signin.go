package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/sipoauth"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds each request to the authorization server.
	DefaultTimeout = 30 * time.Second
	// DefaultEarlyExpiry is how long before its expiry an access token is
	// renewed.
	DefaultEarlyExpiry = time.Minute
	// DefaultRedirectPath is the path of the loopback redirect URI.
	DefaultRedirectPath = "/callback"
	// DefaultLoginTimeout bounds BrowserLogin and DeviceLogin.
	DefaultLoginTimeout = 10 * time.Minute
)

var (
	// ErrSignInRequired means the user must sign in again: there is no
	// refresh token, or the server refused it (expired or revoked:
	// invalid_grant), or the Store holds no session.
	ErrSignInRequired = errors.New("signin: the user must sign in again")
	// ErrSignedOut is returned by a Session after SignOut.
	ErrSignedOut = errors.New("signin: signed out")
	// ErrUnsupported means the server has no endpoint for what was asked
	// (no device authorization endpoint, for instance).
	ErrUnsupported = errors.New("signin: the authorization server does not support this")
	// ErrBadToken means the server's token cannot be used to register:
	// not a bearer token, or not one a SIP header can carry.
	ErrBadToken = errors.New("signin: unusable token")
	// ErrNotRevocable is the server's unsupported_token_type answer to a
	// revocation: it cannot revoke that kind of token.
	ErrNotRevocable = errors.New("signin: the server cannot revoke this kind of token")
)

// Endpoints are an authorization server's URLs.
type Endpoints struct {
	// Issuer is the server's issuer identifier. With BrowserLogin, an
	// RFC 9207 iss parameter in the redirect must equal it.
	Issuer string
	// AuthURL is the authorization endpoint, for BrowserLogin.
	AuthURL string
	// TokenURL is the token endpoint; required.
	TokenURL string
	// DeviceAuthURL is the device authorization endpoint (RFC 8628), for
	// DeviceLogin.
	DeviceAuthURL string
	// RevocationURL is the revocation endpoint (RFC 7009), for SignOut.
	RevocationURL string
}

// Config configures a Provider.
type Config struct {
	// Issuer is the authorization server's issuer URL, e.g.
	// "https://login.example.com/realms/voice": its metadata gives the
	// endpoints (sipoauth.Discover). Endpoints set in Endpoints take
	// precedence over the discovered ones.
	Issuer string
	// Endpoints are used as they are when Issuer is empty.
	Endpoints Endpoints

	// ClientID is the soft client's client id at the server.
	ClientID string
	// ClientSecret is empty for a public client, as a soft client is
	// (RFC 8252 §8.4): installed software cannot keep a secret. When set,
	// it is sent with HTTP Basic (RFC 6749 §2.3.1).
	ClientSecret string
	// Scopes are the scopes asked for, e.g. "openid", "offline_access"
	// (for a refresh token, at most servers) and the registrar's scope.
	Scopes []string
	// Resource, when set, is the resource indicator (RFC 8707) of the
	// registrar, sent at sign-in, so that the access token is for it.
	Resource string
	// AuthParams are other parameters of the authorization and device
	// authorization requests, such as audience for servers that want it.
	// New refuses the parameters the package sets itself (state,
	// redirect_uri, client_id, response_type, code_challenge,
	// code_challenge_method, scope, resource: use Scopes and Resource),
	// and a parameter with several values, which cannot be sent.
	AuthParams url.Values
	// RedirectPath is the path of BrowserLogin's redirect URI,
	// http://127.0.0.1:<port><RedirectPath>; DefaultRedirectPath when
	// empty. Register http://127.0.0.1<RedirectPath> at the server: a
	// native client's loopback redirect takes any port (RFC 8252 §7.3).
	// It holds neither a query (?) nor a fragment (#).
	RedirectPath string
	// LoginTimeout bounds BrowserLogin and DeviceLogin when their context
	// has no earlier deadline; DefaultLoginTimeout when 0.
	LoginTimeout time.Duration

	// Store keeps the tokens across restarts; in memory only when nil.
	Store Store
	// HTTPClient sends the requests to the server; one with Timeout when
	// nil.
	HTTPClient *http.Client
	// Timeout bounds each request to the server; DefaultTimeout when 0.
	Timeout time.Duration
	// EarlyExpiry is how long before its expiry an access token is
	// renewed; DefaultEarlyExpiry when 0, and never more than half the
	// lifetime of a token received from the server. The lifetime of a
	// resumed token (Resume, NewSession) is not known, so EarlyExpiry
	// applies to it whole.
	EarlyExpiry time.Duration
	// Logger reports what the caller is not told otherwise (a Store that
	// failed to save); slog.Default when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Provider is an authorization server as the soft client uses it. It is
// safe for concurrent use.
type Provider struct {
	cfg  Config
	ep   Endpoints
	conf oauth2.Config
	hc   *http.Client
}

// New returns the Provider cfg describes, reading the server's metadata
// when cfg.Issuer is set.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("signin: Config needs a ClientID")
	}
	cfg.Timeout = defaults.Positive(cfg.Timeout, DefaultTimeout)
	cfg.EarlyExpiry = defaults.Positive(cfg.EarlyExpiry, DefaultEarlyExpiry)
	cfg.LoginTimeout = defaults.Positive(cfg.LoginTimeout, DefaultLoginTimeout)
	if cfg.RedirectPath == "" {
		cfg.RedirectPath = DefaultRedirectPath
	}
	if !strings.HasPrefix(cfg.RedirectPath, "/") {
		return nil, fmt.Errorf("signin: RedirectPath %q does not start with /", cfg.RedirectPath)
	}
	if strings.ContainsAny(cfg.RedirectPath, "?#") {
		return nil, fmt.Errorf("signin: RedirectPath %q holds a query or a fragment", cfg.RedirectPath)
	}
	for k, vs := range cfg.AuthParams {
		if slices.Contains(protocolParams, k) {
			return nil, fmt.Errorf("signin: AuthParams cannot set %s: the package sets it", k)
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("signin: AuthParams has %d values of %s; one can be sent", len(vs), k)
		}
	}
	cfg.AuthParams = maps.Clone(cfg.AuthParams)
	if cfg.Store == nil {
		cfg.Store = new(MemoryStore)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	ep := cfg.Endpoints
	if cfg.Issuer != "" {
		m, err := sipoauth.Discover(ctx, cfg.Issuer, hc)
		if err != nil {
			return nil, fmt.Errorf("signin: %w", err)
		}
		ep.Issuer = m.Issuer
		fill := func(dst *string, v string) {
			if *dst == "" {
				*dst = v
			}
		}
		fill(&ep.AuthURL, m.AuthorizationEndpoint)
		fill(&ep.TokenURL, m.TokenEndpoint)
		fill(&ep.DeviceAuthURL, m.DeviceAuthorizationEndpoint)
		fill(&ep.RevocationURL, m.RevocationEndpoint)
	}
	for _, e := range []struct{ name, u string }{
		{"authorization", ep.AuthURL}, {"token", ep.TokenURL}, {"device authorization", ep.DeviceAuthURL}, {"revocation", ep.RevocationURL},
	} {
		if e.u == "" && e.name != "token" {
			continue
		}
		if err := sipoauth.CheckEndpointURL(e.u); err != nil {
			return nil, fmt.Errorf("signin: %s endpoint: %w", e.name, err)
		}
	}
	style := oauth2.AuthStyleInParams
	if cfg.ClientSecret != "" {
		style = oauth2.AuthStyleInHeader
	}
	p := &Provider{cfg: cfg, ep: ep, hc: hc, conf: oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scopes: slices.Clone(cfg.Scopes),
		Endpoint: oauth2.Endpoint{AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, DeviceAuthURL: ep.DeviceAuthURL, AuthStyle: style},
	}}
	return p, nil
}

// Endpoints returns the server's endpoints in use.
func (p *Provider) Endpoints() Endpoints { return p.ep }

// ctx returns ctx carrying the HTTP client, as golang.org/x/oauth2 wants it.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, p.hc)
}

// protocolParams are the authorization request's parameters the package
// sets itself, which AuthParams cannot.
var protocolParams = []string{"state", "redirect_uri", "client_id", "response_type",
	"code_challenge", "code_challenge_method", "scope", "resource"}

// authOptions are the parameters of a sign-in request.
func (p *Provider) authOptions() []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	if p.cfg.Resource != "" {
		opts = append(opts, oauth2.SetAuthURLParam("resource", p.cfg.Resource))
	}
	for k, vs := range p.cfg.AuthParams {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	return opts
}

// tokenOptions are the parameters of a token request that ends a sign-in.
func (p *Provider) tokenOptions() []oauth2.AuthCodeOption {
	if p.cfg.Resource == "" {
		return nil
	}
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", p.cfg.Resource)}
}

// check refuses a token the client could not register with.
func check(t *oauth2.Token) error {
	if t == nil || t.AccessToken == "" {
		return fmt.Errorf("%w: no access token", ErrBadToken)
	}
	if !strings.EqualFold(t.Type(), "Bearer") {
		return fmt.Errorf("%w: token_type %q, want Bearer", ErrBadToken, truncate(t.Type(), 32))
	}
	if err := (bearer.Credentials{Token: t.AccessToken}).Validate(); err != nil {
		return fmt.Errorf("%w: a SIP header cannot carry the access token: %v", ErrBadToken, err)
	}
	return nil
}

// retrieveError turns the server's refusal into the error a caller acts on.
func retrieveError(op string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		return fmt.Errorf("%w: %s: %w", ErrSignInRequired, op, err)
	}
	return fmt.Errorf("signin: %s: %w", op, err)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
