package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testredis"
	"github.com/sipoauth/sdk/redisstore"
)

// startRedis runs a throwaway redis-server, without persistence, until
// the test ends, and returns its address; see testredis.Start.
func startRedis(t *testing.T) string {
	t.Helper()
	return testredis.Start(t, t.TempDir(), false).Addr()
}

// TestRedisStore: with -store redis://, bindings are written to Redis,
// where a second node sees them, and a token revoked in Redis is refused.
func TestRedisStore(t *testing.T) {
	addr := startRedis(t)
	f := newFixture(t)
	r := f.start("-edge", "", "-store", "redis://"+addr+"/3")

	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	req := c.register("CSFrado", "rado")
	res := c.do(t, req)
	if res.StatusCode != 407 {
		t.Fatalf("without credentials:\n%s", res)
	}
	tok := f.mint("rado", "CSFrado", map[string]any{"jti": "tok-1"})
	res, _ = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+tok+`"`)
	if res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("with a token:\n%s", res)
	}

	// Database 3 holds the binding, with the key expiring with it.
	rdb := redis.NewClient(&redis.Options{Addr: addr, DB: 3, DisableIdentity: true})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	keys, err := rdb.Keys(ctx, "sipoauth:aor:*").Result()
	if err != nil || len(keys) != 1 || keys[0] != "sipoauth:aor:{rado}" {
		t.Fatalf("keys %q, %v", keys, err)
	}
	if ttl, err := rdb.TTL(ctx, keys[0]).Result(); err != nil || ttl <= 0 || ttl > 120*time.Second {
		t.Fatalf("TTL %v, %v", ttl, err)
	}
	// Another node reading the same Redis sees the binding.
	bs, err := redisstore.NewBindings(rdb, "").Lookup(ctx, "rado")
	if err != nil || len(bs) != 1 || bs[0].Device != "CSFrado" || bs[0].User != "rado" || !strings.Contains(bs[0].Contact, "sip:rado@127.0.0.1") {
		t.Fatalf("bindings %+v, %v", bs, err)
	}

	// A revocation written to Redis by another node takes effect here,
	// even for a token already validated (and cached).
	if err := redisstore.NewRevocations(rdb, "").RevokeToken(ctx, "tok-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	again := c.register("CSFrado", "rado")
	again.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
	if res := c.do(t, again); res.StatusCode != 407 || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline", error="invalid_token"` {
		t.Fatalf("revoked token:\n%s", res)
	}
}

// A Redis that does not answer stops the start with an error naming
// -store, without its password.
func TestRedisUnreachable(t *testing.T) {
	f := newFixture(t)
	s, err := loadConfig(f.args("-store", "redis://:hunter2@127.0.0.1:"+strconv.Itoa(freePort(t))+"/0"))
	if err != nil {
		t.Fatal(err)
	}
	s.logOut = new(syncbuf.Buffer)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := start(ctx, s)
	if err == nil {
		r.Close(ctx)
		t.Fatal("started")
	}
	if !strings.HasPrefix(err.Error(), "-store redis://:xxxxx@127.0.0.1:") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %q", err)
	}
}

// freePort returns a loopback port nothing listens on (at the time).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
