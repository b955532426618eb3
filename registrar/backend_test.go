package registrar_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testredis"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/redisstore"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
)

// A registrar whose backends are in Redis (package redisstore), with
// Redis failing under it.

// TestBackendOutage: with Redis gone, a REGISTER is answered 503 with
// Retry-After, counted as unavailable rather than as a bad token, and the
// cause is logged.
func TestBackendOutage(t *testing.T) {
	t.Parallel()
	for _, part := range []string{"revocation", "store"} {
		t.Run(part, func(t *testing.T) {
			srv := testredis.Start(t, t.TempDir(), false)
			// One try per command and one dial: go-redis's retries of a
			// refused connection only add seconds of backoff before the
			// same error.
			opts := srv.Options()
			opts.MaxRetries, opts.DialerRetries = -1, 1
			rdb := redis.NewClient(opts)
			t.Cleanup(func() { rdb.Close() })
			iss, err := issuer.New(issuer.Config{})
			if err != nil {
				t.Fatal(err)
			}
			cfg := sipoauth.Config{Keys: registrar.MustKeys(t, iss)}
			var store registrar.Store = registrar.NewMemoryStore()
			want := "store-unavailable"
			if part == "revocation" {
				cfg.Revocation = redisstore.NewRevocations(rdb, "")
				want = "token-check-unavailable"
			} else {
				store = redisstore.NewBindings(rdb, "")
			}
			v, _ := sipoauth.New(cfg)
			var logs syncbuf.Buffer
			var seen []sipauth.Reason
			observe := registrar.ObserverFunc(func(r *registrar.Request, _ int, _ time.Duration) { seen = append(seen, r.Reason) })
			reg, err := registrar.New(registrar.Config{NodeName: registrar.Node, Devices: registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
				Validator: v, Store: store, Observer: observe, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
				PeerInfo: oauthPeer})
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
			req := registrar.ParseRequest(t, strings.ReplaceAll(registrar.WireRegister{From: "rado", Token: tok, Contact: registrar.JabberContact("rado", "10.0.0.1:5061", "CSFrado", "00000000-0000-0000-0000-00000000000a")}.String(), "\r\n", "\n"))
			if res, r := reg.Serve(context.Background(), req, nil); res.StatusCode != 200 {
				t.Fatalf("with Redis up: %d %s", res.StatusCode, r.Reason)
			}
			srv.Kill()
			var got *sip.Response
			tx := &recordTx{respond: func(res *sip.Response) { got = res }}
			reg.HandleRegister(req, tx)
			if got == nil || got.StatusCode != 503 || registrar.Header(got, "Retry-After") != strconv.Itoa(registrar.RetryAfterUnavailable) {
				t.Fatalf("with Redis down:\n%v", got)
			}
			// Observed (Serve does not observe, HandleRegister does): the
			// outage, of the unavailable class: an outage is not a bad token.
			if len(seen) != 1 || seen[0] != sipauth.Reason(want) || seen[0].Class() != sipauth.ClassUnavailable {
				t.Errorf("observed %q, want [%s] of the unavailable class", seen, want)
			}
			log := logs.String()
			if !strings.Contains(log, "reason="+want) || !strings.Contains(log, "connection refused") {
				t.Errorf("the log does not say what failed:\n%s", log)
			}
			// An outage is one line when it starts and one when a
			// REGISTER succeeds again, however many are refused.
			for range 4 {
				reg.HandleRegister(req, tx)
			}
			srv.StartAgain()
			if res, r := reg.Serve(context.Background(), req, nil); res.StatusCode != 200 {
				t.Fatalf("with Redis back: %d %s", res.StatusCode, r.Reason)
			}
			reg.HandleRegister(req, tx)
			log = logs.String()
			failed, again := strings.Count(log, "a service the registrar depends on failed"), strings.Count(log, "registrations succeed again")
			if failed != 1 || again != 1 || !strings.Contains(log, "reason="+want+" refused=5") {
				t.Errorf("%d failure lines and %d recovery lines for one outage of 5 refusals, want 1 and 1:\n%s", failed, again, log)
			}
			srv.Kill()
			reg.HandleRegister(req, tx)
			reg.HandleRegister(req, tx)
			if n := strings.Count(logs.String(), "a service the registrar depends on failed"); n != 2 {
				t.Errorf("a second outage logged %d failure lines in all, want 2:\n%s", n, logs.String())
			}
		})
	}
}

// recordTx is a server transaction that keeps the answer.
type recordTx struct {
	sip.ServerTransaction
	respond func(*sip.Response)
}

func (t *recordTx) Respond(res *sip.Response) error { t.respond(res); return nil }

// TestHungBackend: a binding store that accepts connections and then
// never answers gets each REGISTER a 503 within the registrar's Timeout,
// concurrent ones alike, rather than an answer after the client gave up.
// Not parallel: it bounds the answers' wall time.
func TestHungBackend(t *testing.T) {
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		hole.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	rdb := redis.NewClient(&redis.Options{Addr: hole.Addr().String(), ContextTimeoutEnabled: true, DisableIdentity: true})
	t.Cleanup(func() { rdb.Close() })
	iss, _ := issuer.New(issuer.Config{})
	v, _ := sipoauth.New(sipoauth.Config{Keys: registrar.MustKeys(t, iss)})
	reg, err := registrar.New(registrar.Config{NodeName: registrar.Node, Devices: registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Validator: v, Store: redisstore.NewBindings(rdb, ""), Timeout: 300 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		PeerInfo: oauthPeer})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			req := registrar.ParseRequest(t, strings.ReplaceAll(registrar.WireRegister{From: "rado", Token: tok, CSeq: fmt.Sprint(i+1) + " REGISTER",
				Contact: registrar.JabberContact("rado", "10.0.0.1:5061", "CSFrado", "00000000-0000-0000-0000-00000000000a")}.String(), "\r\n", "\n"))
			start := time.Now()
			var got *sip.Response
			reg.HandleRegister(req, &recordTx{respond: func(res *sip.Response) { got = res }})
			if took := time.Since(start); got == nil || got.StatusCode != 503 || registrar.Header(got, "Retry-After") == "" || took > 2*time.Second {
				t.Errorf("REGISTER %d: %v after %v", i, got, took)
			}
		})
	}
	wg.Wait()
}

// oauthPeer is the peer of a request over TLS on the OAuth port, for
// tests that call Serve or HandleRegister themselves.
func oauthPeer(*sip.Request, sip.ServerTransaction) registrar.PeerInfo {
	return registrar.PeerInfo{Local: &net.TCPAddr{Port: 5090}, Remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, TLS: &tls.ConnectionState{}}
}
