package sipoauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sipoauth/sdk/internal/bounded"
)

// maxMetadata bounds an authorization server's metadata document.
const maxMetadata = 1 << 20

// DefaultDiscoveryTimeout bounds the fetch of a metadata document.
const DefaultDiscoveryTimeout = 10 * time.Second

// Metadata is what an authorization server says of itself (OpenID Connect
// Discovery 1.0 §3, RFC 8414 §2): where its keys and endpoints are.
type Metadata struct {
	Issuer                      string   `json:"issuer"`
	JWKSURI                     string   `json:"jwks_uri"`
	AuthorizationEndpoint       string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint               string   `json:"token_endpoint,omitempty"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint,omitempty"`
	RevocationEndpoint          string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint       string   `json:"introspection_endpoint,omitempty"`
	ScopesSupported             []string `json:"scopes_supported,omitempty"`
	GrantTypesSupported         []string `json:"grant_types_supported,omitempty"`
	CodeChallengeMethods        []string `json:"code_challenge_methods_supported,omitempty"`
	// Source is the URL the document was read from.
	Source string `json:"-"`
}

// ErrDiscovery wraps every failure of Discover.
var ErrDiscovery = errors.New("sipoauth: discovery")

// Discover reads the metadata of the authorization server whose issuer
// identifier is issuer: first OpenID Connect Discovery's
// <issuer>/.well-known/openid-configuration, then RFC 8414's
// /.well-known/oauth-authorization-server inserted before the issuer's
// path. The document must name exactly this issuer (RFC 8414 §3.3,
// OpenID Connect Discovery §4.3), or a server could pass itself off as
// another, and must give a jwks_uri. The issuer, the jwks_uri and the
// endpoints must be https URLs, but on a loopback host (a lab): whoever
// could change them on the way could mint tokens. client is
// http.DefaultClient when nil; each fetch is bounded by
// DefaultDiscoveryTimeout and 1 MiB.
func Discover(ctx context.Context, issuer string, client *http.Client) (*Metadata, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: issuer %q is not a URL without query or fragment", ErrDiscovery, issuer)
	}
	if err := secureURL("issuer", issuer); err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	path := strings.TrimSuffix(u.Path, "/")
	oidc := *u
	oidc.Path = path + "/.well-known/openid-configuration"
	rfc8414 := *u
	rfc8414.Path = "/.well-known/oauth-authorization-server" + path
	var errs []error
	for _, where := range []string{oidc.String(), rfc8414.String()} {
		m, err := fetchMetadata(ctx, client, where)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m.Issuer != issuer {
			return nil, fmt.Errorf("%w: %s names the issuer %q, not %q", ErrDiscovery, where, m.Issuer, issuer)
		}
		if m.JWKSURI == "" {
			return nil, fmt.Errorf("%w: %s gives no jwks_uri", ErrDiscovery, where)
		}
		for name, v := range map[string]string{"jwks_uri": m.JWKSURI, "authorization_endpoint": m.AuthorizationEndpoint,
			"token_endpoint": m.TokenEndpoint, "device_authorization_endpoint": m.DeviceAuthorizationEndpoint,
			"revocation_endpoint": m.RevocationEndpoint, "introspection_endpoint": m.IntrospectionEndpoint} {
			if v == "" {
				continue
			}
			if err := secureURL(name, v); err != nil {
				return nil, fmt.Errorf("%w (in %s)", err, where)
			}
		}
		m.Source = where
		return m, nil
	}
	return nil, fmt.Errorf("%w: no metadata for %s: %w", ErrDiscovery, issuer, errors.Join(errs...))
}

// fetchMetadata reads one metadata document.
func fetchMetadata(ctx context.Context, client *http.Client, where string) (*Metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultDiscoveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", where, res.Status)
	}
	body, err := bounded.ReadAll(res.Body, maxMetadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return &m, nil
}

// secureURL refuses a URL that is not https, but on a loopback host.
func secureURL(name, raw string) error {
	if err := CheckEndpointURL(raw); err != nil {
		return fmt.Errorf("%w: %s %w", ErrDiscovery, name, err)
	}
	return nil
}

// CheckEndpointURL accepts an https URL, or an http URL on a loopback host
// (a lab), the rule Discover applies to the issuer and the endpoints:
// tokens, keys and a user's sign-in cross them.
func CheckEndpointURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q is not https (plain http is taken on a loopback host only)", raw)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
