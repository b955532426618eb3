package sipoauth

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rule by which two user names are the same user, stated once and used
// everywhere a user is compared or keyed: the token's user against a
// device's owner, a revocation by user against a token's user, the user
// part of the address of record a REGISTER names against the token's user.
//
// User names are compared under Unicode simple case folding, exactly as
// strings.EqualFold compares them, and under nothing else: no trimming, no
// normalization form, no stripping of a domain. "bob", "BOB" and "Bob" are
// one user; "bob " and "bob@example.com" are others. Unified CM user ids
// are case-insensitive, and so are the users of most identity providers.
// (The user part of a SIP URI is unescaped before it is compared; see the
// registrar's AOR rule.)

// SameUser reports whether a and b name the same user: UserKey(a) ==
// UserKey(b), which is strings.EqualFold(a, b).
func SameUser(a, b string) bool { return strings.EqualFold(a, b) }

// UserKey returns the canonical form of a user name, for maps and stores
// keyed by user: two names are the same user (SameUser) exactly when their
// keys are equal. Each character becomes one fixed member of its simple
// case-folding orbit: the lower-case letter for an orbit that holds an
// ASCII letter ("K", "k" and the Kelvin sign U+212A all become "k"), the
// smallest member for any other. That is what makes the key agree with
// strings.EqualFold. Bytes that are not UTF-8 become U+FFFD, as EqualFold
// reads them. A name already in
// canonical form (lower-case ASCII, say) is returned as is, without
// allocating.
func UserKey(name string) string {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return userKeySlow(name, i)
		}
	}
	return name
}

// userKeySlow folds name from byte i on; name[:i] is canonical already.
func userKeySlow(name string, i int) string {
	var b strings.Builder
	b.Grow(len(name))
	b.WriteString(name[:i])
	for _, r := range name[i:] {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune returns the member of r's simple case-folding orbit that stands
// for the whole orbit: its lower-case ASCII letter if it has one (users
// write names in lower case, and every member maps to it alike), else its
// smallest rune.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	if r == utf8.RuneError {
		return r
	}
	// An orbit that holds an ASCII letter ("k", "K", KELVIN SIGN) maps to
	// that letter in lower case, as above; any other to its smallest rune.
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return foldRune(f)
		}
		least = min(least, f)
	}
	return least
}
