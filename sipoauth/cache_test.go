package sipoauth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sipoauth/sdk/bearer"
)

// mapKeys is a KeySource that cannot tell when its keys change: it is not
// Generational.
type mapKeys struct {
	mu      sync.Mutex
	m       map[string]crypto.PublicKey
	lookups atomic.Int64
}

func newMapKeys(m map[string]crypto.PublicKey) *mapKeys { return &mapKeys{m: m} }

func (k *mapKeys) VerificationKey(_ context.Context, kid, _ string) (crypto.PublicKey, error) {
	k.lookups.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.m[kid]; ok {
		return key, nil
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// set puts key under kid; nil removes it.
func (k *mapKeys) set(kid string, key crypto.PublicKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key == nil {
		delete(k.m, kid)
	} else {
		k.m[kid] = key
	}
}

// reason returns the sentinel err wraps, nil for nil.
func reason(err error) error {
	for _, r := range append(tokenErrors, ErrInsufficientScope, ErrTooLarge, ErrUnavailable) {
		if errors.Is(err, r) {
			return r
		}
	}
	return err
}

// cacheSources are the keys of one cache test, each of which can change.
type cacheSources struct {
	static    *StaticKeys
	plain     *mapKeys
	dec, hmac *SymmetricKeys
}

func newCacheSources(t testing.TB) *cacheSources {
	static, err := NewStaticKeys(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey, cucmKID: &rsaKey.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	dec, _ := NewSymmetricKeys(map[string][]byte{"enc1": encKey})
	hmac, _ := NewSymmetricKeys(map[string][]byte{"lab": labSecret})
	return &cacheSources{
		static: static,
		plain:  newMapKeys(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey, cucmKID: &rsaKey.PublicKey}),
		dec:    dec, hmac: hmac,
	}
}

// validators returns two validators over s: one that caches, one that
// does not, both at *now.
func (s *cacheSources) validators(t testing.TB, plain bool, now *time.Time, mod func(*Config)) (cached, cold *Validator) {
	for i, size := range []int{64, -1} {
		v := newValidator(t, func(c *Config) {
			c.Keys, c.DecryptionKeys, c.HMAC, c.CacheSize = s.static, s.dec, s.hmac, size
			if plain {
				c.Keys = s.plain
			}
			c.Now = func() time.Time { return *now }
			if mod != nil {
				mod(c)
			}
		})
		if i == 0 {
			cached = v
		} else {
			cold = v
		}
	}
	return cached, cold
}

var (
	labSecret   = []byte("a-lab-secret-of-32-bytes-or-more!")
	otherSecret = []byte("another-secret-of-32-bytes-or-more")
)

// TestCacheDiesWithKey: a token served from the cache is refused as soon
// as the key that verified or decrypted it is gone, exactly as it would be
// without the cache.
func TestCacheDiesWithKey(t *testing.T) {
	t.Parallel()
	testKeys(t)
	hs256 := sign(t, jwt.SigningMethodHS256, labSecret, map[string]any{"kid": "lab"}, claims())
	nested := cucm(t, seal(t, encKey, "enc1", claims()))
	cases := []struct {
		name   string
		plain  bool // Keys is a source that is not Generational
		token  string
		change func(t *testing.T, s *cacheSources)
		err    error
	}{
		{"StaticKeys.Set without the key", false, rs256(t, claims()), func(t *testing.T, s *cacheSources) {
			mustNil(t, s.static.Set(map[string]crypto.PublicKey{"k2": &rsaKey2.PublicKey}))
		}, ErrUnknownKey},
		{"StaticKeys.Set with another key under its kid", false, rs256(t, claims()), func(t *testing.T, s *cacheSources) {
			mustNil(t, s.static.Set(map[string]crypto.PublicKey{"k1": &rsaKey2.PublicKey}))
		}, ErrBadSignature},
		{"StaticKeys.Set without the nested token's signing key", false, nested, func(t *testing.T, s *cacheSources) {
			mustNil(t, s.static.Set(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey}))
		}, ErrUnknownKey},
		{"SymmetricKeys.Set without the decryption key", false, nested, func(t *testing.T, s *cacheSources) {
			mustNil(t, s.dec.Set(map[string][]byte{"enc2": encKey}))
		}, ErrDecrypt},
		{"SymmetricKeys.Set with another decryption key under its kid", false, nested, func(t *testing.T, s *cacheSources) {
			mustNil(t, s.dec.Set(map[string][]byte{"enc1": otherSecret}))
		}, ErrDecrypt},
		{"HMAC secret removed", false, hs256, func(t *testing.T, s *cacheSources) {
			mustNil(t, s.hmac.Set(map[string][]byte{"other": otherSecret}))
		}, ErrUnknownKey},
		{"HMAC key id now a public key's", false, hs256, func(t *testing.T, s *cacheSources) {
			mustNil(t, s.static.Set(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey, "lab": &rsaKey2.PublicKey}))
		}, ErrAlgorithm},
		{"source without generations: key removed", true, rs256(t, claims()), func(_ *testing.T, s *cacheSources) {
			s.plain.set("k1", nil)
		}, ErrUnknownKey},
		{"source without generations: another key under its kid", true, rs256(t, claims()), func(_ *testing.T, s *cacheSources) {
			s.plain.set("k1", &rsaKey2.PublicKey)
		}, ErrBadSignature},
		{"source without generations: HMAC key id now a public key's", true, hs256, func(_ *testing.T, s *cacheSources) {
			s.plain.set("lab", &rsaKey2.PublicKey)
		}, ErrAlgorithm},
		{"source without generations: decryption key removed", true, nested, func(t *testing.T, s *cacheSources) {
			mustNil(t, s.dec.Set(map[string][]byte{"enc2": encKey}))
		}, ErrDecrypt},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newCacheSources(t)
			now := testNow
			cached, cold := s.validators(t, tc.plain, &now, nil)
			for range 2 {
				if _, err := cached.Validate(ctx, tc.token); err != nil {
					t.Fatal(err)
				}
			}
			if n := cached.cache.len(); n != 1 {
				t.Fatalf("cache holds %d", n)
			}
			tc.change(t, s)
			_, err := cached.Validate(ctx, tc.token)
			if !errors.Is(err, tc.err) {
				t.Fatalf("after the change: %v, want %v", err, tc.err)
			}
			if _, coldErr := cold.Validate(ctx, tc.token); reason(coldErr) != reason(err) {
				t.Fatalf("cached %v, uncached %v", err, coldErr)
			}
		})
	}
}

