package client

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/defaults"
)

// Defaults of Config.
const (
	DefaultModel          = "503" // Cisco Jabber's model number
	DefaultUserAgent      = "Cisco-CSF"
	DefaultExpires        = time.Hour
	DefaultRegisterDelta  = 5 * time.Second
	DefaultConfigTimeout  = 10 * time.Second
	DefaultDialTimeout    = 10 * time.Second
	DefaultRequestTimeout = 32 * time.Second // RFC 3261 Timer F, 64*T1
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = 2 * time.Minute
	DefaultFailback       = 30 * time.Second
	DefaultEventBuffer    = 64
)

// MinRefreshInterval is the shortest time the client waits between two
// registrations of a binding, whatever the registrar grants.
const MinRefreshInterval = 500 * time.Millisecond

// Config configures a Client. DeviceName, Tokens and either Device or
// ConfigURL are required; the rest has defaults.
type Config struct {
	// DeviceName is the device, e.g. "CSFrado": it is sent in the Contact's
	// +u.sip!devicename.ccm.cisco.com and names the configuration file.
	DeviceName string
	// User is the user part of the address of record, e.g. "rado"; the
	// configuration file's userId when empty.
	User string
	// Model is the Contact's +u.sip!model.ccm.cisco.com; DefaultModel
	// (Jabber's 503) when empty.
	Model string
	// Instance is the Contact's +sip.instance, a "urn:uuid:..." URN;
	// when empty, a UUID derived from DeviceName, the same at every start.
	Instance string

	// ConfigURL is where the configuration file is fetched from, e.g.
	// "http://10.10.10.1:6970/CSFrado.cnf.xml", or a local file: a file
	// URL ("file:///etc/sipoauth/CSFrado.cnf.xml") or a path; one ending
	// in "/" gets DeviceName + ".cnf.xml" appended. Used when Device is
	// nil. See FetchConfig.
	ConfigURL string
	// Device is the configuration, already parsed; it takes precedence over
	// ConfigURL. The client reads it at the first registration (or call to
	// Targets), so it must not be changed concurrently with that.
	Device *cnfxml.Config
	// HTTPClient fetches the configuration file; http.DefaultClient when nil.
	HTTPClient *http.Client
	// MaxConfigSize bounds the configuration file, in bytes;
	// cnfxml.DefaultMaxSize (1 MiB) when 0.
	MaxConfigSize int64
	// ConfigTimeout bounds the fetch; DefaultConfigTimeout when 0.
	ConfigTimeout time.Duration

	// Deployment chooses the targets: cnfxml.OnPremises connects to each
	// node's sipOAuthPort, cnfxml.MRA to EdgeAddr, with Request-URIs naming
	// each node's sipMRAOAuthPort.
	Deployment cnfxml.Deployment
	// EdgeAddr is the edge proxy's host:port (Expressway-E), required for
	// cnfxml.MRA.
	EdgeAddr string
	// EdgeServerName is the name the edge proxy's certificate must carry;
	// EdgeAddr's host when empty.
	EdgeServerName string

	// TLSConfig verifies the registrar's (or the edge proxy's) certificate:
	// RootCAs is the trust pool. Its ServerName, when set, applies to
	// every node; when empty each node is verified against its name in the
	// configuration file. The system roots are used when it is nil.
	TLSConfig *tls.Config
	// Dial opens the TCP connection under TLS; a net.Dialer when nil. Tests
	// and products with their own network stack replace it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// DialTimeout bounds the connection and the TLS handshake;
	// DefaultDialTimeout when 0.
	DialTimeout time.Duration
	// RequestTimeout bounds each REGISTER transaction;
	// DefaultRequestTimeout (RFC 3261's 32 s) when 0.
	RequestTimeout time.Duration

	// Tokens gives the access token.
	Tokens TokenSource
	// Form is how the token is written: bearer.FormCisco
	// (`Bearer token="..."`, the zero value) or bearer.FormRFC6750
	// (`Bearer ...`). The header follows the challenge:
	// Proxy-Authorization after a 407, Authorization after a 401.
	Form bearer.Form

	// Expires is what the client asks for; the file's timerRegisterExpires,
	// else DefaultExpires (3600 s), when 0. The registrar may grant less.
	Expires time.Duration
	// RegisterDelta is how long before the granted expiry the client
	// registers again; the file's timerRegisterDelta, else
	// DefaultRegisterDelta, when 0. The client never waits less than half
	// the granted time nor less than MinRefreshInterval.
	RegisterDelta time.Duration
	// MinBackoff and MaxBackoff bound the exponential wait of Run after a
	// failed registration; DefaultMinBackoff and DefaultMaxBackoff when 0.
	MinBackoff, MaxBackoff time.Duration
	// Failback is how long a target that failed (it could not be reached,
	// or answered 408, 480 or 5xx) is passed over: the client tries the
	// targets in priority order, those passed over last. A 503's
	// Retry-After, when longer, passes it over for that long. A client
	// registered on a lower-priority target tries the higher ones again
	// as soon as they are no longer passed over, and moves back to the
	// first that answers, as Jabber returns to its primary node.
	// DefaultFailback when 0.
	Failback time.Duration

	// UserAgent is the User-Agent header; DefaultUserAgent when empty.
	UserAgent string
	// Logger receives the client's logs; slog.Default() when nil. Tokens
	// are never logged.
	Logger *slog.Logger
	// OnEvent, if set, is called with each Event, in order, from one
	// goroutine of the client's own. Events wait in a buffer; when a slow
	// OnEvent lets it fill up, further events are dropped (and logged)
	// rather than hold up registration. Close waits a few seconds at most
	// for the last events to be delivered.
	OnEvent func(Event)
	// EventBuffer is how many events wait for OnEvent; DefaultEventBuffer
	// when 0.
	EventBuffer int

	// OnRequest, if set, answers the requests that reach the client over
	// its registration's connection (RFC 5626: the registrar, or the edge
	// proxy for MRA, sends them back on the connection the client opened):
	// MESSAGE, NOTIFY, INVITE and the rest. It returns the final response,
	// made with sip.NewResponseFromRequest; nil is answered 500. It runs
	// in a goroutine of its own per request, at most
	// MaxIncomingRequests at once per connection (503 beyond), and must
	// return before ctx ends (RequestTimeout). OPTIONS, the keep-alive
	// probe, is answered 200 by the client itself; without OnRequest,
	// other requests are answered 501 Not Implemented.
	OnRequest func(ctx context.Context, req *sip.Request) *sip.Response
}

