package bearer

import (
	"errors"
	"net/url"
	"strings"

	"github.com/sipoauth/sdk/internal/defaults"
)

// Scheme is the auth-scheme this package reads and writes.
const Scheme = "Bearer"

// CiscoRealm is the realm Unified CM puts in its Bearer challenge.
const CiscoRealm = "ccmsipline"

// DefaultMaxLength is the longest header value a zero Parser accepts.
const DefaultMaxLength = 8 << 10

// DefaultMaxParams is the largest number of auth-params a zero Parser accepts.
const DefaultMaxParams = 64

// ErrorCode is the value of a challenge's error parameter (RFC 6750 §3.1).
type ErrorCode string

// Error codes of RFC 6750 §3.1, as RFC 8898 §2.3 uses them.
const (
	InvalidRequest    ErrorCode = "invalid_request"
	InvalidToken      ErrorCode = "invalid_token"
	InvalidScope      ErrorCode = "invalid_scope"
	InsufficientScope ErrorCode = "insufficient_scope"
)

// Param is an auth-param that has no field of its own, kept in the order it
// appeared.
type Param struct {
	// Name as written; names compare case-insensitively.
	Name string
	// Value, unquoted and unescaped. Values compare case-sensitively.
	Value string
	// Quoted is true when the value was (or is to be) a quoted-string. A
	// value that is not a token is quoted whatever Quoted says.
	Quoted bool
}

// Challenge is one Bearer challenge, the value of a WWW-Authenticate or
// Proxy-Authenticate header field. Unified CM sends only a realm:
//
//	Proxy-Authenticate: Bearer realm="ccmsipline"
//
// RFC 8898 adds scope, authz_server and, after a failed attempt, error.
// An empty field is absent.
type Challenge struct {
	Realm            string
	Scope            string    // space-separated scope tokens (RFC 6749 §3.3)
	AuthzServer      string    // https URI of the authorization server (RFC 8898 §4)
	Error            ErrorCode // why the last credentials failed (RFC 6750 §3.1)
	ErrorDescription string    // human-readable text (RFC 6750 §3)
	ErrorURI         string    // page about the error (RFC 6750 §3)
	Params           []Param   // other auth-params, in order
}

// CiscoChallenge returns the challenge Unified CM sends: Bearer realm="ccmsipline".
func CiscoChallenge() Challenge { return Challenge{Realm: CiscoRealm} }

// Parser parses header values within limits. The zero value uses
// DefaultMaxLength and DefaultMaxParams.
type Parser struct {
	// MaxLength is the longest header value accepted, in bytes.
	MaxLength int
	// MaxParams is the largest number of auth-params accepted in one value.
	MaxParams int
}

func (p Parser) maxLength() int {
	return defaults.Positive(p.MaxLength, DefaultMaxLength)
}

func (p Parser) maxParams() int {
	return defaults.Positive(p.MaxParams, DefaultMaxParams)
}

// ParseChallenge parses a WWW-Authenticate or Proxy-Authenticate value with
// the default limits.
func ParseChallenge(s string) (Challenge, error) { return Parser{}.ParseChallenge(s) }

// Known challenge parameters, as bits for duplicate detection.
const (
	cRealm = 1 << iota
	cScope
	cAuthzServer
	cError
	cErrorDescription
	cErrorURI
)

// ParseChallenge parses one Bearer challenge. It returns ErrNotBearer
// (wrapped in a *ParseError) for another scheme, and a *ParseError naming
// the offset and the reason for a malformed value. The strings of the
// result alias s where no unescaping was needed.
func (p Parser) ParseChallenge(s string) (Challenge, error) {
	var c Challenge
	i, more, perr := readScheme(s, p.maxLength())
	if perr != nil {
		return c, perr
	}
	var seen uint
	n, maxParams := 0, p.maxParams()
	for more {
		if n++; n > maxParams {
			return Challenge{}, errAt(i, ErrTooManyParams)
		}
		var rp rawParam
		rp, i, perr = readParam(s, i)
		if perr != nil {
			return Challenge{}, perr
		}
		var bit uint
		var field *string
		switch {
		case strings.EqualFold(rp.name, "realm"):
			bit, field = cRealm, &c.Realm
		case strings.EqualFold(rp.name, "scope"):
			bit, field = cScope, &c.Scope
		case strings.EqualFold(rp.name, "authz_server"):
			if err := checkAuthzServer(rp.value); err != nil {
				return Challenge{}, &ParseError{Offset: rp.valueOff, Param: rp.name, Detail: err.Error(), Err: ErrBadAuthzServer}
			}
			bit, field = cAuthzServer, &c.AuthzServer
		case strings.EqualFold(rp.name, "error"):
			bit, field = cError, (*string)(&c.Error)
		case strings.EqualFold(rp.name, "error_description"):
			bit, field = cErrorDescription, &c.ErrorDescription
		case strings.EqualFold(rp.name, "error_uri"):
			bit, field = cErrorURI, &c.ErrorURI
		default:
			if hasParam(c.Params, rp.name) {
				return Challenge{}, errParam(rp.nameOff, rp.name, ErrDuplicateParam)
			}
			c.Params = append(c.Params, Param{Name: rp.name, Value: rp.value, Quoted: rp.quoted})
		}
		if field != nil {
			if seen&bit != 0 {
				return Challenge{}, errParam(rp.nameOff, rp.name, ErrDuplicateParam)
			}
			seen |= bit
			*field = rp.value
		}
		if i, more, perr = afterParam(s, i); perr != nil {
			return Challenge{}, perr
		}
	}
	return c, nil
}