// TestCacheHitDoesNotLookUp: a source that numbers its key sets is not
// asked on a cache hit; one that does not is asked every time.
func TestCacheHitDoesNotLookUp(t *testing.T) {
	t.Parallel()
	testKeys(t)
	s := newCacheSources(t)
	now := testNow
	tok := rs256(t, claims())
	cached, _ := s.validators(t, true, &now, nil)
	for range 3 {
		if _, err := cached.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.plain.lookups.Load(); n != 3 {
		t.Fatalf("source without generations asked %d times in 3 validations, want 3", n)
	}
	var _ Generational = s.static
	var _ Generational = s.dec
}

// TestCacheFailuresAndNewKeys: a token refused for a key that is missing
// passes as soon as the key comes, from a source that numbers its key
// sets; from one that does not, after Config.FailureTTL at the latest.
func TestCacheFailuresAndNewKeys(t *testing.T) {
	t.Parallel()
	testKeys(t)
	ctx := context.Background()
	k2 := sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "k2"}, claims())
	enc2 := cucm(t, seal(t, otherSecret[:32], "enc2", claims()))

	s := newCacheSources(t)
	now := testNow
	cached, _ := s.validators(t, false, &now, nil)
	if _, err := cached.Validate(ctx, k2); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before the key: %v", err)
	}
	if _, err := cached.Validate(ctx, enc2); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("before the decryption key: %v", err)
	}
	mustNil(t, s.static.Set(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey, cucmKID: &rsaKey.PublicKey, "k2": &rsaKey2.PublicKey}))
	mustNil(t, s.dec.Set(map[string][]byte{"enc1": encKey, "enc2": otherSecret[:32]}))
	if _, err := cached.Validate(ctx, k2); err != nil {
		t.Fatalf("once the key is there: %v", err)
	}
	if _, err := cached.Validate(ctx, enc2); err != nil {
		t.Fatalf("once the decryption key is there: %v", err)
	}

	cached, _ = s.validators(t, true, &now, nil)
	if _, err := cached.Validate(ctx, k2); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before the key: %v", err)
	}
	s.plain.set("k2", &rsaKey2.PublicKey)
	if _, err := cached.Validate(ctx, k2); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("within FailureTTL: %v, want the remembered refusal", err)
	}
	now = now.Add(DefaultFailureTTL)
	if _, err := cached.Validate(ctx, k2); err != nil {
		t.Fatalf("after FailureTTL: %v", err)
	}
}

