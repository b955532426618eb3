package main

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

// startLogging starts a registrar with f.args(extra...) whose log goes
// to the returned buffer.
func startLogging(t *testing.T, f *fixture, extra ...string) (*running, *syncbuf.Buffer) {
	t.Helper()
	s, err := loadConfig(f.args(extra...))
	if err != nil {
		t.Fatal(err)
	}
	logged := new(syncbuf.Buffer)
	s.logOut = logged
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return r, logged
}

// TestLogClientHangUp: a client that resets its TLS connection is a
// debug event in the registrar's log, not an error.
func TestLogClientHangUp(t *testing.T) {
	f := newFixture(t)
	r, logged := startLogging(t, f, "-log-level", "debug")
	conn, err := tls.Dial("tcp", r.addr("oauth", "tls"), &tls.Config{RootCAs: f.nodeCA.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Handshake(); err != nil {
		t.Fatal(err)
	}
	// A hang-up without close_notify, by reset: the node reads
	// "connection reset by peer".
	time.Sleep(50 * time.Millisecond) // the node reads the connection
	conn.NetConn().(*net.TCPConn).SetLinger(0)
	conn.NetConn().Close()

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logged.String(), `msg="sip: connection closed"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no record of the hang-up:\n%s", logged)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range strings.Split(logged.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			t.Errorf("error or warning logged for a client's hang-up: %s", line)
		}
		if strings.Contains(line, `msg="sip: connection closed"`) && !strings.Contains(line, "level=DEBUG") {
			t.Errorf("hang-up not at Debug: %s", line)
		}
	}
}

// TestLogRedis: go-redis's own lines go to the registrar's log, as
// records at Warn, from the moment a Redis store is configured (here one
// that does not answer, so start fails).
func TestLogRedis(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s, err := loadConfig(f.args("-store", "redis://"+addr+"/0"))
	if err != nil {
		t.Fatal(err)
	}
	logged := new(syncbuf.Buffer)
	s.logOut = logged
	if _, err := start(context.Background(), s); err == nil || !strings.Contains(err.Error(), "-store") {
		t.Fatalf("start with Redis down: %v", err)
	}
	// go-redis writes a line when it truncates an expiry below 1 ms.
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer rdb.Close()
	rdb.Set(context.Background(), "k", "v", time.Microsecond)
	want := `level=WARN msg="specified duration is 1µs, but minimal supported value is 1ms - truncating to 1ms" component=redis`
	if !strings.Contains(logged.String(), want) {
		t.Fatalf("registrar log:\n%s\nwant a line with %s", logged, want)
	}
}
