package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// results parses the "result k=v ..." line of a report.
func results(t *testing.T, out string) map[string]string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "result "); ok {
			m := map[string]string{}
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				m[k] = v
			}
			return m
		}
	}
	t.Fatalf("no result line in:\n%s", out)
	return nil
}

func baseConfig(target, creds, auth, ca string) config {
	return config{target: target, auth: auth, creds: creds, ca: ca, conns: 3, rate: 200, duration: 300 * time.Millisecond,
		connectRate: 1000, timeout: 2 * time.Second, expires: 120, pid: os.Getpid(), hold: 10 * time.Millisecond}
}

func runOut(t *testing.T, c config) (string, error) {
	t.Helper()
	var b strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := run(ctx, c, &b)
	return b.String(), err
}

func TestLoadBearer(t *testing.T) {
	creds, secrets := writeCreds(t, "bearer", 7)
	srv := newTestServer(t, "bearer", secrets)
	out, err := runOut(t, baseConfig(srv.addr, creds, "bearer", srv.caFile))
	if err != nil {
		t.Fatal(err)
	}
	r := results(t, out)
	if r["ok"] != "60" || r["failed"] != "0" || r["total"] != "60" || r["pass"] != "PASS" || r["conns"] != "3" {
		t.Fatalf("want 60 of 60 registered on 3 connections, PASS; got %v\n%s", r, out)
	}
	if got := srv.ok.Load(); got != 60 {
		t.Errorf("server answered 200 %d times, want 60", got)
	}
	if got := srv.conns.Load(); got != 3 {
		t.Errorf("server saw %d connections, want 3 persistent ones", got)
	}
	if cpu, err := strconv.ParseFloat(r["srv_cpu_s"], 64); err != nil || cpu < 0 {
		t.Errorf("srv_cpu_s %q", r["srv_cpu_s"])
	}
	if rss, _ := strconv.ParseFloat(r["srv_rss_mb"], 64); rss <= 0 {
		t.Errorf("srv_rss_mb %q: this test's own RSS should be read", r["srv_rss_mb"])
	}
}

func TestLoadDigest(t *testing.T) {
	creds, secrets := writeCreds(t, "digest", 5)
	srv := newTestServer(t, "digest", secrets)
	out, err := runOut(t, baseConfig(srv.addr, creds, "digest", srv.caFile))
	if err != nil {
		t.Fatal(err)
	}
	if r := results(t, out); r["ok"] != "60" || r["failed"] != "0" || r["pass"] != "PASS" {
		t.Fatalf("want 60 registered: %v\n%s", r, out)
	}
	if srv.bad.Load() != 0 {
		t.Errorf("server refused %d digest responses", srv.bad.Load())
	}
}

func TestWrongCredentialsFail(t *testing.T) {
	creds, secrets := writeCreds(t, "digest", 5)
	wrong := map[string]string{}
	for u := range secrets {
		wrong[u] = "not-" + secrets[u]
	}
	srv := newTestServer(t, "digest", wrong)
	out, err := runOut(t, baseConfig(srv.addr, creds, "digest", srv.caFile))
	if err != nil {
		t.Fatal(err)
	}
	r := results(t, out)
	if r["ok"] != "0" || r["failed"] != "60" || r["pass"] != "FAIL" {
		t.Fatalf("want 60 failures: %v\n%s", r, out)
	}
	if !strings.Contains(out, "403 to the REGISTER with credentials") {
		t.Errorf("report does not name the 403:\n%s", out)
	}
}

func TestWrongCA(t *testing.T) {
	creds, secrets := writeCreds(t, "bearer", 2)
	srv := newTestServer(t, "bearer", secrets)
	other := newTestServer(t, "bearer", secrets)
	_, err := runOut(t, baseConfig(srv.addr, creds, "bearer", other.caFile))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("want a certificate error, got %v", err)
	}
}

