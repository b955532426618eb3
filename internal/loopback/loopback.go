package loopback

import (
	"net"
	"sync"

	"github.com/sipoauth/sdk/internal/integration"
)

// available is whether ::1 can be bound, checked once.
var available = sync.OnceValue(func() error {
	c, err := net.ListenPacket("udp", "[::1]:0")
	if err != nil {
		return err
	}
	return c.Close()
})

// Available returns nil if ::1 can be bound here, or the error of binding
// it. It is checked once, at the first call.
func Available() error { return available() }

// TB is the part of a testing.TB that Need6 uses.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Need6 skips a test that needs ::1 where ::1 cannot be bound, and fails
// it there instead when SIPOAUTH_INTEGRATION=1 asks that every test run.
func Need6(t TB) {
	t.Helper()
	if err := Available(); err != nil {
		integration.Missing(t, "::1 is not configured (%v): the test needs a second source address beside 127.0.0.1", err)
	}
}
