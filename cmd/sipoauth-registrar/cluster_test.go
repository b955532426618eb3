package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/testredis"
	"github.com/sipoauth/sdk/redisstore"
	"github.com/sipoauth/sdk/registrar"
)

// tableAPI sends a request to a node's edge-proxy table API at addr, as
// the user expressway, and returns the status.
func tableAPI(t *testing.T, f *fixture, addr, method, path, body string) int {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.nodeCA.Pool(), ServerName: "127.0.0.1"}}}
	req, _ := http.NewRequest(method, "https://"+addr+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth("expressway", "s3cret")
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// within polls cond every 10 ms until it holds, failing after d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// readyz returns the status and body of a node's /readyz.
func readyz(t *testing.T, r *running) (int, string) {
	t.Helper()
	cl := &http.Client{Timeout: 2 * time.Second}
	res, err := cl.Get("http://" + r.addr("metrics", "http") + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestClusterSharedState: two nodes on one Redis, with the edge-proxy
// table and the devices in it. An edge proxy pushed to node A's table
// API is let in by node B within a second, and once removed through node
// A refused by node B within a second, on the connection it holds too; a
// device added in Redis
// registers on node B within a second; the SIP OAuth mode turned off
// through Redis refuses OAuth registrations on both within a second.
func TestClusterSharedState(t *testing.T) {
	// With its append-only file, as a cluster's Redis runs: what was
	// written survives the crash below.
	srv := testredis.Start(t, t.TempDir(), true)
	rdb := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := newFixture(t)
	var list []registrar.Device
	data, err := os.ReadFile(f.files["devices"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	if err := redisstore.NewDevices(rdb, "").Replace(ctx, list); err != nil {
		t.Fatal(err)
	}
	url := "redis://" + srv.Addr() + "/0"
	a := f.start("-store", url, "-edge-table", "redis", "-devices", "redis",
		"-table-api", "127.0.0.1:0", "-table-user", "expressway", "-table-password", "s3cret")
	b, blog := f.startLogged("-store", url, "-edge-table", "redis", "-devices", "redis")
	if code, body := readyz(t, b); code != 200 || body != "ready\n" {
		t.Fatalf("/readyz of a started node: %d %q", code, body)
	}

	// The edge-proxy table.
	if err := handshake(b.addr("edge", "tls"), f, f.stranger); err == nil {
		t.Fatal("node B let in expc9 before any entry was pushed")
	}
	if code := tableAPI(t, f, a.addr("table-api", "https"), http.MethodPut, "/entries", `{"hostNameOrIp": "expc9", "names": ["expc9.example.com"]}`); code != 201 {
		t.Fatalf("push to node A: %d", code)
	}
	took := within(t, time.Second, "node B lets in the proxy pushed to node A", func() bool { return handshake(b.addr("edge", "tls"), f, f.stranger) == nil })
	t.Logf("edge entry on the other node after %v", took)
	// The proxy registers a client on node B over a connection it keeps;
	// removed through node A, it is refused on that same connection.
	proxied := f.client(b.addr("edge", "tls"), "TLS", f.stranger)
	viaProxy := func() int {
		t.Helper()
		req := proxied.register("CSFalice", "alice")
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("alice", "CSFalice", nil)+`"`))
		return proxied.do(t, req).StatusCode
	}
	if code := viaProxy(); code != 200 {
		t.Fatalf("a REGISTER through the proxy on node B: %d", code)
	}
	if code := tableAPI(t, f, a.addr("table-api", "https"), http.MethodDelete, "/entries/expc9", ""); code != 204 {
		t.Fatalf("removal on node A: %d", code)
	}
	took = within(t, time.Second, "node B refuses the removed proxy on its open connection", func() bool { return viaProxy() == 403 })
	t.Logf("edge entry removed on the other node, its open connection refused after %v", took)
	if err := handshake(b.addr("edge", "tls"), f, f.stranger); err == nil {
		t.Error("node B still lets the removed proxy connect")
	}

	// The devices.
	cb := f.client(b.addr("oauth", "tls"), "TLS", nil)
	register := func(c *client, device, user string) int {
		t.Helper()
		req := c.register(device, user)
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint(user, device, nil)+`"`))
		return c.do(t, req).StatusCode
	}
	if code := register(cb, "CSFnew", "newcomer"); code != 404 {
		t.Fatalf("an unknown device: %d, want 404", code)
	}
	if err := redisstore.NewDevices(rdb, "").Put(ctx, registrar.Device{Name: "CSFnew", Owner: "newcomer", OAuth: true}); err != nil {
		t.Fatal(err)
	}
	took = within(t, time.Second, "node B knows the device added", func() bool { return register(cb, "CSFnew", "newcomer") == 200 })
	t.Logf("device on the node after %v", took)

	// The cluster-wide SIP OAuth mode.
	var scratch atomic.Bool
	sw := redisstore.NewSwitch(rdb, "", &scratch)
	if err := sw.Set(ctx, false); err != nil {
		t.Fatal(err)
	}
	ca := f.client(a.addr("oauth", "tls"), "TLS", nil)
	for name, c := range map[string]*client{"A": ca, "B": cb} {
		within(t, time.Second, "node "+name+" refuses OAuth", func() bool { return register(c, "CSFrado", "rado") == 403 })
	}
	if n := strings.Count(blog.String(), "SIP OAuth is disabled for the cluster"); n != 1 {
		t.Errorf("node B said %d times that SIP OAuth is disabled, want once:\n%s", n, blog)
	}
	if err := sw.Set(ctx, true); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "node A takes OAuth again", func() bool { return register(ca, "CSFrado", "rado") == 200 })

	// Redis down: not ready, one line for the outage, 503 to REGISTERs;
	// then back by itself.
	srv.Kill()
	within(t, 3*time.Second, "node B not ready without Redis", func() bool {
		code, body := readyz(t, b)
		return code == 503 && strings.Contains(body, "Redis unreachable")
	})
	for range 3 {
		sent := time.Now()
		if code := register(cb, "CSFrado", "rado"); code != 503 {
			t.Fatalf("REGISTER with Redis down: %d, want 503", code)
		}
		// At once: the node knows Redis is away.
		if d := time.Since(sent); d > time.Second {
			t.Errorf("a REGISTER with Redis down answered after %v", d)
		}
	}
	time.Sleep(2 * time.Second)
	srv.StartAgain()
	within(t, 5*time.Second, "node B ready again", func() bool { code, _ := readyz(t, b); return code == 200 })
	if code := register(cb, "CSFrado", "rado"); code != 200 {
		t.Fatalf("REGISTER with Redis back: %d", code)
	}
	log := blog.String()
	if n := strings.Count(log, "Redis unreachable"); n != 1 {
		t.Errorf("%d lines say Redis is unreachable for one outage, want 1:\n%s", n, log)
	}
	if n := strings.Count(log, "Redis reachable again"); n != 1 {
		t.Errorf("%d lines say Redis is back, want 1:\n%s", n, log)
	}
	if n := strings.Count(log, "a service the registrar depends on failed"); n != 1 {
		t.Errorf("%d lines for the REGISTERs refused during the outage, want 1:\n%s", n, log)
	}
	// Nothing else of the outage at Info and above: not the copies of the
	// shared state failing to read, not go-redis's failed dials.
	for _, noise := range []string{"reading the shared state from Redis", "component=redis"} {
		if strings.Contains(log, noise) {
			t.Errorf("the outage's log has %q:\n%s", noise, log)
		}
	}
	m := scrape(t, b.addr("metrics", "http"))
	if m["sipoauth_redis_up"] != 1 {
		t.Errorf("sipoauth_redis_up = %v, want 1", m["sipoauth_redis_up"])
	}
}

