package sipoauth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
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

// keyServer serves a JWKS that the test changes, and counts fetches.
type keyServer struct {
	mu      sync.Mutex
	doc     []byte
	fetches atomic.Int32
	*httptest.Server
}

func newKeyServer(t *testing.T, keys map[string]*rsa.PublicKey) *keyServer {
	ks := &keyServer{doc: jwksOf(keys)}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		defer ks.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(ks.doc)
	}))
	t.Cleanup(ks.Close)
	if !strings.HasPrefix(ks.URL, "http://127.0.0.1:") {
		t.Fatalf("key server at %s", ks.URL)
	}
	return ks
}

func (ks *keyServer) publish(keys map[string]*rsa.PublicKey) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.doc = jwksOf(keys)
}

func TestJWKSDocument(t *testing.T) {
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

// TestJWKSRotation runs a key server on 127.0.0.1 that rotates its keys
// while tokens are being validated.
func TestJWKSRotation(t *testing.T) {
	testKeys(t)
	ks := newKeyServer(t, map[string]*rsa.PublicKey{"old": &rsaKey.PublicKey})
	src, err := NewJWKSURL(ks.URL, JWKSOptions{
		Timeout: 2 * time.Second, RefreshInterval: 100 * time.Millisecond,
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Validate(ctx, oldTok)
		if errors.Is(err, ErrUnknownKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token of the retired key still accepted: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := v.Validate(ctx, newTok); err != nil {
		t.Fatalf("new key after the old one retired: %v", err)
	}
}

// TestJWKSUnknownKIDFlood: made-up key ids do not hammer the key server.
func TestJWKSUnknownKIDFlood(t *testing.T) {
	testKeys(t)
	ks := newKeyServer(t, map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey})
	src, err := NewJWKSURL(ks.URL, JWKSOptions{Timeout: 2 * time.Second, UnknownKIDInterval: time.Hour, UnknownKIDWait: 10 * time.Millisecond})
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
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("refusing 200 made-up key ids took %v", d)
	}
	if _, err := v.Validate(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "a"}, claims())); err != nil {
		t.Fatalf("real key during the flood: %v", err)
	}
}

// TestJWKSRemovedKeyLeavesCache: once the key server stops publishing a
// key, tokens it verified are refused, cached or not; the others stay.
func TestJWKSRemovedKeyLeavesCache(t *testing.T) {
	testKeys(t)
	ks := newKeyServer(t, map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey, "b": &rsaKey2.PublicKey})
	src, err := NewJWKSURL(ks.URL, JWKSOptions{Timeout: 2 * time.Second, RefreshInterval: 50 * time.Millisecond})
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Validate(ctx, tokA)
		if errors.Is(err, ErrUnknownKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token of the removed key still accepted: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := v.Validate(ctx, tokB); err != nil {
		t.Fatalf("token of the remaining key: %v", err)
	}
}

// TestJWKSGeneration: refreshing a set that did not change keeps its
// generation, so the cache keeps its entries; a changed set does not.
func TestJWKSGeneration(t *testing.T) {
	testKeys(t)
	ks := newKeyServer(t, map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey})
	src, err := NewJWKSURL(ks.URL, JWKSOptions{Timeout: 2 * time.Second, RefreshInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	g := src.Generation()
	waitFetches := func(n int32) {
		t.Helper()
		want := ks.fetches.Load() + n
		for deadline := time.Now().Add(5 * time.Second); ks.fetches.Load() < want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the set is not refreshed")
			}
		}
		time.Sleep(10 * time.Millisecond) // the last fetch is stored
	}
	waitFetches(3)
	if src.Generation() != g {
		t.Fatalf("generation %d after refreshing the same set, was %d", src.Generation(), g)
	}
	ks.publish(map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey, "b": &rsaKey2.PublicKey})
	waitFetches(2)
	if src.Generation() == g {
		t.Fatal("generation unchanged after a key was added")
	}
	doc, _ := NewJWKS(jwksOf(map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey}))
	if g := doc.Generation(); g != doc.Generation() {
		t.Fatal("the generation of a document changes")
	}
}

// TestJWKSUnreachable: with the key server unreachable, a token whose key
// the last good set lacks cannot be checked (ErrUnavailable), which is not
// remembered; tokens already in the cache keep passing.
func TestJWKSUnreachable(t *testing.T) {
	testKeys(t)
	var down atomic.Bool
	down.Store(true)
	ks := newKeyServer(t, map[string]*rsa.PublicKey{"a": &rsaKey.PublicKey})
	inner := ks.Config.Handler
	ks.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		inner.ServeHTTP(w, r)
	})
	var failures atomic.Int32
	src, err := NewJWKSURL(ks.URL, JWKSOptions{
		Timeout: 2 * time.Second, RefreshInterval: 30 * time.Millisecond,
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
	for f := failures.Load(); failures.Load() < f+2; {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatalf("cached token while the key server is down: %v", err)
	}
	made := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "made-up"}, claims())
	if _, err := v.Validate(ctx, made); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("unknown key while the key server is down: %v", err)
	}
}
