package edge

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/sipoauth"
)

// Defaults of the Config fields left zero.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultDialTimeout = 5 * time.Second
	DefaultRetryAfter  = 30 * time.Second
	DefaultMaxPending  = 4096
	// DefaultMaxForwards is the Max-Forwards set on a request that has
	// none (RFC 3261 §16.6 step 3).
	DefaultMaxForwards = 70
)

// Config configures a Proxy. Certificate, NodeTrust and Upstreams are
// required; the rest has defaults.
type Config struct {
	// Name identifies the proxy in the Warning header of the answers it
	// makes itself (Warning: 399 <Name> "..."), and is the HostNameOrIP of
	// the entry it pushes to the node's table. A host name or a token;
	// the certificate's first DNS name (or CN) when empty.
	Name string
	// Certificate is the proxy's certificate: presented to the nodes as a
	// client certificate (it needs the clientAuth usage) and, unless
	// ListenCertificate is set, to the clients by Listen.
	Certificate mtlstrust.CertificateSource
	// ListenCertificate, if set, is the certificate Listen presents to
	// clients instead of Certificate.
	ListenCertificate mtlstrust.CertificateSource
	// Limits bound the client connections Listen accepts (package
	// siplimit): connections in all and per source address, handshake,
	// idle and message timeouts, message size. The zero value is
	// siplimit's defaults.
	Limits siplimit.Limits
	// NodeTrust holds the signers of the nodes' certificates. It is read at
	// every handshake, so a reload takes effect on the next connection.
	NodeTrust mtlstrust.TrustSource
	// Upstreams are the nodes' MRA OAuth ports (host:port, 5091 by
	// default on a node), tried in order: a node that cannot be reached,
	// refuses the proxy or answers 503 passes the request to the next.
	Upstreams []string
	// ServerName is the name the nodes' certificates must carry; each
	// upstream's host when empty.
	ServerName string
	// TLSOptions adjust the upstream TLS configuration (for example
	// mtlstrust.WithMinVersion, or an OCSP check with mtlstrust.WithVerify).
	TLSOptions []mtlstrust.Option

	// Validator, if set, makes the proxy check the bearer token before
	// forwarding (Expressway's "Authorize by OAuth token"): a REGISTER
	// without a valid token is answered by the proxy and never reaches a
	// node. Without it every REGISTER is forwarded and the node's challenge
	// is relayed.
	Validator sipoauth.TokenValidator
	// Challenge is the challenge the proxy sends when it validates;
	// bearer.CiscoChallenge() (Bearer realm="ccmsipline") when its Realm is
	// empty. It is always sent in a 407 with Proxy-Authenticate, as a proxy
	// challenges (RFC 3261 §22.3).
	Challenge bearer.Challenge

	// Table, if set, is the node's edge-proxy table the proxy pushes its
	// identity to before it serves (see Proxy.Refresh).
	Table *TableConfig

	// Logger receives the proxy's events; nothing is logged when nil.
	// Tokens are never logged.
	Logger *slog.Logger
	// OnFailure, if set, is told about every upstream failure. It is
	// called from the proxy's goroutines, before the client is answered,
	// and must not block for long.
	OnFailure func(Failure)

	// Timeout bounds how long a client's REGISTER waits for a node's final
	// answer, failover included; then the client gets 504. DefaultTimeout
	// when zero.
	Timeout time.Duration
	// DialTimeout bounds the TCP connection and TLS handshake with one
	// node. DefaultDialTimeout when zero.
	DialTimeout time.Duration
	// RetryAfter is the Retry-After of the 503 answers the proxy makes.
	// DefaultRetryAfter when zero.
	RetryAfter time.Duration
	// MaxPending bounds the REGISTERs waiting for a node at once; beyond
	// it clients get 503. DefaultMaxPending when zero.
	MaxPending int
}

