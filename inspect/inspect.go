package inspect

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sipoauth/sdk/clientlog"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/defaults"
)

// Kind is what an input is.
type Kind string

// Kinds of input.
const (
	KindCNF      Kind = "cnf"      // a device configuration file (<device>.cnf.xml)
	KindCert     Kind = "cert"     // a certificate chain, leaf first, in PEM or DER
	KindToken    Kind = "token"    // a JWT or JWE access or refresh token
	KindHeader   Kind = "header"   // a Bearer challenge or credentials header, with or without its name
	KindResponse Kind = "response" // a SIP response: status line and headers
	KindTLS      Kind = "tls"      // a TLS error message or alert
	KindLog      Kind = "log"      // a soft client's log
)

// Kinds returns every kind, in the order Detect considers them.
func Kinds() []Kind {
	return []Kind{KindCNF, KindResponse, KindHeader, KindToken, KindCert, KindTLS, KindLog}
}

// ErrEmpty is returned for an empty input.
var ErrEmpty = errors.New("inspect: empty input")

// ErrUnknownKind is returned when Detect cannot tell what an input is.
var ErrUnknownKind = errors.New("inspect: cannot tell what the input is")

// ErrTooLarge is returned for an input larger than the limit of its kind
// (Options.MaxSize, Options.MaxLogSize).
var ErrTooLarge = errors.New("inspect: input larger than the limit")

// ErrBadOption is returned for an Options value the checks do not know,
// such as an unknown Role or Side.
var ErrBadOption = errors.New("inspect: invalid option")

// Size limits of the inputs, when Options leave them zero.
const (
	// DefaultMaxSize bounds every input but a log: a configuration file,
	// a certificate chain, a token, a header, a response or a TLS error
	// is far smaller.
	DefaultMaxSize = 1 << 20
	// DefaultMaxLogSize bounds a log. Logs are read as a stream
	// (CheckReader), so the limit is on time rather than memory.
	DefaultMaxLogSize = 64 << 20
)

// Options adjust the checks.
type Options struct {
	// Now is the time expiries are checked at; time.Now() when zero.
	Now time.Time
	// Role of a certificate: "node" (the default) or "edge".
	Role string
	// Host is the name a certificate must carry; not checked when empty.
	Host string
	// Deployment of a configuration file's targets; both are listed in
	// CNFView whatever it is.
	Deployment cnfxml.Deployment
	// Side of a TLS error: "node", "edge" (the default: the edge proxy
	// connecting to the node) or "client" (a soft client connecting to the
	// OAuth port).
	Side string
	// Port is the port a refused REGISTER was sent to, named in the
	// causes of a port mismatch (scenario 1); 5090 when zero.
	Port int
	// MaxSize bounds inputs other than logs, in bytes; DefaultMaxSize
	// when zero.
	MaxSize int
	// MaxLogSize bounds a log, in bytes; DefaultMaxLogSize when zero.
	MaxLogSize int64
}

func (o Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func (o Options) maxSize() int {
	return defaults.Positive(o.MaxSize, DefaultMaxSize)
}

func (o Options) maxLogSize() int64 {
	return defaults.Positive(o.MaxLogSize, DefaultMaxLogSize)
}

// limit returns the size limit of kind.
func (o Options) limit(kind Kind) int64 {
	if kind == KindLog {
		return o.maxLogSize()
	}
	return int64(o.maxSize())
}

// Result is the outcome of a check: findings, and a decoded view of the
// input. It marshals to the JSON that the CLI prints with --json and the
// browser page shows.
type Result struct {
	Kind     Kind              `json:"kind"`
	Findings diag.Findings     `json:"findings"`
	CNF      *CNFView          `json:"cnf,omitempty"`
	Certs    []CertView        `json:"certs,omitempty"`
	Token    *TokenView        `json:"token,omitempty"`
	Header   *HeaderView       `json:"header,omitempty"`
	Response *ResponseView     `json:"response,omitempty"`
	TLS      *TLSView          `json:"tls,omitempty"`
	Log      *clientlog.Report `json:"log,omitempty"`
}

// Worst returns the highest severity of the findings, Info when there is
// none: the CLI exits non-zero on Error.
func (r Result) Worst() diag.Severity {
	s, _ := r.Findings.Max()
	return s
}

// JSON returns r as indented JSON ending in a newline, the form the CLI
// prints: fields in the order they are declared, map keys sorted, and
// <, > and & written as they are rather than escaped for HTML.
func (r Result) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("inspect: encoding the result: %w", err)
	}
	return b.Bytes(), nil
}