// MaxIncomingRequests bounds the requests OnRequest handles at once on one
// connection.
const MaxIncomingRequests = 16

// Target is one place the client registers with: a node of the
// configuration file, and the address it connects to for it.
type Target struct {
	cnfxml.Target
	// Addr is the host:port the client connects to: the node's OAuth port,
	// or the edge proxy for MRA.
	Addr string
	// ServerName is the name the peer's certificate is verified against.
	ServerName string
	// Edge is true when Addr is the edge proxy's.
	Edge bool
}

// NodeAddr returns the node's host:port.
func (t Target) NodeAddr() string {
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

// String returns the node's host:port, followed by " via <edge>" for MRA.
func (t Target) String() string {
	if t.Host == "" && t.Addr == "" {
		return "no target"
	}
	if t.Edge {
		return t.NodeAddr() + " via " + t.Addr
	}
	return t.NodeAddr()
}

// settings are the resolved configuration.
type settings struct {
	Config
	model, instance, userAgent string
}

// New checks cfg and returns a Client. Nothing is fetched or sent until
// Register or Run.
func New(cfg Config) (*Client, error) {
	if !cnfxml.ValidDeviceName(cfg.DeviceName) {
		return nil, fmt.Errorf("client: device name %q is not valid", cfg.DeviceName)
	}
	if cfg.Tokens == nil {
		return nil, errors.New("client: Config needs Tokens")
	}
	if cfg.Device == nil && cfg.ConfigURL == "" {
		return nil, errNoConfig
	}
	if cfg.User != "" && !validUser(cfg.User) {
		return nil, fmt.Errorf("client: user %q cannot be a SIP user part", cfg.User)
	}
	if cfg.Deployment == cnfxml.MRA {
		if _, _, err := net.SplitHostPort(cfg.EdgeAddr); err != nil {
			return nil, fmt.Errorf("client: MRA needs EdgeAddr host:port: %w", err)
		}
	}
	s := settings{Config: cfg, model: cfg.Model, instance: cfg.Instance, userAgent: cfg.UserAgent}
	if s.model == "" {
		s.model = DefaultModel
	}
	if !validToken(s.model) {
		return nil, fmt.Errorf("client: model %q is not a SIP token", s.model)
	}
	if s.instance == "" {
		s.instance = instanceFor(cfg.DeviceName)
	}
	if !validQuoted(s.instance) || !strings.HasPrefix(strings.ToLower(s.instance), "urn:") {
		return nil, fmt.Errorf("client: instance %q is not a URN", s.instance)
	}
	if s.userAgent == "" {
		s.userAgent = DefaultUserAgent
	}
	if !validText(s.userAgent) {
		return nil, errors.New("client: UserAgent has control characters")
	}
	if s.Expires < 0 || s.RegisterDelta < 0 || s.MinBackoff < 0 || s.MaxBackoff < 0 || s.Failback < 0 {
		return nil, errors.New("client: negative duration in Config")
	}
	if s.Expires > 0 && s.Expires < time.Second {
		return nil, errors.New("client: Expires under one second")
	}
	if s.HTTPClient == nil {
		s.HTTPClient = http.DefaultClient
	}
	s.ConfigTimeout = defaults.Positive(s.ConfigTimeout, DefaultConfigTimeout)
	s.DialTimeout = defaults.Positive(s.DialTimeout, DefaultDialTimeout)
	s.RequestTimeout = defaults.Positive(s.RequestTimeout, DefaultRequestTimeout)
	if s.MinBackoff == 0 {
		s.MinBackoff = DefaultMinBackoff
	}
	if s.MaxBackoff == 0 {
		s.MaxBackoff = DefaultMaxBackoff
	}
	s.MaxBackoff = max(s.MaxBackoff, s.MinBackoff)
	s.Failback = defaults.Positive(s.Failback, DefaultFailback)
	s.EventBuffer = defaults.Positive(s.EventBuffer, DefaultEventBuffer)
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Dial == nil {
		d := &net.Dialer{}
		s.Dial = d.DialContext
	}
	return newClient(s), nil
}

// configURL is the URL of the device's file.
func (s *settings) configURL() string {
	if strings.HasSuffix(s.ConfigURL, "/") {
		return s.ConfigURL + s.DeviceName + cnfxml.Suffix
	}
	return s.ConfigURL
}

// targets turns the file's targets into the addresses to connect to,
// skipping nodes whose names cannot be sent in a SIP URI.
func (s *settings) targets(cfg *cnfxml.Config) []Target {
	var out []Target
	for _, t := range cnfxml.Targets(cfg, s.Deployment) {
		if t.Transport != cnfxml.TLS || !validHost(t.Host) || t.Port <= 0 || t.Port > 65535 {
			s.Logger.Warn("client: skipping target", "host", t.Host, "port", t.Port, "transport", t.Transport, "oauth", t.OAuth)
			continue
		}
		ct := Target{Target: t}
		if s.Deployment == cnfxml.MRA {
			ct.Edge, ct.Addr = true, s.EdgeAddr
			ct.ServerName = s.EdgeServerName
			if ct.ServerName == "" {
				ct.ServerName, _, _ = net.SplitHostPort(s.EdgeAddr)
			}
		} else {
			ct.Addr = ct.NodeAddr()
			ct.ServerName = t.Host
			if s.TLSConfig != nil && s.TLSConfig.ServerName != "" {
				ct.ServerName = s.TLSConfig.ServerName
			}
		}
		out = append(out, ct)
	}
	return out
}

// instanceFor derives a stable instance URN from the device name: a
// name-based (version 5) UUID.
func instanceFor(device string) string {
	// The URL namespace of RFC 4122 Appendix C.
	ns := []byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte("urn:cisco:device:" + device))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return "urn:uuid:" + x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// validUser reports whether s can be a SIP URI's user part unescaped:
// unreserved characters and the user-unreserved marks of RFC 3261 §25.1.
func validUser(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("-_.!~*'()&=+$,;?/", rune(c)) {
			return false
		}
	}
	return true
}

// validToken reports whether s is an RFC 3261 token.
func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune("-.!%*_+`'~", rune(c)) {
			return false
		}
	}
	return true
}

// validHost reports whether s is a host name or an IP address.
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if net.ParseIP(s) != nil {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validQuoted reports whether s can go in a quoted string without escapes.
func validQuoted(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validText reports whether s has no control characters.
func validText(s string) bool {
	if len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