// TestCacheHonoursEveryTime: whatever the clock says, a token in the cache
// gets the answer it would get without the cache: the outer and the inner
// exp of a nested token, nbf and iat (the clock can be set back).
func TestCacheHonoursEveryTime(t *testing.T) {
	t.Parallel()
	testKeys(t)
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	outer := func(c jwt.MapClaims) string {
		c[ClaimPrivate] = seal(t, encKey, "enc1", claims())
		return sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": cucmKID, "typ": "JWT"}, c)
	}
	inner := func(mod func(jwt.MapClaims)) string {
		c := claims()
		mod(c)
		return cucm(t, seal(t, encKey, "enc1", c))
	}
	tokens := map[string]string{
		"plain":                    rs256(t, claims()),
		"plain, nbf now":           rs256(t, func() jwt.MapClaims { c := claims(); c["nbf"] = at(0); return c }()),
		"nested":                   cucm(t, seal(t, encKey, "enc1", claims())),
		"nested, outer exp sooner": outer(jwt.MapClaims{"exp": at(2 * time.Minute)}),
		"nested, outer nbf now":    outer(jwt.MapClaims{"nbf": at(0)}),
		"nested, outer iat later":  outer(jwt.MapClaims{"iat": at(20 * time.Second)}),
		"nested, inner nbf now":    inner(func(c jwt.MapClaims) { c["nbf"] = at(0) }),
		"nested, inner exp sooner": inner(func(c jwt.MapClaims) { c["exp"] = at(3 * time.Minute) }),
	}
	offsets := []time.Duration{-10 * time.Minute, -time.Minute, -31 * time.Second, -29 * time.Second, 0,
		2*time.Minute - time.Second, 2 * time.Minute, 2*time.Minute + 31*time.Second, 3*time.Minute + 29*time.Second,
		3*time.Minute + 31*time.Second, time.Hour, time.Hour + 29*time.Second, time.Hour + 31*time.Second, 2 * time.Hour}
	ctx := context.Background()
	for name, tok := range tokens {
		for _, off := range offsets {
			s := newCacheSources(t)
			now := testNow
			cached, cold := s.validators(t, false, &now, nil)
			if _, err := cached.Validate(ctx, tok); err != nil {
				t.Fatalf("%s at the start: %v", name, err)
			}
			now = testNow.Add(off)
			_, err := cached.Validate(ctx, tok)
			_, coldErr := cold.Validate(ctx, tok)
			if reason(err) != reason(coldErr) {
				t.Errorf("%s at %v: cached %v, uncached %v", name, off, err, coldErr)
			}
		}
	}
}

// TestIdentityExpiry: a nested token's Expiry is the sooner of its exps.
func TestIdentityExpiry(t *testing.T) {
	t.Parallel()
	testKeys(t)
	jwe := seal(t, encKey, "enc1", claims())
	outerExp := testNow.Add(10 * time.Minute)
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": cucmKID, "typ": "JWT"}, jwt.MapClaims{ClaimPrivate: jwe, "exp": outerExp.Unix()})
	id, err := newValidator(t, nil).Validate(context.Background(), tok)
	if err != nil || !id.Expiry.Equal(outerExp) {
		t.Fatalf("expiry %v, %v; want %v", id.Expiry, err, outerExp)
	}
}

