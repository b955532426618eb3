package redisstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/registrar"
)

// run runs f in the background until the test ends, and checks that it
// returned the test context's error then.
func run(t *testing.T, ctx context.Context, f func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
}

// dropSubscriptions closes the pub/sub connections of every client, as a
// network failure would: go-redis connects and subscribes again.
func dropSubscriptions(t *testing.T, c *redis.Client) {
	t.Helper()
	if err := c.Do(context.Background(), "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
}

// TestEdgeTableAcrossNodes: an entry pushed to one node is let in on the
// other within a second, and one removed on the other is refused on the
// first within a second; an entry written while a node's subscription was
// down is read when it subscribes again; a corrupt entry fails the read
// and leaves the copy as it was.
func TestEdgeTableAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 30*time.Second)
	admin := srv.Client()
	a, b := NewEdgeTable(srv.Client(), ""), NewEdgeTable(srv.Client(), "")
	a.Resync, b.Resync = time.Hour, time.Hour // announcements and reconnections only
	if b.Ready() {
		t.Fatal("ready before any read")
	}
	run(t, ctx, a.Run)
	run(t, ctx, b.Run)
	pollUntil(t, 5*time.Second, "both tables read", func() bool { return a.Ready() && b.Ready() })

	e := edgetable.Entry{HostNameOrIP: "ExpC1.example.com", Names: []string{"expc1.example.com"}}
	names := certcheck.Names{DNS: []string{"expc1.example.com"}}
	start := time.Now()
	if err := a.Put(e); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Match(names); !ok {
		t.Fatal("node A does not let in the proxy it was just given")
	}
	pollUntil(t, time.Second, "node B lets the proxy in", func() bool { _, ok := b.Match(names); return ok })
	t.Logf("an entry reached the other node in %v", time.Since(start))
	if v, err := admin.HGet(ctx, "sipoauth:edge", "expc1.example.com").Result(); err != nil || v != `{"hostNameOrIp":"ExpC1.example.com","names":["expc1.example.com"]}` {
		t.Errorf("Redis holds %q, %v", v, err)
	}
	if l, _ := b.List(); len(l) != 1 || l[0].HostNameOrIP != "ExpC1.example.com" {
		t.Errorf("node B lists %+v", l)
	}

	removed, err := b.Remove("expc1.EXAMPLE.com")
	if err != nil || !removed {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	pollUntil(t, time.Second, "node A refuses the proxy", func() bool { _, ok := a.Match(names); return !ok })
	if removed, err := b.Remove("expc1.example.com"); err != nil || removed {
		t.Errorf("second Remove = %v, %v; want false", removed, err)
	}
	if err := a.Put(edgetable.Entry{HostNameOrIP: "bad host"}); !errors.Is(err, edgetable.ErrInvalidEntry) {
		t.Errorf("invalid entry: %v", err)
	}

	// Written without an announcement (as if it was lost while the node
	// was away): read when the subscription is made again. The
	// announcements of the removals are let through first.
	time.Sleep(300 * time.Millisecond)
	if err := admin.HSet(ctx, "sipoauth:edge", "expc2.example.com", `{"hostNameOrIp":"expc2.example.com","names":["expc2.example.com"]}`).Err(); err != nil {
		t.Fatal(err)
	}
	names2 := certcheck.Names{DNS: []string{"expc2.example.com"}}
	time.Sleep(100 * time.Millisecond)
	if _, ok := b.Match(names2); ok {
		t.Fatal("node B saw an entry nobody announced: the test cannot tell")
	}
	dropSubscriptions(t, admin)
	pollUntil(t, 5*time.Second, "node B reads the table again on subscribing", func() bool { _, ok := b.Match(names2); return ok })

	// A corrupt entry fails the read; the copy stays.
	if err := admin.HSet(ctx, "sipoauth:edge", "expc3.example.com", `{"hostNameOrIp":`).Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.Load(ctx); err == nil {
		t.Fatal("a corrupt entry was read")
	}
	if _, ok := a.Match(names2); !ok {
		t.Error("a failed read emptied the copy")
	}
	if err := admin.Publish(ctx, "sipoauth:events:edge", "expc3.example.com").Err(); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 2*time.Second, "node B reports the failed read", func() bool { return b.Err() != nil })
	if err := admin.HDel(ctx, "sipoauth:edge", "expc3.example.com").Err(); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 3*time.Second, "node B reads again after the failure", func() bool { return b.Err() == nil })
}

