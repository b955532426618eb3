package bearer

import (
	"strconv"
	"strings"
)

// Form is the way credentials carry the token. Clients in the field use four.
type Form uint8

const (
	// FormCisco is Jabber's `Bearer token="<token>"`, the zero Form.
	FormCisco Form = iota
	// FormPJSIP is `Bearer token="<token>", username="u", realm="r"`: the
	// token parameter with others beside it.
	FormPJSIP
	// FormRFC6750 is `Bearer <b64token>` (RFC 6750 §2.1, RFC 8898 §2.2).
	FormRFC6750
	// FormBelleSIP is `Bearer <token68>, realm="r"`: a bare token followed by
	// parameters.
	FormBelleSIP
)

var formNames = [...]string{"cisco", "pjsip", "rfc6750", "belle-sip"}

// String returns "cisco", "pjsip", "rfc6750" or "belle-sip".
func (f Form) String() string {
	if int(f) < len(formNames) {
		return formNames[f]
	}
	return "Form(" + strconv.Itoa(int(f)) + ")"
}

// Bare reports whether the token is written bare after the scheme (RFC
// 6750, belle-sip) rather than in a token parameter (Cisco, PJSIP).
func (f Form) Bare() bool { return f == FormRFC6750 || f == FormBelleSIP }

// Credentials are the value of an Authorization or Proxy-Authorization
// header field with the Bearer scheme.
//
// When formatting, only Form.Bare matters: the token goes in a token
// parameter or bare, and Realm and Params follow in either case. Parsing
// sets Form to the precise one of the four that was seen.
type Credentials struct {
	// Token is the access token, a b64token (a JWT is one).
	Token string
	// Form is how the token was, or is to be, written.
	Form Form
	// Realm is the realm parameter, if any. RFC 3261 §22.3: a proxy tries
	// the values whose realm is its own.
	Realm string
	// Params holds the other auth-params (e.g. PJSIP's username), in order.
	Params []Param
}

// ParseCredentials parses an Authorization or Proxy-Authorization value
// with the default limits.
func ParseCredentials(s string) (Credentials, error) { return Parser{}.ParseCredentials(s) }

// ParseCredentials parses Bearer credentials in any of the four forms. It
// returns ErrNotBearer (wrapped in a *ParseError) for another scheme, so a
// caller can fall through to Digest, and a *ParseError naming the offset
// and the reason for a malformed value. The token aliases s: parsing the
// Cisco form allocates nothing.
func (p Parser) ParseCredentials(s string) (Credentials, error) {
	var c Credentials
	i, more, perr := readScheme(s, p.maxLength())
	if perr != nil {
		return c, perr
	}
	if !more {
		return c, errAt(i, ErrMissingToken)
	}
	// RFC 7235 §2.1 tells a token68 from an auth-param: a token68 is followed
	// by a comma or the end of the value.
	bare := false
	b64End := b64TokenEnd(s, i)
	if b64End > i {
		j, perr := skipLWS(s, b64End)
		if perr != nil {
			return c, perr
		}
		if j == len(s) || s[j] == ',' {
			bare = true
			c.Token, c.Form = s[i:b64End], FormRFC6750
			if i, more, perr = afterParam(s, b64End); perr != nil {
				return Credentials{}, perr
			}
		}
	}
	first := !bare
	n, maxParams := 0, p.maxParams()
	// Fast path for Cisco's token="...": a b64token needs no unescaping, so
	// the closing quote ends it and one pass checks its alphabet.
	if !bare && b64End-i == len("token=") && b64End < len(s) && s[b64End] == '"' &&
		strings.EqualFold(s[i:b64End], "token=") {
		start := b64End + 1
		if end := start + strings.IndexByte(s[start:], '"'); end > start && checkB64Token(s[start:end]) < 0 {
			c.Token, first, n = s[start:end], false, 1
			if i, more, perr = afterParam(s, end+1); perr != nil {
				return Credentials{}, perr
			}
		}
	}
	realmSeen := false
	for more {
		if n++; n > maxParams {
			return Credentials{}, errAt(i, ErrTooManyParams)
		}
		var rp rawParam
		start := i
		rp, i, perr = readParam(s, i)
		if perr != nil {
			if first && perr.Err == ErrSyntax {
				// Not a parameter, so a bare token with a bad character.
				off := b64End
				if off == start {
					off = perr.Offset
				}
				if off < len(s) && isCTL(s[off]) {
					return Credentials{}, errAt(off, ErrControlChar)
				}
				return Credentials{}, errAt(off, ErrBadTokenChar)
			}
			return Credentials{}, perr
		}
		first = false
		switch {
		case strings.EqualFold(rp.name, "token"):
			if bare {
				return Credentials{}, errParam(rp.nameOff, rp.name, ErrTokenAndParam)
			}
			if c.Token != "" {
				return Credentials{}, errParam(rp.nameOff, rp.name, ErrDuplicateParam)
			}
			if k := checkB64Token(rp.value); k >= 0 {
				if rp.value == "" {
					return Credentials{}, errParam(rp.valueOff, rp.name, ErrMissingToken)
				}
				return Credentials{}, errParam(valueOffset(s, rp, k), rp.name, ErrBadTokenChar)
			}
			c.Token = rp.value
		case strings.EqualFold(rp.name, "realm"):
			if realmSeen {
				return Credentials{}, errParam(rp.nameOff, rp.name, ErrDuplicateParam)
			}
			realmSeen = true
			c.Realm = rp.value
		default:
			if hasParam(c.Params, rp.name) {
				return Credentials{}, errParam(rp.nameOff, rp.name, ErrDuplicateParam)
			}
			c.Params = append(c.Params, Param{Name: rp.name, Value: rp.value, Quoted: rp.quoted})
		}
		if i, more, perr = afterParam(s, i); perr != nil {
			return Credentials{}, perr
		}
	}
	if c.Token == "" {
		return Credentials{}, errAt(i, ErrMissingToken)
	}
	if c.Realm != "" || len(c.Params) > 0 {
		if bare {
			c.Form = FormBelleSIP
		} else {
			c.Form = FormPJSIP
		}
	}
	return c, nil
}