// CNFView is the decoded configuration file.
type CNFView struct {
	DeviceName   string   `json:"deviceName,omitempty"`
	SIPOAuthMode int      `json:"sipOAuthMode"`
	SecurityMode int      `json:"securityMode"`
	UserID       string   `json:"userId,omitempty"`
	OnPremises   []Target `json:"onPremises"` // cnfxml.Targets(cfg, cnfxml.OnPremises)
	MRA          []Target `json:"mra"`        // cnfxml.Targets(cfg, cnfxml.MRA)
}

// Target is a registration target of a configuration file.
type Target struct {
	Host        string `json:"host"`
	Port        int    `json:"port"`
	Transport   string `json:"transport"`
	OAuth       bool   `json:"oauth"`
	DefaultPort bool   `json:"defaultPort"`
	Priority    int    `json:"priority"`
	ProcessNode string `json:"processNodeName,omitempty"`
}

// CertView is one decoded certificate of a chain.
type CertView struct {
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	Serial             string    `json:"serial"`
	NotBefore          time.Time `json:"notBefore"`
	NotAfter           time.Time `json:"notAfter"`
	DNSNames           []string  `json:"dnsNames,omitempty"`
	IPAddresses        []string  `json:"ipAddresses,omitempty"`
	KeyAlgorithm       string    `json:"keyAlgorithm"`
	KeyBits            int       `json:"keyBits,omitempty"`
	SignatureAlgorithm string    `json:"signatureAlgorithm"`
	IsCA               bool      `json:"isCA"`
	ExtKeyUsage        []string  `json:"extKeyUsage,omitempty"`
}

