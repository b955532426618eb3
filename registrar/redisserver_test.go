package registrar

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/internal/testredis"
)

// startRedis starts a throwaway redis-server, without persistence, and
// returns a client to it. Both go away with the test.
func startRedis(t testing.TB) *redis.Client {
	t.Helper()
	return testredis.StartClient(t)
}

// startRedisServer starts redis-server with its data in dir, with an
// append-only file when appendOnly; see testredis.Start.
func startRedisServer(t testing.TB, dir string, appendOnly bool) *testredis.Server {
	t.Helper()
	return testredis.Start(t, dir, appendOnly)
}
