package sipoauth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzValidate checks that no token makes Validate panic, that every
// refusal is one of the package's reasons, and that whatever passes names
// its expiry and is spelled in base64url only.
func FuzzValidate(f *testing.F) {
	testKeys(f)
	f.Add(rs256(f, claims()))
	f.Add(cucm(f, seal(f, encKey, "enc1", claims())))
	f.Add(sign(f, jwt.SigningMethodES256, ecKey256, map[string]any{"kid": "ec256"}, claims()))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	// Names that differ in case only, or are given twice; the JWE's too.
	hdr := `{"alg":"RS256","kid":"k1"}`
	f.Add(signRaw(f, hdr, jsonOf(claims(), `"EXP":1,"Sub":"x"`)))
	f.Add(signRaw(f, hdr, jsonOf(claims(), `"exp":1`)))
	f.Add(signRaw(f, hdr, jsonOf(claims(), `"\u0065xp":1`)))
	f.Add(signRaw(f, `{"alg":"none","kid":"k1","alg":"RS256"}`, jsonOf(claims(), "")))
	f.Add(cucm(f, sealRaw(f, encKey, `{"alg":"dir","enc":"A128CBC-HS256","kid":"enc9","kid":"enc1"}`, jsonOf(claims(), ""))))
	f.Add(cucm(f, sealRaw(f, encKey, `{"alg":"dir","enc":"A128CBC-HS256","kid":"enc1"}`, jsonOf(claims(), `"exp":1`))))
	// Other spellings of the base64url segments.
	good := rs256(f, claims())
	f.Add(good + "\n")
	f.Add(good[:len(good)-20] + "\r\n" + good[len(good)-20:])
	f.Add(withPart(good, 2, nonCanonical(f, part(good, 2))))
	// An aud string with a space, ID-token claims, a nested token whose
	// outer exp has passed, a lifetime past the limit.
	with := func(k string, v any) jwt.MapClaims { c := claims(); c[k] = v; return c }
	f.Add(rs256(f, with("aud", "web sip")))
	f.Add(rs256(f, with("nonce", "n-0S6_WzA2Mj")))
	f.Add(sign(f, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1", "typ": "id+jwt"}, claims()))
	f.Add(sign(f, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": cucmKID, "typ": "JWT"},
		jwt.MapClaims{ClaimPrivate: seal(f, encKey, "enc1", claims()), "exp": testNow.Add(-time.Hour).Unix()}))
	f.Add(rs256(f, with("exp", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix())))
	v := newValidator(f, func(c *Config) { c.CacheSize = 16; c.MaxLifetime = 2 * time.Hour })
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
		// One spelling: nothing but the base64url alphabet and the dots.
		if i := strings.IndexFunc(token, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.')
		}); i >= 0 {
			t.Fatalf("accepted %q with byte %d outside base64url", token, i)
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
