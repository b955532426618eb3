package sipoauth

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
)

// TestIdentitiesShareLists: two tokens with the same aud and scope give
// identities holding one copy of each list and the configured issuer's
// string; a token with other scopes gets its own list, with its values.
func TestIdentitiesShareLists(t *testing.T) {
	// Room for both tokens whichever of the cache's 16 shards they fall
	// in (with 16, one entry a shard, two in one shard evicted each other
	// once in 16 runs).
	v := newValidator(t, func(c *Config) { c.CacheSize = 1024 })
	tokens := map[string]string{}
	validate := func(jti, scope string) Identity {
		t.Helper()
		c := claims()
		c["jti"], c["scope"] = jti, scope
		c["aud"] = []string{"sip", "other"}
		tokens[jti] = sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1"}, c)
		id, err := v.Validate(context.Background(), tokens[jti])
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a, b := validate("a", "sip:register openid"), validate("b", "sip:register openid")
	if !slices.Equal(a.Scopes, []string{"sip:register", "openid"}) || !slices.Equal(a.Audience, []string{"sip", "other"}) {
		t.Fatalf("scopes %q audience %q", a.Scopes, a.Audience)
	}
	if unsafe.SliceData(a.Scopes) != unsafe.SliceData(b.Scopes) || unsafe.SliceData(a.Audience) != unsafe.SliceData(b.Audience) {
		t.Error("two tokens with the same scope and aud hold two copies of them")
	}
	if unsafe.StringData(a.Issuer) != unsafe.StringData(v.cfg.Issuers[0]) {
		t.Error("the issuer is not the configured string")
	}
	// The cache holds the key id once for both.
	kid := func(jti string) string {
		t.Helper()
		e := v.cache.get(tokens[jti], testNow)
		if e == nil || e.keys.kid != "k1" {
			t.Fatalf("token %s: cache entry %+v, want one for key k1", jti, e)
		}
		return e.keys.kid
	}
	if ka, kb := kid("a"), kid("b"); unsafe.StringData(ka) != unsafe.StringData(kb) {
		t.Error("two cached tokens hold two copies of their key id")
	}
	c := validate("c", "sip:register")
	if !slices.Equal(c.Scopes, []string{"sip:register"}) || unsafe.SliceData(c.Scopes) == unsafe.SliceData(a.Scopes) {
		t.Errorf("other scopes: %q", c.Scopes)
	}
	if !slices.Equal(a.Scopes, []string{"sip:register", "openid"}) {
		t.Errorf("the first identity's scopes changed: %q", a.Scopes)
	}
}

// TestSharedListsBounded: past maxSharedLists distinct lists, a list is
// returned as it is and nothing more is kept.
func TestSharedListsBounded(t *testing.T) {
	var s sharedLists
	for i := range maxSharedLists + 10 {
		l := []string{fmt.Sprint("scope-", i)}
		if got := s.get("scope", l); !slices.Equal(got, l) {
			t.Fatalf("list %d: got %q", i, got)
		}
	}
	if len(s.m) != maxSharedLists {
		t.Fatalf("%d lists kept, bound %d", len(s.m), maxSharedLists)
	}
	l := []string{"scope-0"}
	if got := s.get("scope", l); unsafe.SliceData(got) == unsafe.SliceData(l) {
		t.Error("a kept list was not shared")
	}
	if got := s.get("aud", l); unsafe.SliceData(got) != unsafe.SliceData(l) {
		t.Error("a list of another claim was shared with scope's")
	}
}