// TableConfig says where and how the proxy pushes its identity: the HTTP
// API of an edgetable.Handler on the node, over HTTPS with Basic
// authentication (edgetable.Push).
type TableConfig struct {
	// URL is where the Handler is served, https only; "/entries" is
	// appended unless the path already ends with it (edgetable.EntriesURL).
	URL string
	// User and Password are the Basic credentials, one of the handler's
	// Users.
	User, Password string
	// HTTPClient sends the request. When nil, a client with a 10-second
	// timeout that trusts Config.NodeTrust is used, since the table is
	// served by the node.
	HTTPClient *http.Client
	// Entry is what is pushed; when nil, edgetable.EntryFor(Config.Name,
	// the certificate's leaf).
	Entry *edgetable.Entry
}

// config is a Config with its defaults applied.
type config struct {
	Config
	leaf     *x509.Certificate
	upstream []upstreamAddr
}

type upstreamAddr struct {
	addr, serverName string
}

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("edge: invalid configuration")

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

func (c Config) resolve() (config, error) {
	out := config{Config: c}
	if c.Certificate == nil {
		return out, configErr("Certificate is required")
	}
	if c.NodeTrust == nil {
		return out, configErr("NodeTrust is required")
	}
	if len(c.Upstreams) == 0 {
		return out, configErr("at least one upstream is required")
	}
	leaf, err := leafOf(c.Certificate)
	if err != nil {
		return out, configErr("certificate: %v", err)
	}
	out.leaf = leaf
	seen := map[string]bool{}
	for _, u := range c.Upstreams {
		host, port, err := net.SplitHostPort(u)
		if err != nil {
			return out, configErr("upstream %q: %v", u, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return out, configErr("upstream %q: bad port", u)
		}
		if host == "" {
			return out, configErr("upstream %q: no host", u)
		}
		if seen[u] {
			return out, configErr("upstream %q listed twice", u)
		}
		seen[u] = true
		sn := c.ServerName
		if sn == "" {
			sn = host
		}
		out.upstream = append(out.upstream, upstreamAddr{addr: u, serverName: sn})
	}
	if out.Name == "" {
		out.Name = defaultName(leaf)
	}
	if !validWarnAgent(out.Name) {
		return out, configErr("Name %q is neither a host name nor a token", out.Name)
	}
	if out.Challenge.Realm == "" {
		out.Challenge = bearer.CiscoChallenge()
	}
	if err := out.Challenge.Validate(); err != nil {
		return out, configErr("Challenge: %v", err)
	}
	if c.Table != nil {
		if _, err := edgetable.EntriesURL(c.Table.URL); err != nil {
			return out, configErr("Table: %v", err)
		}
		if c.Table.User == "" {
			return out, configErr("Table: User is required")
		}
	}
	out.Timeout = defaults.Positive(out.Timeout, DefaultTimeout)
	out.DialTimeout = defaults.Positive(out.DialTimeout, DefaultDialTimeout)
	out.RetryAfter = defaults.Positive(out.RetryAfter, DefaultRetryAfter)
	out.MaxPending = defaults.Positive(out.MaxPending, DefaultMaxPending)
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out, nil
}

func leafOf(s mtlstrust.CertificateSource) (*x509.Certificate, error) {
	c := s.Certificate()
	if c == nil || len(c.Certificate) == 0 {
		return nil, errors.New("no certificate")
	}
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	return x509.ParseCertificate(c.Certificate[0])
}

func defaultName(leaf *x509.Certificate) string {
	if len(leaf.DNSNames) > 0 && validWarnAgent(leaf.DNSNames[0]) {
		return leaf.DNSNames[0]
	}
	if validWarnAgent(leaf.Subject.CommonName) {
		return leaf.Subject.CommonName
	}
	return "edge"
}

// validWarnAgent reports whether s can stand as a Warning's warn-agent:
// a host name (with an optional port) or a token (RFC 3261 §20.43).
func validWarnAgent(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == '!', c == '%', c == '*', c == '_', c == '+', c == '`', c == '\'', c == '~', c == ':':
		default:
			return false
		}
	}
	return true
}