// TokenView is a token decoded without verifying it.
type TokenView struct {
	// Shape is "jws" (a signed JWT), "nested" (Unified CM's JWS whose
	// private claim holds a JWE), or "jwe" (an encrypted token).
	Shape string `json:"shape"`
	// Use is "access" or "refresh".
	Use    string         `json:"use"`
	Header map[string]any `json:"header"`
	// EncryptedHeader is the JOSE header of a nested token's private
	// claim, a JWE; a JWE token's own header is Header.
	EncryptedHeader map[string]any `json:"encryptedHeader,omitempty"`
	// Claims are the readable claims; a nested token's private claims are
	// encrypted and not shown.
	Claims    map[string]any `json:"claims,omitempty"`
	Issuer    string         `json:"issuer,omitempty"`
	Subject   string         `json:"subject,omitempty"`
	Device    string         `json:"device,omitempty"`
	Scope     string         `json:"scope,omitempty"`
	IssuedAt  *time.Time     `json:"issuedAt,omitempty"`
	ExpiresAt *time.Time     `json:"expiresAt,omitempty"`
	Expired   bool           `json:"expired"`
	// ExpiresIn is the time left at Options.Now, negative once expired.
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// HeaderView is a decoded Bearer header.
type HeaderView struct {
	Name string `json:"name,omitempty"` // e.g. Proxy-Authorization, when the input named it
	// Type is "challenge" or "credentials".
	Type string `json:"type"`
	// Scheme is the authentication scheme of a header that is not Bearer,
	// such as Digest; empty for Bearer.
	Scheme string `json:"scheme,omitempty"`
	Form   string `json:"form,omitempty"` // credentials: cisco, pjsip, rfc6750, belle-sip
	Realm  string `json:"realm,omitempty"`
	// Token is the start of the token and its length, never all of it.
	Token  string            `json:"token,omitempty"`
	Error  string            `json:"error,omitempty"` // challenge: the error param
	Params map[string]string `json:"params,omitempty"`
}

// ResponseView is a decoded SIP response.
type ResponseView struct {
	Status   int               `json:"status"`
	Reason   string            `json:"reason"`
	Headers  map[string]string `json:"headers,omitempty"`
	Scenario int               `json:"scenario,omitempty"` // 1, 2 or 3 when it is one
}

// TLSView is a classified TLS error.
type TLSView struct {
	// Side is where the error was seen: "node", "edge" or "client".
	Side string `json:"side"`
	// Alert is the TLS alert the text names (RFC 8446 §6), or 0.
	Alert int `json:"alert,omitempty"`
	// Remote is true when the alert was received from the peer.
	Remote bool `json:"remote,omitempty"`
	// Scenario is 2 or 3 when the error is one of those troubleshooting
	// scenarios, else 0.
	Scenario int `json:"scenario,omitempty"`
}

// Detect tells what input is, from its first bytes and its markers; see
// the package documentation for the rules and their precedence. It
// returns ErrEmpty for an input of white space only and ErrUnknownKind
// when no rule applies.
func Detect(input []byte) (Kind, error) { return detect(input) }

// Auto detects what input is and checks it.
func Auto(input []byte, opts Options) (Result, error) {
	kind, err := Detect(input)
	if err != nil {
		return Result{}, err
	}
	return Check(kind, input, opts)
}

// Check checks input as kind. What is wrong with the input itself (a
// configuration file that is not XML, a token that does not decode, an
// expired certificate) is a finding; the error is for what stops the
// check: an empty or oversized input, an unknown kind or option.
func Check(kind Kind, input []byte, opts Options) (Result, error) {
	if err := checkSize(kind, int64(len(input)), opts); err != nil {
		return Result{}, err
	}
	if len(bytes.TrimSpace(input)) == 0 {
		return Result{}, ErrEmpty
	}
	var (
		r   Result
		err error
	)
	switch kind {
	case KindCNF:
		r = checkCNF(input)
	case KindCert:
		r, err = checkCert(input, opts)
	case KindToken:
		r = checkToken(input, opts)
	case KindHeader:
		r = checkHeader(input, opts)
	case KindResponse:
		r = checkResponse(input, opts)
	case KindTLS:
		r, err = checkTLS(input, opts)
	case KindLog:
		r, err = checkLog(bytes.NewReader(input), opts)
	default:
		return Result{}, fmt.Errorf("%w: unknown kind %q", ErrUnknownKind, kind)
	}
	if err != nil {
		return Result{}, err
	}
	return completed(r, kind), nil
}

// completed is r, a check's result, as Check and CheckReader return it:
// of kind, and with Findings that are empty rather than nil.
func completed(r Result, kind Kind) Result {
	r.Kind = kind
	if r.Findings == nil {
		r.Findings = diag.Findings{}
	}
	return r
}

// detectPrefix is how much of a stream CheckReader reads to detect its
// kind.
const detectPrefix = 64 << 10

// CheckReader checks what r holds as kind, or as what Detect says it is
// when kind is empty. A log is streamed through the analyzer in bounded
// memory; other kinds are read whole, up to their limit.
func CheckReader(kind Kind, r io.Reader, opts Options) (Result, error) {
	br := bufio.NewReaderSize(r, detectPrefix)
	head, err := br.Peek(detectPrefix)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return Result{}, fmt.Errorf("inspect: reading: %w", err)
	}
	if kind == "" {
		if kind, err = Detect(head); err != nil {
			return Result{}, err
		}
	}
	if kind != KindLog {
		limit := opts.limit(kind)
		b, err := io.ReadAll(io.LimitReader(br, limit+1))
		if err != nil {
			return Result{}, fmt.Errorf("inspect: reading: %w", err)
		}
		if int64(len(b)) > limit {
			return Result{}, tooLarge(kind, limit)
		}
		return Check(kind, b, opts)
	}
	if len(head) < detectPrefix && len(bytes.TrimSpace(head)) == 0 {
		return Result{}, ErrEmpty
	}
	lr := &limitedReader{r: br, left: opts.maxLogSize()}
	res, err := checkLog(lr, opts)
	if lr.over {
		return Result{}, tooLarge(kind, opts.maxLogSize())
	}
	if err != nil {
		return Result{}, err
	}
	return completed(res, KindLog), nil
}

func checkSize(kind Kind, n int64, opts Options) error {
	if limit := opts.limit(kind); n > limit {
		return tooLarge(kind, limit)
	}
	return nil
}

func tooLarge(kind Kind, limit int64) error {
	return fmt.Errorf("%w: a %s input may have at most %s bytes", ErrTooLarge, kind, strconv.FormatInt(limit, 10))
}

// limitedReader fails, rather than stops, past its limit, so that a log
// over the limit is refused instead of analyzed in part.
type limitedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// Read one byte more to tell a log of exactly the limit from a
		// longer one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.over = true
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
