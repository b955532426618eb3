package sipoauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The JOSE serializations are read strictly, so that one token has one
// spelling and one meaning: what the signature covers is what is read.

// strictBase64 decodes base64url without padding and refuses non-zero
// bits after the last byte (RFC 7515 §2, RFC 4648 §3.5).
var strictBase64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes one segment of a compact JWS or JWE. Only the URL
// alphabet is accepted: Go's decoder would skip CR and LF, and every
// segment would have many spellings.
func decodeSegment(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("byte %d is not in the base64url alphabet", i)
		}
	}
	return strictBase64.DecodeString(s)
}

// errDuplicate is wrapped by eachMember for a name given twice.
var errDuplicate = errors.New("member name given twice")

// eachMember calls f with the name and the raw value of each member of the
// JSON object b, in order. Names are matched exactly, as JOSE headers and
// JWT claims are (RFC 7515 §4, RFC 7519 §4): encoding/json would let
// "EXP" or "Sub" stand for "exp" or "sub" and the last of two members of
// one name win. So b must be one JSON object, in UTF-8, whose member
// names, unescaped, are all different; otherwise eachMember refuses it.
func eachMember(b []byte, f func(name, value []byte) error) error {
	if !utf8.Valid(b) {
		return errors.New("not UTF-8")
	}
	if !json.Valid(b) {
		return errors.New("not JSON")
	}
	// b is valid JSON from here on, which keeps the scan below short.
	i := skipSpace(b, 0)
	if b[i] != '{' {
		return errors.New("not a JSON object")
	}
	var seen names
	for i = skipSpace(b, i+1); b[i] != '}'; i = skipSpace(b, i) {
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
		end := stringEnd(b, i)
		name := b[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(b[i:end], &s); err != nil {
				return err
			}
			name = []byte(s)
		}
		if !seen.add(name) {
			return fmt.Errorf("%w: %q", errDuplicate, name)
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		vend := valueEnd(b, i)
		if err := f(name, b[i:vend]); err != nil {
			return err
		}
		i = vend
	}
	return nil
}

// names is the set of the member names of one object: a few in an array,
// a map beyond, so that an object of many members costs linear time.
type names struct {
	few  [16][]byte
	n    int
	many map[string]struct{}
}

// add adds name and reports whether it was new.
func (s *names) add(name []byte) bool {
	if s.many != nil {
		if _, ok := s.many[string(name)]; ok {
			return false
		}
		s.many[string(name)] = struct{}{}
		return true
	}
	for _, m := range s.few[:s.n] {
		if bytes.Equal(m, name) {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = name
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 2*len(s.few))
	for _, m := range s.few {
		s.many[string(m)] = struct{}{}
	}
	s.many[string(name)] = struct{}{}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// valueEnd returns the index after the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// jsonString decodes a JSON string value; null is "".
func jsonString(v []byte) (string, error) {
	switch {
	case string(v) == "null":
		return "", nil
	case v[0] != '"':
		return "", errors.New("not a string")
	case bytes.IndexByte(v, '\\') < 0:
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

// jsonNumber decodes a JSON number value.
func jsonNumber(v []byte) (float64, error) {
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return 0, errors.New("not a number")
	}
	// A valid JSON number is also valid for ParseFloat.
	return strconv.ParseFloat(string(v), 64)
}

// header is the JOSE header of a JWS.
type header struct {
	Alg    string
	Kid    json.RawMessage // raw: a kid that is not a string is refused as unknown
	Typ    string
	HasTyp bool
	// Refused names the first member that would let a token choose its
	// own key, or ask for extensions we do not understand (RFC 8725 §3.10):
	// jku, jwk, x5u, x5c or crit.
	Refused string
}

func decodeHeader(b []byte) (header, error) {
	var h header
	err := eachMember(b, func(name, v []byte) error {
		var err error
		switch string(name) {
		case "alg":
			h.Alg, err = jsonString(v)
		case "kid":
			h.Kid = v
		case "typ":
			if string(v) != "null" {
				h.Typ, err = jsonString(v)
				h.HasTyp = true
			}
		case "jku", "jwk", "x5u", "x5c", "crit":
			if h.Refused == "" {
				h.Refused = string(name)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	return h, err
}

// jweHeader is the protected header of Unified CM's JWE.
type jweHeader struct {
	Alg, Enc, Kid string
	// ZipOrCrit is set when the header asks for compression or names
	// critical extensions, neither of which is accepted.
	ZipOrCrit bool
}

func decodeJWEHeader(b []byte) (jweHeader, error) {
	var h jweHeader
	err := eachMember(b, func(name, v []byte) error {
		var err error
		switch string(name) {
		case "alg":
			h.Alg, err = jsonString(v)
		case "enc":
			h.Enc, err = jsonString(v)
		case "kid":
			h.Kid, err = jsonString(v)
		case "zip", "crit":
			h.ZipOrCrit = true
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	return h, err
}