// TestClusterActions: -import-devices, -sip-oauth-mode and -revoke-user
// write the cluster's state in Redis and exit; without a Redis -store or
// with a mode that is neither enable nor disable they are refused.
func TestClusterActions(t *testing.T) {
	srv := testredis.Start(t, t.TempDir(), false)
	rdb := srv.Client()
	f := newFixture(t)
	url := "redis://" + srv.Addr() + "/0"
	act := func(args ...string) (int, string, string) {
		t.Helper()
		var out, errs strings.Builder
		code := run(context.Background(), f.args(append([]string{"-store", url}, args...)...), &out, &errs)
		return code, out.String(), errs.String()
	}
	ctx := context.Background()

	code, out, errs := act("-import-devices", f.files["devices"])
	if code != 0 || out != "4 devices are the cluster's in "+url+"\n" {
		t.Fatalf("-import-devices: %d %q %q", code, out, errs)
	}
	d := redisstore.NewDevices(rdb, "")
	if err := d.Load(ctx); err != nil || d.Len() != 4 {
		t.Fatalf("devices in Redis: %d, %v", d.Len(), err)
	}
	if dev, ok, _ := d.Device(ctx, "SEPdigest"); !ok || dev.Owner != "bob" || dev.Digest == nil || dev.Digest.Password != digestPassword {
		t.Errorf("SEPdigest in Redis: %+v", dev)
	}

	if code, out, errs = act("-sip-oauth-mode", "disable"); code != 0 || !strings.HasPrefix(out, "SIP OAuth disabled on every node") {
		t.Fatalf("-sip-oauth-mode disable: %d %q %q", code, out, errs)
	}
	if v, err := rdb.Get(ctx, "sipoauth:sip-oauth-mode").Result(); err != nil || v != "0" {
		t.Errorf("mode in Redis: %q, %v", v, err)
	}
	if code, _, _ = act("-sip-oauth-mode", "enable"); code != 0 {
		t.Fatal(code)
	}
	if v, _ := rdb.Get(ctx, "sipoauth:sip-oauth-mode").Result(); v != "1" {
		t.Errorf("mode in Redis after enable: %q", v)
	}

	if code, out, errs = act("-revoke-user", "Rado"); code != 0 || !strings.HasPrefix(out, "the tokens of Rado issued before ") {
		t.Fatalf("-revoke-user: %d %q %q", code, out, errs)
	}
	revoked, err := redisstore.NewRevocations(rdb, "").Revoked(ctx, "", "rado", time.Now().Add(-time.Minute))
	if err != nil || !revoked {
		t.Errorf("rado's token of a minute ago: revoked %v, %v", revoked, err)
	}

	if code, _, errs = act("-sip-oauth-mode", "maybe"); code != 2 || !strings.Contains(errs, `-sip-oauth-mode: "maybe": want enable or disable`) {
		t.Errorf("a bad mode: %d %q", code, errs)
	}
	var stdout, stderr strings.Builder
	if code := run(ctx, f.args("-revoke-user", "rado"), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "act on a Redis -store") {
		t.Errorf("without Redis: %d %q", code, stderr.String())
	}
	// A file with no device, or a name the devices do not have, imports
	// nothing.
	empty := filepath.Join(t.TempDir(), "empty.json")
	writeFile(t, empty, "[]")
	typo := filepath.Join(t.TempDir(), "typo.json")
	writeFile(t, typo, `[{"name": "CSFrado", "owner": "rado", "oath": true}]`)
	for file, want := range map[string]string{empty: "lists no device", typo: `unknown field "oath"`} {
		if code, _, errs = act("-import-devices", file); code != 1 || !strings.Contains(errs, want) {
			t.Errorf("-import-devices %s: %d %q, want %q", filepath.Base(file), code, errs, want)
		}
	}
	if err := d.Load(ctx); err != nil || d.Len() != 4 {
		t.Errorf("after the refused imports, %d devices in Redis, %v", d.Len(), err)
	}
	// An action needs -store alone, not a whole node's settings.
	stdout.Reset()
	stderr.Reset()
	if code := run(ctx, []string{"-store", url, "-sip-oauth-mode", "disable"}, &stdout, &stderr); code != 0 || !strings.HasPrefix(stdout.String(), "SIP OAuth disabled") {
		t.Errorf("-store and -sip-oauth-mode alone: %d %q %q", code, stdout.String(), stderr.String())
	}
}