// TestMaxLifetime: Config.MaxLifetime refuses tokens meant to live too
// long, whether they say when they were issued or not.
func TestMaxLifetime(t *testing.T) {
	t.Parallel()
	testKeys(t)
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	y2100 := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := claims()
		mod(c)
		return c
	}
	outer := func(c jwt.MapClaims) string {
		c[ClaimPrivate] = seal(t, encKey, "enc1", claims())
		return sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": cucmKID, "typ": "JWT"}, c)
	}
	cases := []struct {
		name  string
		max   time.Duration
		token string
		err   error
	}{
		{"61 minutes, limit 2 hours", 2 * time.Hour, rs256(t, claims()), nil},
		{"exactly the limit", 2 * time.Hour, rs256(t, with(func(c jwt.MapClaims) { c["exp"] = at(2*time.Hour - time.Minute) })), nil},
		{"a second over the limit", 2 * time.Hour, rs256(t, with(func(c jwt.MapClaims) { c["exp"] = at(2*time.Hour - time.Minute + time.Second) })), ErrLifetime},
		{"3 hours", 2 * time.Hour, rs256(t, with(func(c jwt.MapClaims) { c["exp"] = at(3 * time.Hour) })), ErrLifetime},
		{"issued 5 hours ago, 1 hour left", 2 * time.Hour, rs256(t, with(func(c jwt.MapClaims) { c["iat"] = at(-5 * time.Hour) })), ErrLifetime},
		{"exp in 2100", 2 * time.Hour, rs256(t, with(func(c jwt.MapClaims) { c["exp"] = y2100 })), ErrLifetime},
		{"exp in 2100, no iat", 2 * time.Hour, rs256(t, with(func(c jwt.MapClaims) { c["exp"] = y2100; delete(c, "iat") })), ErrLifetime},
		{"no iat, 2 hours left", 2 * time.Hour, rs256(t, with(func(c jwt.MapClaims) { c["exp"] = at(2 * time.Hour); delete(c, "iat") })), nil},
		{"no iat, 3 hours left", 2 * time.Hour, rs256(t, with(func(c jwt.MapClaims) { c["exp"] = at(3 * time.Hour); delete(c, "iat") })), ErrLifetime},
		{"nested, inner exp in 2100", 2 * time.Hour, cucm(t, seal(t, encKey, "enc1", with(func(c jwt.MapClaims) { c["exp"] = y2100 }))), ErrLifetime},
		{"nested, outer exp in 2100", 2 * time.Hour, outer(jwt.MapClaims{"exp": y2100}), ErrLifetime},
		{"nested, outer within", 2 * time.Hour, outer(jwt.MapClaims{"exp": at(time.Hour), "iat": at(0)}), nil},
		{"no limit, exp in 2100", 0, rs256(t, with(func(c jwt.MapClaims) { c["exp"] = y2100 })), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, func(c *Config) { c.MaxLifetime = tc.max })
			_, err := v.Validate(context.Background(), tc.token)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				if reason(err) != tc.err || ErrorCode(err) != bearer.InvalidToken {
					t.Fatalf("error %v: reason %v, code %q", err, reason(err), ErrorCode(err))
				}
			}
		})
	}
}

// TestCacheHitAllocations: a cache hit with StaticKeys and a
// MemoryRevocation allocates nothing. Not parallel: AllocsPerRun counts
// the whole process's allocations.
func TestCacheHitAllocations(t *testing.T) {
	testKeys(t)
	v := newValidator(t, func(c *Config) { c.CacheSize = 0; c.Revocation = &MemoryRevocation{}; c.MaxLifetime = 2 * time.Hour })
	ctx := context.Background()
	for _, tok := range []string{rs256(t, claims()), cucm(t, seal(t, encKey, "enc1", claims()))} {
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(200, func() { v.Validate(ctx, tok) }); n != 0 {
			t.Fatalf("a cache hit allocates %v times", n)
		}
	}
}

