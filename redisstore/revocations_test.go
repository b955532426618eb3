package redisstore

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/sipoauth"
)

func TestRevocations(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 20*time.Second)
	c1, c2 := srv.Client(), srv.Client()
	r1, r2 := NewRevocations(c1, "t:"), NewRevocations(c2, "t:")
	now := time.Now()
	revoked := func(tokenID, user string, iat time.Time) bool {
		t.Helper()
		ok, err := r2.Revoked(ctx, tokenID, user, iat)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	if revoked("t1", "alice", now) {
		t.Fatal("revoked before any revocation")
	}

	// By token id, seen from the other client; kept Leeway past expiry.
	if err := r1.RevokeToken(ctx, "t1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !revoked("t1", "alice", now) || !revoked("t1", "", time.Time{}) {
		t.Error("revoked token t1 not revoked")
	}
	if revoked("t2", "alice", now) || revoked("", "alice", now) {
		t.Error("revoking t1 revoked other tokens")
	}
	if d, err := c1.PTTL(ctx, "t:revoked:jti:t1").Result(); err != nil ||
		d <= time.Hour || d > time.Until(now.Add(time.Hour+sipoauth.DefaultLeeway))+ttlSlack {
		t.Errorf("PTTL = %v, %v; want the expiry plus the default leeway", d, err)
	}
	// A zero expiry keeps it; an expiry long past records nothing.
	if err := r1.RevokeToken(ctx, "forever", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if d, err := c1.PTTL(ctx, "t:revoked:jti:forever").Result(); err != nil || d != -1 {
		t.Errorf("PTTL = %v, %v; want -1 (no expiry)", d, err)
	}
	if err := r1.RevokeToken(ctx, "old", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := c1.Exists(ctx, "t:revoked:jti:old").Result(); err != nil || n != 0 {
		t.Errorf("token expired an hour ago: EXISTS = %d, %v; want 0", n, err)
	}
	if err := r1.RevokeToken(ctx, "", now.Add(time.Hour)); err == nil {
		t.Error("RevokeToken accepted an empty id")
	}

	// By user: tokens issued before the cut-off, and those without iat.
	cut := now.Add(-time.Minute)
	if err := r1.RevokeUser(ctx, "bob", cut); err != nil {
		t.Fatal(err)
	}
	if v, err := c1.Get(ctx, "t:revoked:user:bob").Result(); err != nil || v != strconv.FormatInt(cut.UnixNano(), 10) {
		t.Errorf("user key = %q, %v; want %d", v, err, cut.UnixNano())
	}
	for _, tc := range []struct {
		iat  time.Time
		want bool
	}{
		{cut.Add(-time.Nanosecond), true},
		{cut, false},
		{cut.Add(time.Second), false},
		{time.Time{}, true},
	} {
		if got := revoked("any", "bob", tc.iat); got != tc.want {
			t.Errorf("bob's token issued at %v: revoked = %v, want %v", tc.iat, got, tc.want)
		}
	}
	if revoked("any", "alice", cut.Add(-time.Hour)) {
		t.Error("revoking bob revoked alice")
	}
	// An earlier cut-off is ignored, a later one replaces it.
	if err := r2.RevokeUser(ctx, "bob", cut.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !revoked("any", "bob", cut.Add(-time.Second)) {
		t.Error("an earlier RevokeUser moved the cut-off back")
	}
	if err := r2.RevokeUser(ctx, "bob", now); err != nil {
		t.Fatal(err)
	}
	if !revoked("any", "bob", now.Add(-time.Second)) || revoked("any", "bob", now) {
		t.Error("a later RevokeUser did not move the cut-off forward")
	}
}

func TestRevocationsConcurrentRevokeUser(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 30*time.Second)
	revs := []*Revocations{NewRevocations(srv.Client(), ""), NewRevocations(srv.Client(), "")}
	base := time.Now()
	const goroutines, each = 8, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				// Every goroutine sends its share of the cut-offs out of
				// order: the latest of all comes mid-run, not last.
				n := g + goroutines*(i*7%each)
				if err := revs[g%2].RevokeUser(ctx, "frank", base.Add(time.Duration(n)*time.Millisecond)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	v, err := revs[0].client.Get(ctx, "sipoauth:revoked:user:frank").Result()
	want := base.Add((goroutines*each - 1) * time.Millisecond).UnixNano()
	if err != nil || v != strconv.FormatInt(want, 10) {
		t.Errorf("cut-off = %q, %v; want the latest, %d", v, err, want)
	}
}

// TestRevocationsExpiry waits in real time, for redis-server's own TTL.
func TestRevocationsExpiry(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	r := NewRevocations(c, "")
	r.Leeway = -1 // none, to see the key go with the token's expiry
	exp := time.Now().Add(300 * time.Millisecond)
	if err := r.RevokeToken(ctx, "short", exp); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Revoked(ctx, "short", "u", time.Now()); err != nil || !ok {
		t.Fatalf("Revoked = %v, %v; want true", ok, err)
	}
	pollUntil(t, 5*time.Second, "revoked token key expiring", func() bool {
		n, err := c.Exists(ctx, "sipoauth:revoked:jti:short").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	if early := time.Until(exp); early > 2*time.Millisecond {
		t.Errorf("key gone %v before the token expired", early)
	}
	if ok, err := r.Revoked(ctx, "short", "u", time.Now()); err != nil || ok {
		t.Errorf("Revoked after expiry = %v, %v; want false", ok, err)
	}

	// A leeway keeps it that much longer.
	r.Leeway = 10 * time.Second
	if err := r.RevokeToken(ctx, "skewed", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Revoked(ctx, "skewed", "u", time.Now()); err != nil || !ok {
		t.Errorf("token expired within the leeway: Revoked = %v, %v; want true", ok, err)
	}
}

// TestRevocationsMatchesMemory runs the same revocations through
// sipoauth.MemoryRevocation and Revocations and asks both the same questions.
func TestRevocationsMatchesMemory(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	r := NewRevocations(c, "")
	var m sipoauth.MemoryRevocation
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

	tokens := []struct {
		id  string
		exp time.Time
	}{{"j1", time.Time{}}, {"j2", time.Now().Add(time.Hour)}}
	for _, tk := range tokens {
		m.RevokeToken(tk.id, tk.exp)
		if err := r.RevokeToken(ctx, tk.id, tk.exp); err != nil {
			t.Fatal(err)
		}
	}
	users := []struct {
		user string
		t    time.Time
	}{{"u1", at(10)}, {"u1", at(5)}, {"u2", at(10)}, {"U2", at(20)}, {"u3", time.Time{}}, {"", at(0)}, {"Bob", at(10)}}
	for _, u := range users {
		m.RevokeUser(u.user, u.t)
		if err := r.RevokeUser(ctx, u.user, u.t); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"", "j1", "j2", "j3"} {
		// Users by sipoauth.SameUser: revoking "Bob" revokes "BOB" and "bob".
		for _, user := range []string{"", "u1", "U1", "u2", "u3", "u4", "bob", "BOB", "\u212Aelvin"} {
			for _, iat := range []time.Time{{}, at(-1), at(0), at(5), at(9), at(10), at(15), at(20), at(30)} {
				want, _ := m.Revoked(ctx, id, user, iat)
				got, err := r.Revoked(ctx, id, user, iat)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("Revoked(%q, %q, %v) = %v, MemoryRevocation says %v", id, user, iat, got, want)
				}
			}
		}
	}
}

func TestRevocationsErrors(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	r := NewRevocations(c, "")

	if err := c.Set(ctx, "sipoauth:revoked:user:mallory", "yesterday", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Revoked(ctx, "", "mallory", time.Now()); err == nil || !strings.Contains(err.Error(), "sipoauth:revoked:user:mallory") {
		t.Errorf("Revoked err = %v, want one naming the malformed key", err)
	}
	if err := r.RevokeUser(ctx, "mallory", time.Now()); err == nil {
		t.Error("RevokeUser overwrote a malformed cut-off without a word")
	}
	if err := c.RPush(ctx, "sipoauth:revoked:user:list", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Revoked(ctx, "", "list", time.Now()); err == nil {
		t.Error("Revoked swallowed WRONGTYPE")
	}

	_ = c.Close()
	if _, err := r.Revoked(ctx, "j", "u", time.Now()); err == nil {
		t.Error("Revoked through a closed client: no error")
	}
	if err := r.RevokeToken(ctx, "j", time.Time{}); err == nil {
		t.Error("RevokeToken through a closed client: no error")
	}
	if err := r.RevokeUser(ctx, "u", time.Now()); err == nil {
		t.Error("RevokeUser through a closed client: no error")
	}
}
