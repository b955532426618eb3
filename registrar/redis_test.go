package registrar

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/sipoauth"
)

var (
	_ Store               = (*RedisStore)(nil)
	_ sipoauth.Revocation = (*RedisRevocation)(nil)
)

// ttlSlack is how much longer than the expiry a key may live: its TTL is
// rounded up to the millisecond and counts from when Redis received it.
const ttlSlack = 50 * time.Millisecond

// testCtx bounds a test's Redis traffic.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func change(contact string, expires time.Duration) Change {
	return Change{Binding: Binding{Contact: contact}, Expires: expires}
}

// sameBindings compares bindings with Expires compared as instants, since
// JSON keeps neither the monotonic clock reading nor the location.
func sameBindings(a, b []Binding) bool {
	return slices.EqualFunc(a, b, func(x, y Binding) bool {
		if !x.Expires.Equal(y.Expires) {
			return false
		}
		x.Expires, y.Expires = time.Time{}, time.Time{}
		return x == y
	})
}

func contactsOf(bs []Binding) []string {
	var cs []string
	for _, b := range bs {
		cs = append(cs, b.Contact)
	}
	slices.Sort(cs)
	return cs
}

func newKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

// pollUntil calls cond until it holds, failing the test after d.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisStoreUpdateSemantics(t *testing.T) {
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	s := NewRedisStore(c, "t:")
	mem := NewMemoryStore()
	const aor, dev = "alice@example.com", "CSFalice"
	key := "t:aor:{alice@example.com}"

	now := time.Now()
	// update applies u to both stores: the Redis one must agree with the
	// memory one, the reference use of Apply, on top of the explicit
	// checks below.
	update := func(u Update) (Result, error) {
		t.Helper()
		want, werr := mem.Update(ctx, aor, u)
		got, err := s.Update(ctx, aor, u)
		if err != werr {
			t.Fatalf("Update error = %v, MemoryStore's = %v", err, werr)
		}
		if !sameBindings(got.Bindings, want.Bindings) || !maps.Equal(got.New, want.New) {
			t.Fatalf("Update = %+v, MemoryStore's = %+v", got, want)
		}
		return got, err
	}
	lookup := func() []Binding {
		t.Helper()
		bs, err := s.Lookup(ctx, aor)
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}
	pttl := func() time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	// Two contacts, one with every field set, so that the JSON keeps them.
	jabber := Change{Binding: Binding{
		Contact:  "<sip:a1@10.0.0.1:5061;transport=tls>",
		Params:   `+sip.instance="<urn:uuid:00000000-0000-0000-0000-00000000000a>";+u.sip!devicename.ccm.cisco.com="CSFalice"`,
		Instance: "<urn:uuid:00000000-0000-0000-0000-00000000000a>",
		RegID:    1,
		Device:   "CSFalice",
		User:     "alice",
		Source:   "192.0.2.1:50000",
	}, Expires: 60 * time.Second}
	res, err := update(Update{Device: dev, Now: now, CallID: "c1", CSeq: 1, Changes: []Change{jabber, change("sip:a2@10.0.0.2", 120*time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := newKeys(res.New); !slices.Equal(got, []string{"<sip:a1@10.0.0.1:5061;transport=tls>", "sip:a2@10.0.0.2"}) {
		t.Errorf("New = %v, want both contacts", got)
	}
	want1 := jabber.Binding
	want1.CallID, want1.CSeq, want1.Expires = "c1", 1, now.Add(60*time.Second)
	want2 := Binding{Contact: "sip:a2@10.0.0.2", CallID: "c1", CSeq: 1, Expires: now.Add(120 * time.Second), Device: dev}
	if got := lookup(); !sameBindings(got, []Binding{want1, want2}) {
		t.Fatalf("Lookup = %+v, want %+v", got, []Binding{want1, want2})
	}
	// The key lives as long as the latest binding, not the earliest.
	if d := pttl(); d <= 60*time.Second || d > time.Until(want2.Expires)+ttlSlack {
		t.Errorf("PTTL = %v, want in (60s, %v]", d, time.Until(want2.Expires))
	}

	// Refreshing one contact: not new, a later expiry, the key's too.
	res, err = update(Update{Device: dev, Now: now, CallID: "c1", CSeq: 2, Changes: []Change{change("sip:a2@10.0.0.2", 300*time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != 0 {
		t.Errorf("New = %v after a refresh, want none", res.New)
	}
	want2.CSeq, want2.Expires = 2, now.Add(300*time.Second)
	if got := lookup(); !sameBindings(got, []Binding{want1, want2}) {
		t.Fatalf("Lookup = %+v, want %+v", got, []Binding{want1, want2})
	}
	if d := pttl(); d <= 120*time.Second || d > time.Until(want2.Expires)+ttlSlack {
		t.Errorf("PTTL = %v, want in (120s, %v]", d, time.Until(want2.Expires))
	}

	// Expires 0 removes one.
	if _, err := update(Update{Device: dev, Now: now, CallID: "c1", CSeq: 3, Changes: []Change{change("sip:a2@10.0.0.2", 0)}}); err != nil {
		t.Fatal(err)
	}
	if got := lookup(); !sameBindings(got, []Binding{want1}) {
		t.Fatalf("Lookup = %+v, want %+v", got, []Binding{want1})
	}
	// The key now follows the one binding left.
	if d := pttl(); d <= 0 || d > time.Until(want1.Expires)+ttlSlack {
		t.Errorf("PTTL = %v, want in (0, %v]", d, time.Until(want1.Expires))
	}

	// Same Call-ID, CSeq not above the binding's (1, as the CSeq of the
	// removed one does not count): aborted, nothing written.
	for _, cseq := range []uint32{0, 1} {
		_, err := s.Update(ctx, aor, Update{Device: dev, Now: now, CallID: "c1", CSeq: cseq, Changes: []Change{change(jabber.Contact, 3600*time.Second)}})
		if err != ErrOutOfOrder {
			t.Errorf("CSeq %d on Call-ID c1: err = %v, want ErrOutOfOrder as is", cseq, err)
		}
	}
	if got := lookup(); !sameBindings(got, []Binding{want1}) {
		t.Fatalf("after out-of-order updates Lookup = %+v, want %+v", got, []Binding{want1})
	}

	// A new Call-ID (the client restarted) may start at a lower CSeq.
	res, err = update(Update{Device: dev, Now: now, CallID: "c2", CSeq: 1, Changes: []Change{jabber}})
	if err != nil {
		t.Fatalf("new Call-ID with a lower CSeq: %v", err)
	}
	if len(res.New) != 0 {
		t.Errorf("New = %v for a known contact, want none", res.New)
	}
	want1.CallID, want1.CSeq = "c2", 1
	if got := lookup(); !sameBindings(got, []Binding{want1}) {
		t.Fatalf("Lookup = %+v, want %+v", got, []Binding{want1})
	}

	// Contact: * is subject to the CSeq check too, then removes all and
	// the key with them.
	if _, err := s.Update(ctx, aor, Update{Device: dev, Now: now, CallID: "c2", CSeq: 1, RemoveAll: true}); err != ErrOutOfOrder {
		t.Errorf("RemoveAll out of order: err = %v, want ErrOutOfOrder", err)
	}
	if _, err := update(Update{Device: dev, Now: now, CallID: "c1", CSeq: 9, Changes: []Change{change("sip:a3@10.0.0.3", time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	res, err = update(Update{Device: dev, Now: now, CallID: "c2", CSeq: 2, RemoveAll: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Bindings) != 0 {
		t.Errorf("RemoveAll left %+v", res.Bindings)
	}
	if got := lookup(); len(got) != 0 {
		t.Errorf("Lookup after RemoveAll = %+v, want none", got)
	}
	if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("key after RemoveAll: EXISTS = %d, %v; want 0", n, err)
	}
}

func TestRedisStoreExpiry(t *testing.T) {
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	s := NewRedisStore(c, "")
	const aor = "bob@example.com"
	key := "sipoauth:aor:{bob@example.com}" // the default prefix

	now := time.Now()
	res, err := s.Update(ctx, aor, Update{Now: now, CallID: "c", CSeq: 1, Changes: []Change{
		change("sip:short@h", 300*time.Millisecond), change("sip:long@h", 600*time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	last := res.Bindings[1].Expires
	if d, err := c.PTTL(ctx, key).Result(); err != nil || d <= 0 || d > time.Until(last)+ttlSlack {
		t.Fatalf("PTTL = %v, %v; want in (0, %v]", d, err, time.Until(last))
	}

	// Past the first expiry Lookup drops it while the key stays.
	time.Sleep(time.Until(res.Bindings[0].Expires))
	bs, err := s.Lookup(ctx, aor)
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(last) && !slices.Equal(contactsOf(bs), []string{"sip:long@h"}) {
		t.Errorf("Lookup past the first expiry = %v, want [sip:long@h]", contactsOf(bs))
	}

	pollUntil(t, 5*time.Second, "key expiring with its last binding", func() bool {
		n, err := c.Exists(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	// Redis counts milliseconds, the TTL is rounded up to them: the key
	// must not have gone before the last binding.
	if early := time.Until(last); early > 2*time.Millisecond {
		t.Errorf("key gone %v before its last binding expired", early)
	}
	if bs, err := s.Lookup(ctx, aor); err != nil || len(bs) != 0 {
		t.Errorf("Lookup after expiry = %v, %v; want none", bs, err)
	}

	// An update that finds only expired bindings drops them, and writes
	// no key for an AOR left empty.
	if _, err := s.Update(ctx, aor, Update{Now: now, CallID: "c", CSeq: 2, Changes: []Change{change("sip:gone@h", time.Millisecond)}}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("update with expiries already past: EXISTS = %d, %v; want 0", n, err)
	}
}

func TestRedisStoreTwoNodes(t *testing.T) {
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 20*time.Second)
	a, b := NewRedisStore(srv.Client(), ""), NewRedisStore(srv.Client(), "")
	const aor = "carol@example.com"
	now := time.Now()

	if _, err := a.Update(ctx, aor, Update{Now: now, CallID: "c", CSeq: 1, Changes: []Change{change("sip:desk@h", time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	bs, err := b.Lookup(ctx, aor)
	if err != nil || !slices.Equal(contactsOf(bs), []string{"sip:desk@h"}) {
		t.Fatalf("node B sees %v, %v; want [sip:desk@h]", contactsOf(bs), err)
	}
	res, err := b.Update(ctx, aor, Update{Now: now, CallID: "d", CSeq: 1, Changes: []Change{change("sip:mobile@h", time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := contactsOf(res.Bindings); !slices.Equal(got, []string{"sip:desk@h", "sip:mobile@h"}) {
		t.Errorf("node B's update = %v, want both", got)
	}
	if !res.New["sip:mobile@h"] || len(res.New) != 1 {
		t.Errorf("New = %v, want [sip:mobile@h]", res.New)
	}
	bs, err = a.Lookup(ctx, aor)
	if err != nil || !slices.Equal(contactsOf(bs), []string{"sip:desk@h", "sip:mobile@h"}) {
		t.Fatalf("node A sees %v, %v; want both", contactsOf(bs), err)
	}
	// Node B's CSeq check sees what node A wrote.
	if _, err := b.Update(ctx, aor, Update{Now: now, CallID: "c", CSeq: 1, Changes: []Change{change("sip:desk@h", 0)}}); err != ErrOutOfOrder {
		t.Errorf("replay through node B: err = %v, want ErrOutOfOrder", err)
	}
}

func TestRedisStoreConcurrentAdds(t *testing.T) {
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 60*time.Second)
	stores := []*RedisStore{NewRedisStore(srv.Client(), ""), NewRedisStore(srv.Client(), "")}
	const (
		aor          = "dave@example.com"
		perStore     = 8
		perGoroutine = 12
	)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		isNew = map[string]int{}
	)
	for si, s := range stores {
		for g := range perStore {
			wg.Go(func() {
				callID := fmt.Sprintf("call-%d-%d", si, g)
				var mine []string
				for n := range perGoroutine {
					contact := fmt.Sprintf("sip:%d-%d-%d@h", si, g, n)
					mine = append(mine, contact)
					res, err := s.Update(ctx, aor, Update{Now: time.Now(), CallID: callID, CSeq: uint32(n + 1), Changes: []Change{change(contact, time.Hour)}})
					if err != nil {
						t.Errorf("%s CSeq %d: %v", callID, n+1, err)
						return
					}
					// Every contact this goroutine added so far is still there.
					have := contactsOf(res.Bindings)
					for _, c := range mine {
						if _, ok := slices.BinarySearch(have, c); !ok {
							t.Errorf("%s CSeq %d: %s lost", callID, n+1, c)
						}
					}
					mu.Lock()
					for c := range res.New {
						isNew[c]++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	bs, err := stores[0].Lookup(ctx, aor)
	if err != nil {
		t.Fatal(err)
	}
	const total = 2 * perStore * perGoroutine
	if got := contactsOf(bs); len(got) != total || len(slices.Compact(got)) != total {
		t.Fatalf("%d distinct bindings in %d, want %d", len(slices.Compact(got)), len(bs), total)
	}
	if len(isNew) != total {
		t.Errorf("%d contacts reported new, want %d", len(isNew), total)
	}
	for c, n := range isNew {
		if n != 1 {
			t.Errorf("%s reported new %d times", c, n)
		}
	}
}

func TestRedisStoreRacingRefreshes(t *testing.T) {
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 60*time.Second)
	stores := []*RedisStore{NewRedisStore(srv.Client(), ""), NewRedisStore(srv.Client(), "")}
	const (
		aor        = "erin@example.com"
		contact    = "sip:erin@h"
		goroutines = 8
		maxCSeq    = 200
	)
	// A watcher checks that the stored CSeq never goes back.
	stop := make(chan struct{})
	watched := make(chan error, 1)
	go func() {
		var last uint32
		for {
			select {
			case <-stop:
				watched <- nil
				return
			default:
			}
			bs, err := stores[1].Lookup(ctx, aor)
			if err != nil {
				watched <- err
				return
			}
			if len(bs) == 1 {
				if bs[0].CSeq < last {
					watched <- fmt.Errorf("stored CSeq went back from %d to %d", last, bs[0].CSeq)
					return
				}
				last = bs[0].CSeq
			}
		}
	}()

	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := map[uint32]bool{}
	for g := range goroutines {
		wg.Go(func() {
			s := stores[g%2]
			// Each goroutine sends its share of the CSeqs in order, as
			// retransmissions and refreshes racing through several nodes.
			for cseq := uint32(g + 1); cseq <= maxCSeq; cseq += goroutines {
				res, err := s.Update(ctx, aor, Update{Now: time.Now(), CallID: "one", CSeq: cseq, Changes: []Change{change(contact, time.Hour)}})
				if errors.Is(err, ErrOutOfOrder) {
					continue
				}
				if err != nil {
					t.Errorf("CSeq %d: %v", cseq, err)
					return
				}
				if len(res.Bindings) != 1 || res.Bindings[0].CSeq != cseq {
					t.Errorf("CSeq %d applied as %+v", cseq, res.Bindings)
				}
				mu.Lock()
				applied[cseq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	bs, err := stores[0].Lookup(ctx, aor)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].CSeq != maxCSeq {
		t.Fatalf("stored %+v, want one binding with CSeq %d", bs, maxCSeq)
	}
	if !applied[maxCSeq] {
		t.Errorf("the highest CSeq was refused")
	}
	t.Logf("%d of %d refreshes applied, the others out of order", len(applied), maxCSeq)
}

func TestRedisStoreRestart(t *testing.T) {
	srv := startRedisServer(t, t.TempDir(), true)
	ctx := testCtx(t, 30*time.Second)
	s := NewRedisStore(srv.Client(), "")
	now := time.Now()
	want := map[string][]Binding{}
	for i := range 5 {
		aor := fmt.Sprintf("user%d@example.com", i)
		res, err := s.Update(ctx, aor, Update{Now: now, CallID: "c" + strconv.Itoa(i), CSeq: 7, Changes: []Change{
			change("sip:desk@"+aor, time.Hour), change("sip:mobile@"+aor, 2*time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		want[aor] = res.Bindings
	}

	srv.Restart()

	c := srv.Client()
	s2 := NewRedisStore(c, "")
	for aor, w := range want {
		got, err := s2.Lookup(ctx, aor)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBindings(got, w) {
			t.Errorf("%s after restart = %+v, want %+v", aor, got, w)
		}
		// The expiry came back with the data.
		d, err := c.PTTL(ctx, s2.key(aor)).Result()
		if err != nil || d <= time.Hour || d > time.Until(now.Add(2*time.Hour))+ttlSlack {
			t.Errorf("%s PTTL after restart = %v, %v; want in (1h, 2h]", aor, d, err)
		}
	}
	// And the restarted server takes updates with the CSeq history intact.
	if _, err := s2.Update(ctx, "user0@example.com", Update{Now: now, CallID: "c0", CSeq: 7, RemoveAll: true}); err != ErrOutOfOrder {
		t.Errorf("replay after restart: err = %v, want ErrOutOfOrder", err)
	}
}

func TestRedisStoreBadValues(t *testing.T) {
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	s := NewRedisStore(c, "")
	u := Update{Now: time.Now(), CallID: "c", CSeq: 1, Changes: []Change{change("sip:x@h", time.Hour)}}
	for name, set := range map[string]func(key string) error{
		"not JSON": func(key string) error { return c.Set(ctx, key, "<xml/>", 0).Err() },
		"not an array": func(key string) error {
			return c.Set(ctx, key, `{"contact":"sip:x@h"}`, 0).Err()
		},
		"over 1 MiB": func(key string) error {
			return c.Set(ctx, key, "["+strings.Repeat(" ", maxRedisValue)+"]", 0).Err()
		},
		"a list": func(key string) error { return c.RPush(ctx, key, "x").Err() },
	} {
		t.Run(name, func(t *testing.T) {
			aor := strings.ReplaceAll(name, " ", "-") + "@example.com"
			key := s.key(aor)
			if err := set(key); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Lookup(ctx, aor); err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("Lookup err = %v, want an error naming %q", err, key)
			}
			if _, err := s.Update(ctx, aor, u); err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("Update err = %v, want an error naming %q", err, key)
			}
		})
	}
}

func TestRedisStoreClosedClient(t *testing.T) {
	c := startRedis(t)
	ctx := testCtx(t, 10*time.Second)
	s := NewRedisStore(c, "")
	_ = c.Close()
	if _, err := s.Update(ctx, "a@h", Update{Now: time.Now(), CallID: "c", CSeq: 1, Changes: []Change{change("sip:x@h", time.Hour)}}); err == nil {
		t.Error("Update through a closed client succeeded")
	}
	if _, err := s.Lookup(ctx, "a@h"); err == nil {
		t.Error("Lookup through a closed client succeeded")
	}
}

func TestRedisRevocation(t *testing.T) {
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 20*time.Second)
	c1, c2 := srv.Client(), srv.Client()
	r1, r2 := NewRedisRevocation(c1, "t:"), NewRedisRevocation(c2, "t:")
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

func TestRedisRevocationConcurrentRevokeUser(t *testing.T) {
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 30*time.Second)
	revs := []*RedisRevocation{NewRedisRevocation(srv.Client(), ""), NewRedisRevocation(srv.Client(), "")}
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

func TestRedisRevocationExpiry(t *testing.T) {
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	r := NewRedisRevocation(c, "")
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

// TestRedisRevocationMatchesMemory runs the same revocations through
// MemoryRevocation and RedisRevocation and asks both the same questions.
func TestRedisRevocationMatchesMemory(t *testing.T) {
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	r := NewRedisRevocation(c, "")
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

func TestRedisRevocationErrors(t *testing.T) {
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	r := NewRedisRevocation(c, "")

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