// TestCacheKeyRemovalConcurrent: once StaticKeys.Set returns without the
// key, no validation that starts later passes, however many were running.
func TestCacheKeyRemovalConcurrent(t *testing.T) {
	t.Parallel()
	testKeys(t)
	s := newCacheSources(t)
	now := testNow
	cached, _ := s.validators(t, false, &now, nil)
	tok := rs256(t, claims())
	ctx := context.Background()
	stop := make(chan struct{})
	var wg, running sync.WaitGroup
	running.Add(4)
	for range 4 {
		wg.Go(func() {
			for first := true; ; first = false {
				select {
				case <-stop:
					return
				default:
					cached.Validate(ctx, tok)
				}
				if first {
					running.Done()
				}
			}
		})
	}
	running.Wait() // every goroutine is validating
	mustNil(t, s.static.Set(map[string]crypto.PublicKey{"k2": &rsaKey2.PublicKey}))
	for i := range 200 {
		if _, err := cached.Validate(ctx, tok); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("validation %d after the key went: %v", i, err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCacheKeepsNoToken: a cached validation holds the token's digest,
// not the token: the heap grows by less than a token per entry. Not
// parallel: it reads the process's heap.
func TestCacheKeepsNoToken(t *testing.T) {
	testKeys(t)
	v := newValidator(t, func(c *Config) { c.CacheSize = 4096; c.MaxLifetime = 2 * time.Hour })
	const n = 2000
	toks := make([]string, n)
	for i := range toks {
		c := claims()
		c["jti"] = fmt.Sprintf("token-%d", i)
		// Unified CM's outer claims carry more than the JWE; none of it is
		// the identity's.
		toks[i] = sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": cucmKID, "typ": "JWT"},
			jwt.MapClaims{"private": seal(t, encKey, "enc1", c), "pad": strings.Repeat("x", 1000)})
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for _, tok := range toks {
		// A copy, as a request's header is: the cache alone may keep it.
		if _, err := v.Validate(context.Background(), strings.Clone(tok)); err != nil {
			t.Fatal(err)
		}
	}
	per := (int64(heap()) - int64(before)) / n
	runtime.KeepAlive(v)
	if per <= 0 || per >= int64(len(toks[0])) {
		t.Fatalf("%d bytes per cached validation of a %d-byte token: the entry keeps the token", per, len(toks[0]))
	}
	t.Logf("%d bytes per cached validation of a %d-byte token", per, len(toks[0]))
	runtime.KeepAlive(toks)
}

// TestDiscardRawClaims: with DiscardRawClaims an identity has its named
// fields and no raw claims, and a cached validation of a nested token
// takes less memory by about the claims' JSON. Not parallel: it reads the
// process's heap.
func TestDiscardRawClaims(t *testing.T) {
	testKeys(t)
	const n = 2000
	// Each validator gets tokens of its own; all of them stay alive until
	// the end (runtime.KeepAlive), or those no longer used would be
	// collected inside a measurement.
	mint := func(prefix string) []string {
		toks := make([]string, n)
		for i := range toks {
			c := claims()
			c["jti"] = fmt.Sprintf("%s-%d", prefix, i)
			toks[i] = sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": cucmKID, "typ": "JWT"}, jwt.MapClaims{"private": seal(t, encKey, "enc1", c)})
		}
		return toks
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	perEntry := func(discard bool, toks []string) (int64, Identity) {
		v := newValidator(t, func(c *Config) { c.CacheSize = 4096; c.MaxLifetime = 2 * time.Hour; c.DiscardRawClaims = discard })
		before := heap()
		var id Identity
		for _, tok := range toks {
			var err error
			// A copy, as a request's header is: the cache alone may keep it.
			if id, err = v.Validate(context.Background(), strings.Clone(tok)); err != nil {
				t.Fatal(err)
			}
		}
		per := (int64(heap()) - int64(before)) / n
		runtime.KeepAlive(v)
		return per, id
	}
	keepToks, discardToks := mint("keep"), mint("discard")
	kept, withRaw := perEntry(false, keepToks)
	dropped, without := perEntry(true, discardToks)
	runtime.KeepAlive(keepToks)
	runtime.KeepAlive(discardToks)
	if len(withRaw.RawClaims) == 0 || len(without.RawClaims) != 0 {
		t.Fatalf("raw claims: %d bytes kept, %d with DiscardRawClaims", len(withRaw.RawClaims), len(without.RawClaims))
	}
	if without.User != "rado" || without.Device != "CSFrado" || !without.Nested || without.TokenID != "discard-1999" {
		t.Fatalf("identity without raw claims: %+v", without)
	}
	if dropped <= 0 || dropped > kept-int64(len(withRaw.RawClaims))/2 {
		t.Fatalf("%d bytes per cached validation with DiscardRawClaims, %d without, raw claims %d bytes", dropped, kept, len(withRaw.RawClaims))
	}
	t.Logf("%d bytes per cached validation, %d with DiscardRawClaims (raw claims %d bytes)", kept, dropped, len(withRaw.RawClaims))
}
