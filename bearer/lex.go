package bearer

import (
	"strings"
	"unicode/utf8"
)

// Character classes, as tables so the hot loops are a load and a branch.
var (
	// tokenChar: RFC 3261 §25.1 token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~").
	tokenChar = makeTable("-.!%*_+`'~")
	// b64Char: RFC 6750 §2.1 b64token = 1*(ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/") *"=".
	// A JWT (base64url and '.') is a subset.
	b64Char = func() (t [256]byte) {
		for c, ok := range makeTable("-._~+/") {
			if ok {
				t[c] = 1
			}
		}
		return t
	}()
	// qdSafe: qdtext that needs no special handling: printable ASCII but DQUOTE
	// and backslash, plus SP and HTAB. This table and b64Char hold bytes
	// rather than bools so that span can fold eight lookups into one test.
	qdSafe = func() (t [256]byte) {
		for c := 0x20; c < 0x7f; c++ {
			if c != '"' && c != '\\' {
				t[c] = 1
			}
		}
		t['\t'] = 1
		return t
	}()
)

func makeTable(extra string) (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return t
}

func isCTL(c byte) bool { return (c < 0x20 && c != '\t') || c == 0x7f }

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// skipLWS skips linear white space (RFC 3261 §25.1: [*WSP CRLF] 1*WSP),
// including folded lines. A CR or LF that does not start a fold is a
// control character.
func skipLWS(s string, i int) (int, *ParseError) {
	for i < len(s) {
		switch c := s[i]; c {
		case ' ', '\t':
			i++
		case '\r':
			if i+2 < len(s) && s[i+1] == '\n' && isWSP(s[i+2]) {
				i += 3
				continue
			}
			return i, errAt(i, ErrControlChar)
		case '\n':
			return i, errAt(i, ErrControlChar)
		default:
			return i, nil
		}
	}
	return i, nil
}

// scanToken returns the end of the RFC 3261 token starting at i.
func scanToken(s string, i int) int {
	for i < len(s) && tokenChar[s[i]] {
		i++
	}
	return i
}

// span returns the end of the run of bytes starting at i for which t is 1.
// Tokens and quoted values can be long (a JWT is about a kilobyte), so it
// checks eight bytes a step.
func span(t *[256]byte, s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		if t[w[0]]&t[w[1]]&t[w[2]]&t[w[3]]&t[w[4]]&t[w[5]]&t[w[6]]&t[w[7]] == 0 {
			break
		}
	}
	for i < len(s) && t[s[i]] != 0 {
		i++
	}
	return i
}

// b64TokenEnd returns the end of the b64token starting at i, or i when
// there is none: at least one b64 character, then any number of '='.
func b64TokenEnd(s string, i int) int {
	j := span(&b64Char, s, i)
	if j == i {
		return i
	}
	for j < len(s) && s[j] == '=' {
		j++
	}
	return j
}

// checkB64Token reports the offset of the first character of v that makes
// it not a b64token, or -1 when v is one.
func checkB64Token(v string) int {
	end := b64TokenEnd(v, 0)
	if end == len(v) {
		if end == 0 {
			return 0
		}
		return -1
	}
	return end
}

// quoted reads the quoted-string whose opening DQUOTE is at s[open]. It
// returns the unescaped value and the offset after the closing DQUOTE. The
// value aliases s unless an escape or a folded line had to be removed.
func quoted(s string, open int) (string, int, *ParseError) {
	start := open + 1
	j := span(&qdSafe, s, start)
	if j < len(s) && s[j] == '"' {
		return s[start:j], j + 1, nil
	}
	return quotedSlow(s, open, j)
}

// quotedSlow continues quoted from j, the first byte that needs care.
func quotedSlow(s string, open, j int) (string, int, *ParseError) {
	start := open + 1
	var buf []byte // nil while the value can alias s
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			if buf == nil {
				return s[start:j], j + 1, nil
			}
			return string(buf), j + 1, nil
		case c == '\\':
			if j+1 >= len(s) {
				return "", j, errAt(open, ErrUnterminatedQuote)
			}
			e := s[j+1]
			if e == '\r' || e == '\n' || e >= 0x80 {
				return "", j, errAt(j, ErrBadEscape)
			}
			if isCTL(e) {
				return "", j, errAt(j+1, ErrControlChar)
			}
			if buf == nil {
				buf = append(make([]byte, 0, len(s)-start), s[start:j]...)
			}
			buf = append(buf, e)
			j += 2
		case c == '\r' && j+2 < len(s) && s[j+1] == '\n' && isWSP(s[j+2]):
			// A folded line is one LWS, which means a single SP.
			if buf == nil {
				buf = append(make([]byte, 0, len(s)-start), s[start:j]...)
			}
			for len(buf) > 0 && isWSP(buf[len(buf)-1]) {
				buf = buf[:len(buf)-1]
			}
			buf = append(buf, ' ')
			for j += 3; j < len(s) && isWSP(s[j]); j++ {
			}
		case isCTL(c):
			return "", j, errAt(j, ErrControlChar)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size <= 1 {
				return "", j, errAt(j, ErrInvalidUTF8)
			}
			if buf != nil {
				buf = append(buf, s[j:j+size]...)
			}
			j += size
		default:
			if buf != nil {
				buf = append(buf, c)
			}
			j++
		}
	}
	return "", j, errAt(open, ErrUnterminatedQuote)
}

// rawParam is one auth-param as read from the wire.
type rawParam struct {
	name     string
	nameOff  int
	value    string
	valueOff int
	quoted   bool
}

