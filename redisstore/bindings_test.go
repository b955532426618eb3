package redisstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/registrar"
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

func change(contact string, expires time.Duration) registrar.Change {
	return registrar.Change{Binding: registrar.Binding{Contact: contact}, Expires: expires}
}

// sameBindings compares bindings with Expires compared as instants, since
// JSON keeps neither the monotonic clock reading nor the location.
func sameBindings(a, b []registrar.Binding) bool {
	return slices.EqualFunc(a, b, func(x, y registrar.Binding) bool {
		if !x.Expires.Equal(y.Expires) {
			return false
		}
		x.Expires, y.Expires = time.Time{}, time.Time{}
		return reflect.DeepEqual(x, y)
	})
}

func contactsOf(bs []registrar.Binding) []string {
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

func TestBindingsUpdateSemantics(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	s := NewBindings(c, "t:")
	mem := registrar.NewMemoryStore()
	const aor, dev = "alice@example.com", "CSFalice"
	key := "t:aor:{alice@example.com}"

	now := time.Now()
	// update applies u to both stores: the Redis one must agree with the
	// memory one, the reference use of Apply, on top of the explicit
	// checks below.
	update := func(u registrar.Update) (registrar.Result, error) {
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
	lookup := func() []registrar.Binding {
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
	jabber := registrar.Change{Binding: registrar.Binding{
		Contact:  "<sip:a1@10.0.0.1:5061;transport=tls>",
		Params:   `+sip.instance="<urn:uuid:00000000-0000-0000-0000-00000000000a>";+u.sip!devicename.ccm.cisco.com="CSFalice"`,
		Instance: "<urn:uuid:00000000-0000-0000-0000-00000000000a>",
		RegID:    1,
		Device:   "CSFalice",
		User:     "alice",
		Source:   "192.0.2.1:50000",
	}, Expires: 60 * time.Second}
	res, err := update(registrar.Update{Device: dev, Now: now, CallID: "c1", CSeq: 1, Changes: []registrar.Change{jabber, change("sip:a2@10.0.0.2", 120*time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := newKeys(res.New); !slices.Equal(got, []string{"<sip:a1@10.0.0.1:5061;transport=tls>", "sip:a2@10.0.0.2"}) {
		t.Errorf("New = %v, want both contacts", got)
	}
	want1 := jabber.Binding
	want1.CallID, want1.CSeq, want1.Expires = "c1", 1, now.Add(60*time.Second)
	want2 := registrar.Binding{Contact: "sip:a2@10.0.0.2", CallID: "c1", CSeq: 1, Expires: now.Add(120 * time.Second), Device: dev}
	if got := lookup(); !sameBindings(got, []registrar.Binding{want1, want2}) {
		t.Fatalf("Lookup = %+v, want %+v", got, []registrar.Binding{want1, want2})
	}
	// The key lives as long as the latest binding, not the earliest.
	if d := pttl(); d <= 60*time.Second || d > time.Until(want2.Expires)+ttlSlack {
		t.Errorf("PTTL = %v, want in (60s, %v]", d, time.Until(want2.Expires))
	}

	// Refreshing one contact: not new, a later expiry, the key's too.
	res, err = update(registrar.Update{Device: dev, Now: now, CallID: "c1", CSeq: 2, Changes: []registrar.Change{change("sip:a2@10.0.0.2", 300*time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != 0 {
		t.Errorf("New = %v after a refresh, want none", res.New)
	}
	want2.CSeq, want2.Expires = 2, now.Add(300*time.Second)
	if got := lookup(); !sameBindings(got, []registrar.Binding{want1, want2}) {
		t.Fatalf("Lookup = %+v, want %+v", got, []registrar.Binding{want1, want2})
	}
	if d := pttl(); d <= 120*time.Second || d > time.Until(want2.Expires)+ttlSlack {
		t.Errorf("PTTL = %v, want in (120s, %v]", d, time.Until(want2.Expires))
	}

	// Expires 0 removes one.
	if _, err := update(registrar.Update{Device: dev, Now: now, CallID: "c1", CSeq: 3, Changes: []registrar.Change{change("sip:a2@10.0.0.2", 0)}}); err != nil {
		t.Fatal(err)
	}
	if got := lookup(); !sameBindings(got, []registrar.Binding{want1}) {
		t.Fatalf("Lookup = %+v, want %+v", got, []registrar.Binding{want1})
	}
	// The key now follows the one binding left.
	if d := pttl(); d <= 0 || d > time.Until(want1.Expires)+ttlSlack {
		t.Errorf("PTTL = %v, want in (0, %v]", d, time.Until(want1.Expires))
	}

	// Same Call-ID, CSeq not above the binding's (1, as the CSeq of the
	// removed one does not count): aborted, nothing written.
	for _, cseq := range []uint32{0, 1} {
		_, err := s.Update(ctx, aor, registrar.Update{Device: dev, Now: now, CallID: "c1", CSeq: cseq, Changes: []registrar.Change{change(jabber.Contact, 3600*time.Second)}})
		if err != registrar.ErrOutOfOrder {
			t.Errorf("CSeq %d on Call-ID c1: err = %v, want ErrOutOfOrder as is", cseq, err)
		}
	}
	if got := lookup(); !sameBindings(got, []registrar.Binding{want1}) {
		t.Fatalf("after out-of-order updates Lookup = %+v, want %+v", got, []registrar.Binding{want1})
	}

	// A new Call-ID (the client restarted) may start at a lower CSeq.
	res, err = update(registrar.Update{Device: dev, Now: now, CallID: "c2", CSeq: 1, Changes: []registrar.Change{jabber}})
	if err != nil {
		t.Fatalf("new Call-ID with a lower CSeq: %v", err)
	}
	if len(res.New) != 0 {
		t.Errorf("New = %v for a known contact, want none", res.New)
	}
	want1.CallID, want1.CSeq = "c2", 1
	if got := lookup(); !sameBindings(got, []registrar.Binding{want1}) {
		t.Fatalf("Lookup = %+v, want %+v", got, []registrar.Binding{want1})
	}

	// Contact: * is subject to the CSeq check too, then removes all and
	// the key with them.
	if _, err := s.Update(ctx, aor, registrar.Update{Device: dev, Now: now, CallID: "c2", CSeq: 1, RemoveAll: true}); err != registrar.ErrOutOfOrder {
		t.Errorf("RemoveAll out of order: err = %v, want ErrOutOfOrder", err)
	}
	if _, err := update(registrar.Update{Device: dev, Now: now, CallID: "c1", CSeq: 9, Changes: []registrar.Change{change("sip:a3@10.0.0.3", time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	res, err = update(registrar.Update{Device: dev, Now: now, CallID: "c2", CSeq: 2, RemoveAll: true})
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

// TestBindingsExpiry waits in real time: the expiry is redis-server's own
// TTL, which no fake clock moves; the bindings live 300 and 600 ms, room
// enough to look between the two.
func TestBindingsExpiry(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	s := NewBindings(c, "")
	const aor = "bob@example.com"
	key := "sipoauth:aor:{bob@example.com}" // the default prefix

	now := time.Now()
	res, err := s.Update(ctx, aor, registrar.Update{Now: now, CallID: "c", CSeq: 1, Changes: []registrar.Change{
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
	if _, err := s.Update(ctx, aor, registrar.Update{Now: now, CallID: "c", CSeq: 2, Changes: []registrar.Change{change("sip:gone@h", time.Millisecond)}}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("update with expiries already past: EXISTS = %d, %v; want 0", n, err)
	}
}

func TestBindingsTwoNodes(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 20*time.Second)
	a, b := NewBindings(srv.Client(), ""), NewBindings(srv.Client(), "")
	const aor = "carol@example.com"
	now := time.Now()

	if _, err := a.Update(ctx, aor, registrar.Update{Now: now, CallID: "c", CSeq: 1, Changes: []registrar.Change{change("sip:desk@h", time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	bs, err := b.Lookup(ctx, aor)
	if err != nil || !slices.Equal(contactsOf(bs), []string{"sip:desk@h"}) {
		t.Fatalf("node B sees %v, %v; want [sip:desk@h]", contactsOf(bs), err)
	}
	res, err := b.Update(ctx, aor, registrar.Update{Now: now, CallID: "d", CSeq: 1, Changes: []registrar.Change{change("sip:mobile@h", time.Hour)}})
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
	if _, err := b.Update(ctx, aor, registrar.Update{Now: now, CallID: "c", CSeq: 1, Changes: []registrar.Change{change("sip:desk@h", 0)}}); err != registrar.ErrOutOfOrder {
		t.Errorf("replay through node B: err = %v, want ErrOutOfOrder", err)
	}

	// A REGISTER retransmitted to the other node (same Call-ID, CSeq and
	// branch) is answered with the binding as node A wrote it, unchanged;
	// the same CSeq in another transaction is still out of order.
	first := registrar.Update{Now: now, CallID: "e", CSeq: 4, Branch: "z9hG4bKe4", Changes: []registrar.Change{change("sip:tablet@h", time.Hour)}}
	res, err = a.Update(ctx, aor, first)
	if err != nil || !res.New["sip:tablet@h"] {
		t.Fatalf("node A's update: %+v, %v", res, err)
	}
	wrote := res.Bindings[slices.IndexFunc(res.Bindings, func(b registrar.Binding) bool { return b.Contact == "sip:tablet@h" })]
	if wrote.Branch != "z9hG4bKe4" {
		t.Fatalf("binding's Branch = %q, want z9hG4bKe4", wrote.Branch)
	}
	again := first
	again.Now = now.Add(3 * time.Second)
	res, err = b.Update(ctx, aor, again)
	if err != nil {
		t.Fatalf("retransmission through node B: %v", err)
	}
	i := slices.IndexFunc(res.Bindings, func(b registrar.Binding) bool { return b.Contact == "sip:tablet@h" })
	if i < 0 || !sameBindings(res.Bindings[i:i+1], []registrar.Binding{wrote}) || len(res.New) != 0 {
		t.Errorf("retransmission through node B = %+v, New %v; want %+v unchanged, nothing new", res.Bindings, res.New, wrote)
	}
	other := again
	other.Branch = "z9hG4bKe4other"
	if _, err := b.Update(ctx, aor, other); err != registrar.ErrOutOfOrder {
		t.Errorf("same CSeq, another branch: err = %v, want ErrOutOfOrder", err)
	}
}

func TestBindingsConcurrentAdds(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 60*time.Second)
	stores := []*Bindings{NewBindings(srv.Client(), ""), NewBindings(srv.Client(), "")}
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
					res, err := s.Update(ctx, aor, registrar.Update{Now: time.Now(), CallID: callID, CSeq: uint32(n + 1), Changes: []registrar.Change{change(contact, time.Hour)}})
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

func TestBindingsRacingRefreshes(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 60*time.Second)
	stores := []*Bindings{NewBindings(srv.Client(), ""), NewBindings(srv.Client(), "")}
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
				res, err := s.Update(ctx, aor, registrar.Update{Now: time.Now(), CallID: "one", CSeq: cseq, Changes: []registrar.Change{change(contact, time.Hour)}})
				if errors.Is(err, registrar.ErrOutOfOrder) {
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

func TestBindingsRestart(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), true)
	ctx := testCtx(t, 30*time.Second)
	s := NewBindings(srv.Client(), "")
	now := time.Now()
	want := map[string][]registrar.Binding{}
	for i := range 5 {
		aor := fmt.Sprintf("user%d@example.com", i)
		res, err := s.Update(ctx, aor, registrar.Update{Now: now, CallID: "c" + strconv.Itoa(i), CSeq: 7, Changes: []registrar.Change{
			change("sip:desk@"+aor, time.Hour), change("sip:mobile@"+aor, 2*time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		want[aor] = res.Bindings
	}

	srv.Restart()

	c := srv.Client()
	s2 := NewBindings(c, "")
	for aor, w := range want {
		got, err := s2.Lookup(ctx, aor)
		if err != nil {
			t.Fatal(err)
		}
		if !sameBindings(got, w) {
			t.Errorf("%s after restart = %+v, want %+v", aor, got, w)
		}
		// The expiry came back with the data.
		d, err := c.PTTL(ctx, s2.Key(aor)).Result()
		if err != nil || d <= time.Hour || d > time.Until(now.Add(2*time.Hour))+ttlSlack {
			t.Errorf("%s PTTL after restart = %v, %v; want in (1h, 2h]", aor, d, err)
		}
	}
	// And the restarted server takes updates with the CSeq history intact.
	if _, err := s2.Update(ctx, "user0@example.com", registrar.Update{Now: now, CallID: "c0", CSeq: 7, RemoveAll: true}); err != registrar.ErrOutOfOrder {
		t.Errorf("replay after restart: err = %v, want ErrOutOfOrder", err)
	}
}

func TestBindingsBadValues(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	ctx := testCtx(t, 20*time.Second)
	s := NewBindings(c, "")
	u := registrar.Update{Now: time.Now(), CallID: "c", CSeq: 1, Changes: []registrar.Change{change("sip:x@h", time.Hour)}}
	for name, set := range map[string]func(key string) error{
		"not JSON": func(key string) error { return c.Set(ctx, key, "<xml/>", 0).Err() },
		"not an array": func(key string) error {
			return c.Set(ctx, key, `{"contact":"sip:x@h"}`, 0).Err()
		},
		"over 1 MiB": func(key string) error {
			return c.Set(ctx, key, "["+strings.Repeat(" ", maxValue)+"]", 0).Err()
		},
		"a list": func(key string) error { return c.RPush(ctx, key, "x").Err() },
	} {
		t.Run(name, func(t *testing.T) {
			aor := strings.ReplaceAll(name, " ", "-") + "@example.com"
			key := s.Key(aor)
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

func TestBindingsClosedClient(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	ctx := testCtx(t, 10*time.Second)
	s := NewBindings(c, "")
	_ = c.Close()
	if _, err := s.Update(ctx, "a@h", registrar.Update{Now: time.Now(), CallID: "c", CSeq: 1, Changes: []registrar.Change{change("sip:x@h", time.Hour)}}); err == nil {
		t.Error("Update through a closed client succeeded")
	}
	if _, err := s.Lookup(ctx, "a@h"); err == nil {
		t.Error("Lookup through a closed client succeeded")
	}
}
