package sipoauth

import (
	"bytes"
	"testing"
)

// TestSymmetricKeyLookup: the key named; with no name, the only key; a
// lone key given without a kid for every name; nothing else.
func TestSymmetricKeyLookup(t *testing.T) {
	a, b := bytes.Repeat([]byte{'a'}, 32), bytes.Repeat([]byte{'b'}, 32)
	for _, tc := range []struct {
		name string
		keys map[string][]byte
		kid  string
		want []byte
	}{
		{"named", map[string][]byte{"k1": a, "k2": b}, "k2", b},
		{"unknown among several", map[string][]byte{"k1": a, "k2": b}, "k3", nil},
		{"no kid, one key", map[string][]byte{"k1": a}, "", a},
		{"no kid, two keys", map[string][]byte{"k1": a, "k2": b}, "", nil},
		{"another kid, one named key", map[string][]byte{"k1": a}, "k9", nil},
		{"any kid, a lone key without kid", map[string][]byte{"": a}, "78a4f044-f810-469c-bf89-72b39129813b", a},
		{"no kid, a lone key without kid", map[string][]byte{"": a}, "", a},
		{"another kid, a key without kid among others", map[string][]byte{"": a, "k2": b}, "k9", nil},
		{"no kid, a key without kid among others", map[string][]byte{"": a, "k2": b}, "", a},
	} {
		s, err := NewSymmetricKeys(tc.keys)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := s.key(tc.kid)
		if !bytes.Equal(got, tc.want) || ok != (tc.want != nil) {
			t.Errorf("%s: key(%q) = %q, %v; want %q", tc.name, tc.kid, got, ok, tc.want)
		}
	}
}
