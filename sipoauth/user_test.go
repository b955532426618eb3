package sipoauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestUserKeyAgreesWithEqualFold checks every rune: its key is a member of
// its case-folding orbit, and every member of the orbit has the same key,
// so that two names have one key exactly when strings.EqualFold says they
// are equal.
func TestUserKeyAgreesWithEqualFold(t *testing.T) {
	t.Parallel()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		k := UserKey(string(r))
		if !strings.EqualFold(k, string(r)) {
			t.Fatalf("UserKey(%U) = %q, not in its orbit", r, k)
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if kf := UserKey(string(f)); kf != k {
				t.Fatalf("UserKey(%U) = %q but UserKey(%U) = %q: one orbit, two keys", r, k, f, kf)
			}
		}
	}
}

// TestUserKey is not parallel: AllocsPerRun counts the whole process's
// allocations.
func TestUserKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"bob", "bob"}, {"BOB", "bob"}, {"Bob", "bob"}, {"bob ", "bob "},
		{"bob@Example.COM", "bob@example.com"},
		{"\u212Aelvin", "kelvin"},                    // KELVIN SIGN folds with k
		{"STRASSE", "strasse"}, {"Straße", "straße"}, // ß has no simple fold to "ss"
		{"ΣΑΣ", UserKey("σας")}, {"\xffbob", "\uFFFDbob"}, {"", ""},
	} {
		if got := UserKey(c.in); got != c.want {
			t.Errorf("UserKey(%q) = %q, want %q", c.in, got, c.want)
		}
		if !SameUser(c.in, c.want) {
			t.Errorf("SameUser(%q, %q) = false", c.in, c.want)
		}
	}
	if SameUser("bob", "bob ") || SameUser("bob", "rob") || SameUser("bob", "bob@example.com") {
		t.Error("SameUser matched different users")
	}
	if n := testing.AllocsPerRun(100, func() { _ = UserKey("rado") }); n != 0 {
		t.Errorf("UserKey of a canonical name allocates %v times", n)
	}
}

func FuzzUserKey(f *testing.F) {
	for _, s := range [][2]string{{"bob", "BOB"}, {"\u212A", "k"}, {"ß", "SS"}, {"\xff", "\xfe"}, {"σ", "ς"}, {"İ", "i"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if same, keys := SameUser(a, b), UserKey(a) == UserKey(b); same != keys {
			t.Fatalf("SameUser(%q, %q) = %v but keys %q and %q", a, b, same, UserKey(a), UserKey(b))
		}
		if UserKey(UserKey(a)) != UserKey(a) {
			t.Fatalf("UserKey not idempotent on %q", a)
		}
	})
}

// TestRevokeUserByRule: revoking "bob" revokes the tokens whose sub is
// "BOB", and the other way round, through the validator.
func TestRevokeUserByRule(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ revoke, sub string }{{"bob", "BOB"}, {"BOB", "bob"}, {"Kelvin", "\u212Aelvin"}} {
		rev := &MemoryRevocation{}
		v := newValidator(t, func(cfg *Config) { cfg.Revocation = rev })
		cl := claims()
		cl["sub"] = c.sub
		tok := rs256(t, cl)
		if id, err := v.Validate(context.Background(), tok); err != nil || id.User != c.sub {
			t.Fatalf("%s before revocation: %+v, %v", c.sub, id, err)
		}
		rev.RevokeUser(c.revoke, testNow)
		if _, err := v.Validate(context.Background(), tok); !errors.Is(err, ErrRevoked) {
			t.Errorf("RevokeUser(%q) then a token of %q: %v, want ErrRevoked", c.revoke, c.sub, err)
		}
	}
}
