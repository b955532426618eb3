package clientlog

import (
	"bytes"
	"unicode/utf8"
)

// minSecret is the shortest run after "Bearer " masked as a token; a
// shorter word is prose ("the bearer token was...").
const minSecret = 8

// redact masks, in place, every bearer token (after "Bearer", "bearer"
// or "BEARER") and every JWT-shaped string of b with '*', so that no
// credential reaches the report whatever header or line it was found in. Challenge parameters (realm="ccmsipline") are
// kept. Masking in place keeps the offsets of the text, which map to
// lines of the log.
func redact(b []byte) {
	for _, pat := range bearerSpellings {
		redactBearer(b, pat)
	}
	redactJWT(b)
}

// The spellings of the scheme searched for; the search for a pattern
// that starts with a rare byte is fast.
var bearerSpellings = [][]byte{[]byte("Bearer"), []byte("bearer"), []byte("BEARER")}

// redactBearer masks the credentials that follow pat, a spelling of
// "Bearer".
func redactBearer(b, pat []byte) {
	for i := 0; i < len(b); {
		j := bytes.Index(b[i:], pat)
		if j < 0 {
			return
		}
		i += j + len(pat)
		k := i
		for k < len(b) && isSpace(b[k]) {
			k++
		}
		if k == i || k == len(b) {
			continue
		}
		i = maskCredential(b, k)
	}
}

// maskCredential masks the credential that starts at b[k], after
// "Bearer ", and returns where the scan resumes.
func maskCredential(b []byte, k int) int {
	n := k
	for n < len(b) && isTokenChar(b[n]) {
		n++
	}
	if n < len(b) && b[n] == '=' && n > k {
		e := n
		for e < len(b) && b[e] == '=' {
			e++
		}
		if e == len(b) || isSpace(b[e]) || b[e] == ',' {
			// token68 with its padding
			if e-k >= minSecret {
				mask(b[k:e])
			}
			return e
		}
		if name := b[k:n]; !(len(name) == 5 && foldEq(name, "token") || len(name) == 12 && foldEq(name, "access_token")) {
			return e // a challenge parameter: realm=, error=, ...
		}
		if b[e] == '"' {
			q := e + 1
			for q < len(b) && b[q] != '"' && b[q] != '\n' {
				if !isSpace(b[q]) {
					b[q] = '*'
				}
				q++
			}
			return q
		}
		q := e
		for q < len(b) && !isSpace(b[q]) && b[q] != ',' && b[q] != ';' {
			b[q] = '*'
			q++
		}
		return q
	}
	e := k
	for e < len(b) && !isSpace(b[e]) && b[e] != ',' {
		e++
	}
	if e-k >= minSecret {
		mask(b[k:e])
	}
	return e
}

// redactJWT masks runs of base64url characters and dots that start with
// "eyJ" (a JSON header, base64url-encoded) and hold a dot.
func redactJWT(b []byte) {
	// Look for the rare 'J', then for the "ey" before it.
	for i := 2; i < len(b); {
		j := bytes.IndexByte(b[i:], 'J')
		if j < 0 {
			return
		}
		j += i
		i = j + 1
		if b[j-2] != 'e' || b[j-1] != 'y' {
			continue
		}
		start := j - 2
		k, dots := start, 0
		for k < len(b) && (isAlnum(b[k]) || b[k] == '-' || b[k] == '_' || b[k] == '.') {
			if b[k] == '.' {
				dots++
			}
			k++
		}
		if k-start >= 20 && dots > 0 {
			mask(b[start:k])
		}
		i = max(i, k)
	}
}

func mask(b []byte) {
	for i := range b {
		b[i] = '*'
	}
}

// cleanString returns b as valid UTF-8 for the report: blanks (spaces,
// tabs, line ends, no-break spaces) collapsed to one space, trimmed,
// invalid bytes replaced by U+FFFD, and cut to at most limit bytes with
// an ellipsis.
func cleanString(b []byte, limit int) string {
	out := make([]byte, 0, min(len(b), limit+8))
	space := false
	for i := 0; i < len(b); {
		c := b[i]
		if isSpace(c) || c == 0xC2 && i+1 < len(b) && b[i+1] == 0xA0 {
			space = true
			if c == 0xC2 {
				i++
			}
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b[i:])
		}
		if space && len(out) > 0 {
			out = append(out, ' ')
		}
		space = false
		if len(out)+utf8.RuneLen(r) > limit {
			out = append(out, "…"...)
			break
		}
		out = utf8.AppendRune(out, r)
		i += size
	}
	return string(out)
}

// interner keeps one copy of the strings a long log repeats (Call-IDs,
// URIs, reasons), so that reading them again allocates nothing.
type interner struct{ m map[string]string }

// maxInterned bounds the strings an interner keeps.
const maxInterned = 4096

// clean returns cleanString(b, limit), from the kept copies when it can.
func (in *interner) clean(b []byte, limit int) string {
	if len(b) <= limit && plain(b) {
		if s, ok := in.m[string(b)]; ok {
			return s
		}
		return in.keep(string(b))
	}
	return in.keep(cleanString(b, limit))
}

// keep returns the kept copy of s, keeping s when there is room.
func (in *interner) keep(s string) string {
	if s == "" {
		return s
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	return s
}

// plain reports whether cleanString would return b unchanged: printable
// ASCII, single spaces inside only.
func plain(b []byte) bool {
	if len(b) > 0 && (b[0] == ' ' || b[len(b)-1] == ' ') {
		return false
	}
	for i, c := range b {
		if c < ' ' || c > '~' || c == ' ' && b[i-1] == ' ' {
			return false
		}
	}
	return true
}
