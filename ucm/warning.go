package ucm

import (
	"errors"
	"math"
	"strings"
	"time"
)

// maxHeaderValue bounds the header values this package parses.
const maxHeaderValue = 8 << 10

// Warning is one warning-value of a SIP Warning header (RFC 3261 §20.43),
// e.g. `399 UCM2-PUB "SIP OAuth Registration port Mismatch"`.
type Warning struct {
	Code  int    // warn-code, three digits
	Agent string // warn-agent: the host or pseudonym that added it
	Text  string // warn-text, unquoted
}

// ErrMalformedWarning: a Warning value that does not follow RFC 3261's
// grammar, or is longer than 8 KiB.
var ErrMalformedWarning = errors.New("ucm: malformed Warning header")

// PortMismatchWarning is the port mismatch's Warning from the node named
// node ("-" when empty).
func PortMismatchWarning(node string) Warning {
	return Warning{Code: WarnCode, Agent: node, Text: PortMismatchText}
}

// IsPortMismatch reports whether w is Unified CM's port mismatch: warn-code
// 399 and the port mismatch's text, in any case.
func (w Warning) IsPortMismatch() bool {
	return w.Code == WarnCode && strings.EqualFold(w.Text, PortMismatchText)
}

// String writes w as a warning-value: the code in three digits (399 when
// Code is outside 0–999, which the grammar cannot carry), the agent as it
// is, or "-" when empty (RFC 3261 §20.43 allows a pseudonym), and the text
// as a quoted-string: quotes, backslashes and control characters escaped
// (RFC 3261 §25.1 quoted-pair), CR and LF, which no quoted-string holds,
// left out.
func (w Warning) String() string {
	agent := w.Agent
	if agent == "" {
		agent = "-"
	}
	var b strings.Builder
	code := w.Code
	if code < 0 || code > 999 {
		code = WarnCode
	}
	b.Grow(4 + len(agent) + 3 + len(w.Text))
	b.WriteByte(byte('0' + code/100))
	b.WriteByte(byte('0' + code/10%10))
	b.WriteByte(byte('0' + code%10))
	b.WriteByte(' ')
	b.WriteString(agent)
	b.WriteString(` "`)
	for i := 0; i < len(w.Text); i++ {
		switch c := w.Text[i]; {
		case c == '\r' || c == '\n':
		case c == '"' || c == '\\' || c < ' ' && c != '\t' || c == 0x7f:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// IsPortMismatch reports whether a Warning header value carries the port
// mismatch among its warning-values.
func IsPortMismatch(warning string) bool {
	_, ok := PortMismatchNode(warning)
	return ok
}

// PortMismatchNode returns the warn-agent of the port mismatch in a
// Warning header value (the node that refused), and whether there is one.
// When several are there, the last one counts.
func PortMismatchNode(warning string) (string, bool) {
	ws, _ := ParseWarnings(warning)
	node, found := "", false
	for _, w := range ws {
		if w.IsPortMismatch() {
			node, found = w.Agent, true
		}
	}
	return node, found
}

// ParseWarnings reads a Warning header value: one or more comma-separated
// warning-values. It reads at most 8 KiB and returns the values read
// before any error.
func ParseWarnings(s string) ([]Warning, error) {
	if len(s) > maxHeaderValue {
		return nil, ErrMalformedWarning
	}
	var out []Warning
	for {
		s = trimLWS(s)
		if len(s) < 3 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) {
			return out, ErrMalformedWarning
		}
		w := Warning{Code: int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')}
		s = s[3:]
		if len(s) == 0 || (s[0] != ' ' && s[0] != '\t') {
			return out, ErrMalformedWarning
		}
		s = trimLWS(s)
		i := 0
		for i < len(s) && s[i] > ' ' && s[i] != '"' && s[i] != ',' && s[i] < 0x7f {
			i++
		}
		if i == 0 {
			return out, ErrMalformedWarning
		}
		w.Agent, s = s[:i], trimLWS(s[i:])
		text, rest, ok := unquote(s)
		if !ok {
			return out, ErrMalformedWarning
		}
		w.Text = text
		out = append(out, w)
		s = trimLWS(rest)
		if s == "" {
			return out, nil
		}
		if s[0] != ',' {
			return out, ErrMalformedWarning
		}
		s = s[1:]
	}
}

// unquote reads a quoted-string at the start of s (RFC 3261 §25.1) and
// returns its content, unescaped, and what follows it.
func unquote(s string) (string, string, bool) {
	if len(s) == 0 || s[0] != '"' {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String(), s[i+1:], true
		case c == '\\':
			if i+1 == len(s) || s[i+1] == '\r' || s[i+1] == '\n' || s[i+1] > 0x7f {
				return "", s, false
			}
			i++
			b.WriteByte(s[i])
		case c < ' ' && c != '\t', c == 0x7f:
			return "", s, false
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}

// ParseRetryAfter reads a Retry-After header value (RFC 3261 §20.33):
// delta-seconds, optionally followed by a comment and parameters, which
// are ignored. Values beyond 2^32-1 seconds are capped there.
func ParseRetryAfter(s string) (time.Duration, bool) {
	if len(s) > maxHeaderValue {
		return 0, false
	}
	s = trimLWS(s)
	i := 0
	var n uint64
	for i < len(s) && isDigit(s[i]) {
		if n < math.MaxUint32 {
			n = n*10 + uint64(s[i]-'0')
		}
		i++
	}
	if i == 0 {
		return 0, false
	}
	if rest := trimLWS(s[i:]); rest != "" && rest[0] != '(' && rest[0] != ';' {
		return 0, false
	}
	n = min(n, math.MaxUint32)
	return time.Duration(n) * time.Second, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func trimLWS(s string) string { return strings.Trim(s, " \t\r\n") }
