package sipoauth

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

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

// FuzzEachMember checks the member scanner against encoding/json: what it
// accepts is a JSON object whose members, decoded by encoding/json, are
// the ones it reported, each once; and it refuses duplicates.
func FuzzEachMember(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : 1 , "b" : [1, {"c": "}"}], "d": {"e": null} } `,
		`{"exp":1,"exp":2}`, `{"exp":1,"\u0065xp":2}`, `{"EXP":1,"exp":2}`,
		`{"a":"\"}\\"}`, `{"a":true,"b":false,"c":-1.5e3}`, "{\"a\":\"\xff\"}",
		`{"\ud800":1,"\udc00":2}`, `[1]`, `"s"`, `{"a":1}{}`, ``, `{"a":`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[string]string{}
		err := eachMember(b, func(name, value []byte) error {
			if _, dup := got[string(name)]; dup {
				t.Fatalf("%q reported twice", name)
			}
			got[string(name)] = string(value)
			return nil
		})
		var want map[string]json.RawMessage
		werr := json.Unmarshal(b, &want)
		if err != nil {
			if werr == nil && utf8.Valid(b) && !errors.Is(err, errDuplicate) && want != nil {
				t.Fatalf("refused %q: %v; encoding/json reads it", b, err)
			}
			return
		}
		if werr != nil || len(want) != len(got) {
			t.Fatalf("accepted %q as %v; encoding/json: %v, %v", b, got, want, werr)
		}
		for k, v := range want {
			if got[k] != string(v) {
				t.Fatalf("%q: member %q is %q, encoding/json says %q", b, k, got[k], v)
			}
		}
	})
}