func TestIdle(t *testing.T) {
	creds, secrets := writeCreds(t, "bearer", 4)
	srv := newTestServer(t, "bearer", secrets)
	c := baseConfig(srv.addr, creds, "bearer", srv.caFile)
	c.idle = 12
	out, err := runOut(t, c)
	if err != nil {
		t.Fatal(err)
	}
	r := results(t, out)
	if r["mode"] != "idle" || r["open"] != "12" || r["registered"] != "12" || r["failed"] != "0" {
		t.Fatalf("want 12 connections open and registered: %v\n%s", r, out)
	}
	if before, _ := strconv.ParseFloat(r["rss_before_mb"], 64); before <= 0 {
		t.Errorf("rss_before_mb %q: this test's own RSS should be read", r["rss_before_mb"])
	}
	if srv.conns.Load() != 12 || srv.ok.Load() != 12 {
		t.Errorf("server saw %d connections and %d registrations, want 12 and 12", srv.conns.Load(), srv.ok.Load())
	}
	c.pid = 0
	if _, err := runOut(t, c); err == nil || !strings.Contains(err.Error(), "-pid") {
		t.Errorf("idle without -pid: want an error naming -pid, got %v", err)
	}
}

func TestRefusesOtherTargets(t *testing.T) {
	for _, target := range []string{"192.0.2.1:5061", "[2001:db8::1]:5061", "example.com:5061", "10.0.0.1:5061", "127.0.0.1", "127.0.0.1:0", "[fe80::1%lo]:5061"} {
		c := baseConfig(target, "x.csv", "bearer", "")
		if err := c.check(); err == nil {
			t.Errorf("%s accepted", target)
		}
	}
	for _, target := range []string{"127.0.0.1:5061", "[::1]:5061", "localhost:5061", "127.1.2.3:5061"} {
		c := baseConfig(target, "x.csv", "bearer", "")
		if err := c.check(); err != nil {
			t.Errorf("%s refused: %v", target, err)
		}
	}
}

func TestBounds(t *testing.T) {
	for name, mod := range map[string]func(*config){
		"conns":    func(c *config) { c.conns = maxConns + 1 },
		"rate":     func(c *config) { c.rate = 0 },
		"duration": func(c *config) { c.duration = time.Hour },
		"idle":     func(c *config) { c.idle = -1 },
		"auth":     func(c *config) { c.auth = "basic" },
		"timeout":  func(c *config) { c.timeout = 0 },
		"creds":    func(c *config) { c.creds = "" },
	} {
		c := baseConfig("127.0.0.1:5061", "x.csv", "bearer", "")
		mod(&c)
		if err := c.check(); err == nil {
			t.Errorf("%s: out-of-bounds setting accepted", name)
		}
	}
}

func TestReadCreds(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, strconv.Itoa(len(s))+".csv")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cs, err := readCreds(write("SEQUENTIAL\nalice;CSFalice;[authentication username=al password=pw1]\n\n# c\nbob;CSFbob;pw2\n"), "digest")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].digestUser != "al" || cs[0].secret != "pw1" || cs[1].secret != "pw2" || cs[1].digestUser != "bob" || cs[0].device != "CSFalice" {
		t.Fatalf("got %+v", cs)
	}
	for _, bad := range []string{"", "SEQUENTIAL\n", "a;b\n", "a;b;c;d\n", "a b;dev;tok\n", "a;dev;to\"k\n", "a;dev;[authentication username=a]\n"} {
		auth := "bearer"
		if strings.Contains(bad, "authentication") {
			auth = "digest"
		}
		if _, err := readCreds(write(bad+"#"+strconv.Itoa(len(bad))), auth); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := readCreds(write(strings.Repeat("x", 70<<10)+"\n"), "bearer"); err == nil {
		t.Error("a 70 KiB line accepted")
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.9, 90 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.021 {
			t.Errorf("quantile %.2f = %s, want %s within 2 %%", c.q, got, c.want)
		}
	}
	if h.max != 100*time.Millisecond || h.count != 100 {
		t.Errorf("max %s count %d", h.max, h.count)
	}
}
