package testredis_test

import (
	"context"
	"testing"

	"github.com/sipoauth/sdk/internal/testredis"
)

// A test starts a server and talks to it; the server stops with the test.
// (Not run as an example: it needs redis-server.)
func Example() {
	_ = func(t *testing.T) {
		c := testredis.StartClient(t)
		if err := c.Set(context.Background(), "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := testredis.Start(t, t.TempDir(), true)
	ctx := context.Background()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if v, err := s.Client().Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after a restart with an append-only file: %q, %v", v, err)
	}
	if got := s.Options().Addr; got != s.Addr() {
		t.Fatalf("Options().Addr %s, Addr %s", got, s.Addr())
	}
}
