package sipoauth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwksOf returns a JWKS document publishing the RSA keys, by kid.
func jwksOf(keys map[string]*rsa.PublicKey) []byte {
	type jwk struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Use string `json:"use"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	var set struct {
		Keys []jwk `json:"keys"`
	}
	set.Keys = []jwk{}
	for kid, k := range keys {
		set.Keys = append(set.Keys, jwk{"RSA", kid, "RS256", "sig",
			base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
	}
	b, _ := json.Marshal(set)
	return b
}

// keyServer serves a JWKS that the test changes, and counts fetches. It
// answers in memory, through the client it gives, so that a test can run
// in a synctest bubble, where a refresh interval passes at once; the
// fetch over a real connection is TestIssuerToValidator's.
type keyServer struct {
	mu      sync.Mutex
	doc     []byte
	fetches atomic.Int32
	handler http.Handler
	// URL names the set; no server listens there.
	URL string
}

func newKeyServer(t *testing.T, keys map[string]*rsa.PublicKey) *keyServer {
	ks := &keyServer{doc: jwksOf(keys), URL: "https://idp.example.test/jwks.json"}
	ks.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		defer ks.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(ks.doc)
	})
	return ks
}

// client returns an HTTP client whose requests ks answers.
func (ks *keyServer) client() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.String() != ks.URL {
			return nil, fmt.Errorf("request for %s, not the key server's %s", r.URL, ks.URL)
		}
		if err := r.Context().Err(); err != nil {
			return nil, err
		}
		rec := httptest.NewRecorder()
		ks.handler.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (ks *keyServer) publish(keys map[string]*rsa.PublicKey) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.doc = jwksOf(keys)
}

func TestJWKSDocument(t *testing.T) {
	t.Parallel()
	testKeys(t)
	src, err := NewJWKS(jwksOf(map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey}))
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, func(c *Config) { c.Keys = src })
	ok := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "a"}, claims())
	if _, err := v.Validate(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	// The key is published for RS256: a PS256 token under it is refused.
	ps := sign(t, jwt.SigningMethodPS256, rsaKey, map[string]any{"kid": "a"}, claims())
	if _, err := v.Validate(context.Background(), ps); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("PS256 under an RS256 key: %v", err)
	}
	// No kid: the only key.
	if _, err := v.Validate(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": nil}, claims())); err != nil {
		t.Fatalf("no kid: %v", err)
	}
	small := jwksOf(map[string]*rsa.PublicKey{"s": &rsaSmall.PublicKey})
	if src, err := NewJWKS(small); err == nil {
		if _, err := src.VerificationKey(context.Background(), "s", "RS256"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("RSA-1024 from a JWKS: %v", err)
		}
	}
	if _, err := NewJWKS([]byte("{not json")); err == nil {
		t.Fatal("bad JWKS accepted")
	}
}

// TestJWKSRotation: a key server that rotates its keys while tokens are
// being validated. The test runs in a synctest bubble: each interval
// passes at once, and the refresh due in it has run when the test looks.
func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	testKeys(t)
	synctest.Test(t, func(t *testing.T) {
		ks := newKeyServer(t, map[string]*rsa.PublicKey{"old": &rsaKey.PublicKey})
		const refresh = 100 * time.Millisecond
		src, err := NewJWKSURL(ks.URL, JWKSOptions{
			Client: ks.client(), Timeout: 2 * time.Second, RefreshInterval: refresh,
			UnknownKIDInterval: 50 * time.Millisecond, UnknownKIDWait: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		v := newValidator(t, func(c *Config) { c.Keys = src; c.FailureTTL = -1 })
		ctx := context.Background()
		oldTok := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "old"}, claims())
		newTok := sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "new"}, claims())
		if _, err := v.Validate(ctx, oldTok); err != nil {
			t.Fatalf("old key: %v", err)
		}
		// The server adds a key: a token naming it triggers a fetch.
		ks.publish(map[string]*rsa.PublicKey{"old": &rsaKey.PublicKey, "new": &rsaKey2.PublicKey})
		time.Sleep(60 * time.Millisecond) // past the unknown-kid interval
		if _, err := v.Validate(ctx, newTok); err != nil {
			t.Fatalf("new key after rotation: %v", err)
		}
		// The server retires the old key: once refreshed, its tokens fail.
		ks.publish(map[string]*rsa.PublicKey{"new": &rsaKey2.PublicKey})
		time.Sleep(refresh)
		synctest.Wait()
		if _, err := v.Validate(ctx, oldTok); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("token of the retired key accepted after a refresh: %v", err)
		}
		if _, err := v.Validate(ctx, newTok); err != nil {
			t.Fatalf("new key after the old one retired: %v", err)
		}
	})
}

// TestJWKSUnknownKIDFlood: made-up key ids do not hammer the key server,
// and none of them waits longer than UnknownKIDWait (measured on the
// bubble's clock, which moves only while every goroutine waits).
func TestJWKSUnknownKIDFlood(t *testing.T) {
	t.Parallel()
	testKeys(t)
	synctest.Test(t, func(t *testing.T) {
		ks := newKeyServer(t, map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey})
		const wait = 10 * time.Millisecond
		src, err := NewJWKSURL(ks.URL, JWKSOptions{Client: ks.client(), Timeout: 2 * time.Second, UnknownKIDInterval: time.Hour, UnknownKIDWait: wait})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		v := newValidator(t, func(c *Config) { c.Keys = src })
		start := ks.fetches.Load()
		began := time.Now()
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "random-" + big.NewInt(int64(i)).String()}, claims())
				if _, err := v.Validate(context.Background(), tok); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("made-up kid: %v", err)
				}
			}()
		}
		wg.Wait()
		if n := ks.fetches.Load() - start; n > 1 {
			t.Fatalf("200 made-up key ids caused %d fetches, want at most 1", n)
		}
		if d := time.Since(began); d > wait {
			t.Fatalf("refusing 200 made-up key ids took %v, more than UnknownKIDWait", d)
		}
		if _, err := v.Validate(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "a"}, claims())); err != nil {
			t.Fatalf("real key during the flood: %v", err)
		}
	})
}

// TestJWKSRemovedKeyLeavesCache: once the key server stops publishing a
// key, tokens it verified are refused from the next refresh on, cached or
// not; the others stay.
func TestJWKSRemovedKeyLeavesCache(t *testing.T) {
	t.Parallel()
	testKeys(t)
	synctest.Test(t, func(t *testing.T) {
		ks := newKeyServer(t, map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey, "b": &rsaKey2.PublicKey})
		const refresh = 50 * time.Millisecond
		src, err := NewJWKSURL(ks.URL, JWKSOptions{Client: ks.client(), Timeout: 2 * time.Second, RefreshInterval: refresh})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		v := newValidator(t, func(c *Config) { c.Keys = src; c.CacheSize = 64 })
		ctx := context.Background()
		tokA := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "a"}, claims())
		tokB := sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "b"}, claims())
		for _, tok := range []string{tokA, tokB, tokA, tokB} {
			if _, err := v.Validate(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		ks.publish(map[string]*rsa.PublicKey{"b": &rsaKey2.PublicKey})
		time.Sleep(refresh)
		synctest.Wait()
		if _, err := v.Validate(ctx, tokA); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("token of the removed key accepted after a refresh: %v", err)
		}
		if _, err := v.Validate(ctx, tokB); err != nil {
			t.Fatalf("token of the remaining key: %v", err)
		}
	})
}

// TestJWKSGeneration: refreshing a set that did not change keeps its
// generation, so the cache keeps its entries; a changed set does not.
func TestJWKSGeneration(t *testing.T) {
	t.Parallel()
	testKeys(t)
	synctest.Test(t, func(t *testing.T) {
		ks := newKeyServer(t, map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey})
		const refresh = 20 * time.Millisecond
		src, err := NewJWKSURL(ks.URL, JWKSOptions{Client: ks.client(), Timeout: 2 * time.Second, RefreshInterval: refresh})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		g := src.Generation()
		// refreshes lets n intervals pass and checks that the set was
		// fetched and stored once in each.
		refreshes := func(n int32) {
			t.Helper()
			want := ks.fetches.Load() + n
			time.Sleep(time.Duration(n) * refresh)
			synctest.Wait()
			if got := ks.fetches.Load(); got != want {
				t.Fatalf("%d fetches after %d refresh intervals, want %d", got, n, want)
			}
		}
		refreshes(3)
		if src.Generation() != g {
			t.Fatalf("generation %d after refreshing the same set, was %d", src.Generation(), g)
		}
		ks.publish(map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey, "b": &rsaKey2.PublicKey})
		refreshes(1)
		if src.Generation() == g {
			t.Fatal("generation unchanged after a key was added")
		}
	})
	doc, _ := NewJWKS(jwksOf(map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey}))
	if g := doc.Generation(); g != doc.Generation() {
		t.Fatal("the generation of a document changes")
	}
}

// TestJWKSUnreachable: with the key server unreachable, a token whose key
// the last good set lacks cannot be checked (ErrUnavailable), which is not
// remembered; tokens already in the cache keep passing.
func TestJWKSUnreachable(t *testing.T) {
	t.Parallel()
	testKeys(t)
	synctest.Test(t, func(t *testing.T) {
		var down atomic.Bool
		down.Store(true)
		ks := newKeyServer(t, map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey})
		inner := ks.handler
		ks.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return
			}
			inner.ServeHTTP(w, r)
		})
		var failures atomic.Int32
		const refresh = 30 * time.Millisecond
		src, err := NewJWKSURL(ks.URL, JWKSOptions{
			Client: ks.client(), Timeout: 2 * time.Second, RefreshInterval: refresh,
			UnknownKIDInterval: 10 * time.Millisecond, UnknownKIDWait: time.Second,
			OnError: func(error) { failures.Add(1) },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		v := newValidator(t, func(c *Config) { c.Keys = src; c.CacheSize = 64 })
		ctx := context.Background()
		tok := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "a"}, claims())
		_, err = v.Validate(ctx, tok)
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrUnknownKey) || ErrorCode(err) != "" {
			t.Fatalf("key server down: %v, want ErrUnavailable", err)
		}
		if !strings.Contains(err.Error(), "503") {
			t.Fatalf("error %q does not say why", err)
		}
		down.Store(false)
		time.Sleep(20 * time.Millisecond) // past UnknownKIDInterval
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatalf("key server back: %v", err)
		}
		down.Store(true)
		f := failures.Load()
		time.Sleep(2 * refresh)
		synctest.Wait()
		if n := failures.Load() - f; n < 2 {
			t.Fatalf("%d failed fetches in two refresh intervals with the key server down, want at least 2", n)
		}
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatalf("cached token while the key server is down: %v", err)
		}
		made := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "made-up"}, claims())
		if _, err := v.Validate(ctx, made); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("unknown key while the key server is down: %v", err)
		}
	})
}