// TestSwitchAcrossNodes: the cluster's SIP OAuth mode set on one node
// holds on the other within a second; a node keeps its own setting while
// the cluster has none.
func TestSwitchAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 30*time.Second)
	var onA, onB atomic.Bool
	onA.Store(true)
	a, b := NewSwitch(srv.Client(), "", &onA), NewSwitch(srv.Client(), "", &onB)
	a.Resync, b.Resync = time.Hour, time.Hour
	type change struct{ on, set bool }
	changes := make(chan change, 16)
	b.OnChange = func(on, set bool) { changes <- change{on, set} }
	run(t, ctx, a.Run)
	run(t, ctx, b.Run)
	pollUntil(t, 5*time.Second, "both read", func() bool { return a.Ready() && b.Ready() })
	if !onA.Load() || onB.Load() {
		t.Fatalf("without a cluster setting: A %v, B %v; want each its own (true, false)", onA.Load(), onB.Load())
	}
	start := time.Now()
	if err := a.Set(ctx, false); err != nil {
		t.Fatal(err)
	}
	if onA.Load() {
		t.Error("node A still enabled after setting it off")
	}
	if err := b.Set(ctx, true); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, time.Second, "node A enabled by node B", func() bool { return onA.Load() })
	t.Logf("the mode reached the other node in %v", time.Since(start))
	if err := a.Set(ctx, false); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, time.Second, "node B disabled by node A", func() bool { return !onB.Load() })
	// Node B was told its own mode first, then each change once.
	var seen []change
	for len(changes) > 0 {
		seen = append(seen, <-changes)
	}
	if want := []change{{false, false}, {true, true}, {false, true}}; !slices.Equal(seen, want) {
		t.Errorf("node B's changes %v, want %v", seen, want)
	}
	if v, _ := srv.Client().Get(ctx, "sipoauth:sip-oauth-mode").Result(); v != "0" {
		t.Errorf("Redis holds %q, want 0", v)
	}
	// A value that is neither 1 nor 0 is an error, and the mode stays.
	if err := srv.Client().Set(ctx, "sipoauth:sip-oauth-mode", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(ctx); err == nil || onB.Load() {
		t.Errorf("Load of %q: %v, enabled %v; want an error, still off", "yes", err, onB.Load())
	}
}

// TestDevicesAcrossNodes: a device list replaced, a device added, changed
// and removed on one node reach the other within a second; before its
// first read a node answers ErrDevicesNotLoaded, not "unknown device".
func TestDevicesAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 30*time.Second)
	a, b := NewDevices(srv.Client(), ""), NewDevices(srv.Client(), "")
	a.Resync, b.Resync = time.Hour, time.Hour
	if _, _, err := b.Device(ctx, "CSFrado"); !errors.Is(err, ErrDevicesNotLoaded) {
		t.Fatalf("before the first read: %v, want ErrDevicesNotLoaded", err)
	}
	run(t, ctx, a.Run)
	run(t, ctx, b.Run)
	pollUntil(t, 5*time.Second, "both read", func() bool { return a.Ready() && b.Ready() })
	if _, ok, err := b.Device(ctx, "CSFrado"); ok || err != nil {
		t.Fatalf("empty list: %v, %v", ok, err)
	}
	list := []registrar.Device{
		{Name: "CSFrado", Owner: "rado", OAuth: true, Lines: []string{"1001"}},
		{Name: "SEPlegacy", Owner: "mia", Digest: &registrar.DigestSecret{User: "mia", Password: "s3cret"}},
	}
	for i := range 2500 { // more than one HSCAN step
		list = append(list, registrar.Device{Name: "CSFload" + strconv.Itoa(i), Owner: "load" + strconv.Itoa(i), OAuth: true})
	}
	if err := a.Replace(ctx, list); err != nil {
		t.Fatal(err)
	}
	if a.Len() != len(list) {
		t.Fatalf("node A holds %d devices, want %d", a.Len(), len(list))
	}
	pollUntil(t, time.Second, "node B has the list", func() bool { return b.Len() == len(list) })
	d, ok, err := b.Device(ctx, "SEPlegacy")
	if err != nil || !ok || d.Owner != "mia" || d.Digest == nil || d.Digest.Password != "s3cret" {
		t.Fatalf("node B's SEPlegacy: %+v, %v, %v", d, ok, err)
	}

	if err := b.Put(ctx, registrar.Device{Name: "CSFrado", Owner: "rado", OAuth: false}, registrar.Device{Name: "CSFnew", Owner: "new", OAuth: true}); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, time.Second, "node A has the change", func() bool {
		d, _, _ := a.Device(ctx, "CSFrado")
		_, ok, _ := a.Device(ctx, "CSFnew")
		return !d.OAuth && ok
	})
	if n, err := a.Remove(ctx, "CSFnew", "CSFnothing"); err != nil || n != 1 {
		t.Fatalf("Remove = %d, %v; want 1", n, err)
	}
	pollUntil(t, time.Second, "node B no longer has CSFnew", func() bool { _, ok, _ := b.Device(ctx, "CSFnew"); return !ok })

	for name, bad := range map[string][]registrar.Device{
		"no name":   {{Owner: "x"}},
		"duplicate": {{Name: "A"}, {Name: "A"}},
	} {
		if err := a.Replace(ctx, bad); err == nil {
			t.Errorf("Replace with %s: no error", name)
		}
	}
	if b.Len() != len(list) {
		t.Errorf("a refused Replace changed the list: %d devices", b.Len())
	}
	// A device stored under another name's field fails the read.
	if err := srv.Client().HSet(ctx, "sipoauth:devices", "CSFother", `{"name":"CSFrado","owner":"eve"}`).Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(ctx); err == nil {
		t.Error("a device under another name's field was read")
	}
	if d, _, _ := b.Device(ctx, "CSFrado"); d.Owner != "rado" {
		t.Errorf("CSFrado's owner is %q after the failed read", d.Owner)
	}
}