// readParam reads auth-param = auth-param-name EQUAL ( token / quoted-string ).
// A quoted parameter name, as in an example of RFC 8898 §3
// (`"authz_server"="..."`), is accepted when its content is a token.
func readParam(s string, i int) (rawParam, int, *ParseError) {
	p := rawParam{nameOff: i}
	end := scanToken(s, i)
	if end == i {
		if i < len(s) && s[i] == '"' {
			end = scanToken(s, i+1)
			if end == i+1 || end >= len(s) || s[end] != '"' {
				return p, i, errSyntax(i, "", "bad quoted parameter name")
			}
			p.name = s[i+1 : end]
			end++
		} else {
			if i < len(s) && isCTL(s[i]) {
				return p, i, errAt(i, ErrControlChar)
			}
			return p, i, errSyntax(i, "", "expected parameter name")
		}
	} else {
		p.name = s[i:end]
	}
	j, perr := skipLWS(s, end)
	if perr != nil {
		perr.Param = p.name
		return p, j, perr
	}
	if j >= len(s) || s[j] != '=' {
		return p, j, errSyntax(j, p.name, "expected '='")
	}
	if j, perr = skipLWS(s, j+1); perr != nil {
		perr.Param = p.name
		return p, j, perr
	}
	p.valueOff = j
	if j < len(s) && s[j] == '"' {
		v, next, perr := quoted(s, j)
		if perr != nil {
			perr.Param = p.name
			return p, next, perr
		}
		p.value, p.quoted = v, true
		return p, next, nil
	}
	vend := scanToken(s, j)
	if vend == j {
		if j < len(s) && isCTL(s[j]) {
			return p, j, errParam(j, p.name, ErrControlChar)
		}
		return p, j, errSyntax(j, p.name, "missing value")
	}
	p.value = s[j:vend]
	return p, vend, nil
}

// afterParam handles what may follow an auth-param: the end of the value,
// or COMMA and another element. It returns the start of the next element
// and whether there is one.
func afterParam(s string, i int) (int, bool, *ParseError) {
	i, perr := skipLWS(s, i)
	if perr != nil || i == len(s) {
		return i, false, perr
	}
	if s[i] != ',' {
		if isCTL(s[i]) {
			return i, false, errAt(i, ErrControlChar)
		}
		return i, false, errAt(i, ErrTrailingGarbage)
	}
	if i, perr = skipLWS(s, i+1); perr != nil {
		return i, false, perr
	}
	if i == len(s) {
		return i, false, errSyntax(i, "", "expected parameter after ','")
	}
	return i, true, nil
}

// readScheme checks the length limit, skips leading white space and reads
// the auth-scheme. It returns the offset after the LWS that follows the
// scheme and whether any parameters follow.
func readScheme(s string, max int) (int, bool, *ParseError) {
	if len(s) > max {
		return 0, false, &ParseError{Offset: max, Err: ErrTooLong}
	}
	i, perr := skipLWS(s, 0)
	if perr != nil {
		return i, false, perr
	}
	if i == len(s) {
		return i, false, errAt(i, ErrEmpty)
	}
	end := scanToken(s, i)
	if end == i {
		if isCTL(s[i]) {
			return i, false, errAt(i, ErrControlChar)
		}
		return i, false, errSyntax(i, "", "expected auth-scheme")
	}
	if !strings.EqualFold(s[i:end], Scheme) {
		return i, false, errAt(i, ErrNotBearer)
	}
	j, perr := skipLWS(s, end)
	if perr != nil {
		return j, false, perr
	}
	if j == len(s) {
		return j, false, nil
	}
	if j == end {
		return j, false, errSyntax(j, "", "expected white space after the scheme")
	}
	return j, true, nil
}

// appendQuoted appends v as a quoted-string, escaping DQUOTE and backslash.
// Control characters cannot be written in a header at all; each becomes a
// space, so the output never splits a header line (see Validate).
func appendQuoted(dst []byte, v string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := span(&qdSafe, v, 0); i < len(v); i++ {
		c := v[i]
		if qdSafe[c] != 0 || c >= utf8.RuneSelf {
			continue
		}
		dst = append(dst, v[start:i]...)
		if c == '"' || c == '\\' {
			dst = append(dst, '\\', c)
		} else {
			dst = append(dst, ' ')
		}
		start = i + 1
	}
	dst = append(dst, v[start:]...)
	return append(dst, '"')
}

// appendBare appends v unquoted, with control characters made spaces.
func appendBare(dst []byte, v string) []byte {
	start := 0
	for i := 0; i < len(v); i++ {
		if isCTL(v[i]) {
			dst = append(dst, v[start:i]...)
			dst = append(dst, ' ')
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}

// appendParam appends `, name="value"` (or `name="value"` at the start).
func appendParam(dst []byte, first bool, name, value string, quote bool) []byte {
	if !first {
		dst = append(dst, ',', ' ')
	}
	dst = appendBare(dst, name)
	dst = append(dst, '=')
	if quote || !isToken(value) {
		return appendQuoted(dst, value)
	}
	return append(dst, value...)
}

func isToken(v string) bool { return v != "" && scanToken(v, 0) == len(v) }

// checkValue reports why v cannot be written as a quoted-string value.
func checkValue(v string) error {
	for i := 0; i < len(v); i++ {
		if isCTL(v[i]) {
			return ErrControlChar
		}
	}
	if !utf8.ValidString(v) {
		return ErrInvalidUTF8
	}
	return nil
}