// valueOffset maps offset k in the unescaped value of rp to an offset in s,
// exactly when the value was not unescaped, else to the value's start.
func valueOffset(s string, rp rawParam, k int) int {
	start := rp.valueOff
	if rp.quoted {
		start++
	}
	if start+len(rp.value) <= len(s) && s[start:start+len(rp.value)] == rp.value {
		return start + k
	}
	return rp.valueOff
}

// String returns the credentials as a header value, e.g. `Bearer token="eyJ..."`.
func (c Credentials) String() string {
	n := len(Scheme) + len(c.Token) + len(c.Realm) + 32
	for _, p := range c.Params {
		n += len(p.Name) + len(p.Value) + 6
	}
	return string(c.AppendTo(make([]byte, 0, n)))
}

// AppendTo appends the credentials as a header value to dst: the token (in
// a token parameter, or bare when Form.Bare), then realm, then Params.
func (c Credentials) AppendTo(dst []byte) []byte {
	dst = append(dst, Scheme...)
	dst = append(dst, ' ')
	if c.Form.Bare() {
		dst = appendBare(dst, c.Token)
	} else {
		dst = append(dst, `token=`...)
		dst = appendQuoted(dst, c.Token)
	}
	if c.Realm != "" {
		dst = appendParam(dst, false, "realm", c.Realm, true)
	}
	for _, p := range c.Params {
		dst = appendParam(dst, false, p.Name, p.Value, p.Quoted)
	}
	return dst
}

// Validate reports why the credentials cannot be written and read back as
// they are: a missing token or one outside the b64token alphabet, control
// characters or invalid UTF-8 in a value, a parameter name that is not a
// token, or a Param that repeats another parameter.
func (c Credentials) Validate() error {
	if c.Token == "" {
		return ErrMissingToken
	}
	if checkB64Token(c.Token) >= 0 {
		return &ParamError{Param: "token", Err: ErrBadTokenChar}
	}
	if int(c.Form) >= len(formNames) {
		return ErrSyntax
	}
	if err := checkValue(c.Realm); err != nil {
		return &ParamError{Param: "realm", Err: err}
	}
	return validateParams(c.Params, "token", "realm")
}
