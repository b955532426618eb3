package sipoauth

import (
	"context"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzValidate checks that no token makes Validate panic, that every
// refusal is one of the package's reasons, and that whatever passes names
// its expiry.
func FuzzValidate(f *testing.F) {
	testKeys(f)
	f.Add(rs256(f, claims()))
	f.Add(cucm(f, seal(f, encKey, "enc1", claims())))
	f.Add(sign(f, jwt.SigningMethodES256, ecKey256, map[string]any{"kid": "ec256"}, claims()))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	v := newValidator(f, func(c *Config) { c.CacheSize = 16 })
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Validate(context.Background(), token)
		if err != nil {
			if ErrorCode(err) == "" {
				t.Fatalf("refusal %v has no RFC 6750 code", err)
			}
			return
		}
		if id.Expiry.IsZero() || id.User == "" {
			t.Fatalf("accepted %q as %+v", token, id)
		}
	})
}