// TestNoDevicesInRedis: a node on a Redis with no device (not imported
// yet, or its data lost) says so once, at start and when the list becomes
// empty again, and refuses the devices it does not know.
func TestNoDevicesInRedis(t *testing.T) {
	srv := testredis.Start(t, t.TempDir(), false)
	f := newFixture(t)
	r, logs := f.startLogged("-edge", "", "-store", "redis://"+srv.Addr()+"/0", "-devices", "redis")
	if n := strings.Count(logs.String(), "no device in Redis"); n != 1 {
		t.Fatalf("%d warnings of an empty device list at start, want 1:\n%s", n, logs)
	}
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	register := func() int {
		req := c.register("CSFrado", "rado")
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`))
		return c.do(t, req).StatusCode
	}
	if code := register(); code != 404 {
		t.Fatalf("REGISTER with no device: %d", code)
	}
	ctx := context.Background()
	d := redisstore.NewDevices(srv.Client(), "")
	if err := d.Replace(ctx, []registrar.Device{{Name: "CSFrado", Owner: "rado", OAuth: true}}); err != nil {
		t.Fatal(err)
	}
	// The node has read the device before the list is emptied again.
	within(t, 2*time.Second, "the device imported", func() bool { return register() == 200 })
	if err := d.Replace(ctx, nil); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "a second warning once the list is empty again", func() bool { return strings.Count(logs.String(), "no device in Redis") == 2 })
}

// TestRedissWithoutTLS: a rediss:// store on a port that does not speak
// TLS fails with a word on what it likely means.
func TestRedissWithoutTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // holds the connection, says nothing
		}
	}()
	var out, errs strings.Builder
	code := run(context.Background(), []string{"-store", "rediss://" + ln.Addr().String(), "-sip-oauth-mode", "enable"}, &out, &errs)
	if code != 1 || !strings.Contains(errs.String(), "does Redis take TLS on that port?") {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
}