// TestMonitorOutage: a Redis that dies is reported down once, and up
// once when it is back; the mirrors read their state again by themselves.
func TestMonitorOutage(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), true)
	ctx := testCtx(t, 30*time.Second)
	type change struct {
		up  bool
		err bool
	}
	changes := make(chan change, 16)
	m := NewMonitor(srv.Client())
	m.Interval = 100 * time.Millisecond
	m.OnChange = func(up bool, err error) { changes <- change{up, err != nil} }
	var on atomic.Bool
	sw := NewSwitch(srv.Client(), "", &on)
	sw.Resync = time.Hour
	run(t, ctx, m.Run)
	run(t, ctx, sw.Run)
	next := func(want change) {
		t.Helper()
		select {
		case got := <-changes:
			if got != want {
				t.Fatalf("change %+v, want %+v", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no change reported, want %+v", want)
		}
	}
	next(change{up: true})
	pollUntil(t, 5*time.Second, "switch read", sw.Ready)
	if !m.Up() {
		t.Fatal("Up is false while Redis answers")
	}
	guarded := m.GuardStore(NewBindings(srv.Client(), ""))
	if _, err := guarded.Lookup(ctx, "rado"); err != nil {
		t.Fatalf("guarded store with Redis up: %v", err)
	}
	srv.Kill()
	next(change{up: false, err: true})
	// While the monitor finds Redis away, the guarded store and revocation
	// list fail at once.
	start := time.Now()
	if _, err := guarded.Update(ctx, "rado", registrar.Update{Now: time.Now(), CallID: "c", CSeq: 1}); !errors.Is(err, ErrDown) {
		t.Errorf("guarded Update while down: %v", err)
	}
	if revoked, err := m.GuardRevocation(NewRevocations(srv.Client(), "")).Revoked(ctx, "t", "rado", time.Now()); !errors.Is(err, ErrDown) || revoked {
		t.Errorf("guarded Revoked while down: %v, %v", revoked, err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("the guarded calls took %v with Redis down", d)
	}
	time.Sleep(500 * time.Millisecond) // several failed pings
	select {
	case c := <-changes:
		t.Fatalf("a second report during the outage: %+v", c)
	default:
	}
	if m.Up() {
		t.Fatal("Up is true while Redis is down")
	}
	// Set while the node is away, without an announcement reaching it.
	srv.StartAgain()
	next(change{up: true})
	if _, err := guarded.Lookup(ctx, "rado"); err != nil {
		t.Errorf("guarded store with Redis back: %v", err)
	}
	if err := srv.Client().Set(ctx, "sipoauth:sip-oauth-mode", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Client().Publish(ctx, "sipoauth:events:sip-oauth-mode", "1").Err(); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 5*time.Second, "the switch follows again after the outage", on.Load)
}