func hasParam(ps []Param, name string) bool {
	for i := range ps {
		if strings.EqualFold(ps[i].Name, name) {
			return true
		}
	}
	return false
}

var errNotHTTPS = errors.New("scheme must be https")

// checkAuthzServer reports why v is not an absolute https URI with a host.
func checkAuthzServer(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return errors.Unwrap(err) // drop url.Error's repetition of the value
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return errNotHTTPS
	}
	if u.Host == "" {
		return errors.New("missing host")
	}
	return nil
}

// String returns the challenge as a header value, e.g. `Bearer realm="ccmsipline"`.
func (c Challenge) String() string { return string(c.AppendTo(make([]byte, 0, c.size()))) }

func (c Challenge) size() int {
	n := len(Scheme) + 1 + len(c.Realm) + len(c.Scope) + len(c.AuthzServer) + len(c.Error) +
		len(c.ErrorDescription) + len(c.ErrorURI) + 6*16
	for _, p := range c.Params {
		n += len(p.Name) + len(p.Value) + 6
	}
	return n
}

// AppendTo appends the challenge as a header value to dst. The known
// parameters come first, in the order realm, scope, authz_server, error,
// error_description, error_uri, then Params in their order.
func (c Challenge) AppendTo(dst []byte) []byte {
	dst = append(dst, Scheme...)
	first := true
	add := func(name, value string) {
		if value == "" {
			return
		}
		if first {
			dst = append(dst, ' ')
		}
		dst = appendParam(dst, first, name, value, true)
		first = false
	}
	add("realm", c.Realm)
	add("scope", c.Scope)
	add("authz_server", c.AuthzServer)
	add("error", string(c.Error))
	add("error_description", c.ErrorDescription)
	add("error_uri", c.ErrorURI)
	for _, p := range c.Params {
		if first {
			dst = append(dst, ' ')
		}
		dst = appendParam(dst, first, p.Name, p.Value, p.Quoted)
		first = false
	}
	return dst
}

// Validate reports why the challenge cannot be written and read back as it
// is: control characters or invalid UTF-8 in a value, an authz_server that
// is not an https URI, a parameter name that is not a token, or a Param
// that repeats another parameter.
func (c Challenge) Validate() error {
	for _, f := range [...]struct{ name, value string }{
		{"realm", c.Realm}, {"scope", c.Scope}, {"authz_server", c.AuthzServer},
		{"error", string(c.Error)}, {"error_description", c.ErrorDescription}, {"error_uri", c.ErrorURI},
	} {
		if err := checkValue(f.value); err != nil {
			return &ParamError{Param: f.name, Err: err}
		}
	}
	if c.AuthzServer != "" {
		if err := checkAuthzServer(c.AuthzServer); err != nil {
			return &ParamError{Param: "authz_server", Err: ErrBadAuthzServer}
		}
	}
	return validateParams(c.Params, "realm", "scope", "authz_server", "error", "error_description", "error_uri")
}

// ParamError reports a parameter that Validate rejects.
type ParamError struct {
	Param string
	Err   error
}

// Error returns the reason and the parameter.
func (e *ParamError) Error() string { return e.Err.Error() + " in parameter " + `"` + e.Param + `"` }

// Unwrap returns the reason, one of the package's sentinel errors.
func (e *ParamError) Unwrap() error { return e.Err }

func validateParams(ps []Param, reserved ...string) error {
	for i, p := range ps {
		if !isToken(p.Name) {
			return &ParamError{Param: p.Name, Err: ErrSyntax}
		}
		if err := checkValue(p.Value); err != nil {
			return &ParamError{Param: p.Name, Err: err}
		}
		for _, r := range reserved {
			if strings.EqualFold(p.Name, r) {
				return &ParamError{Param: p.Name, Err: ErrDuplicateParam}
			}
		}
		if hasParam(ps[:i], p.Name) {
			return &ParamError{Param: p.Name, Err: ErrDuplicateParam}
		}
	}
	return nil
}
