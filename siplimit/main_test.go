package siplimit

import (
	"log/slog"
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// childEnv names the variable that makes the test binary a test's server
// process (see childMain) instead of running the tests.
const childEnv = "SIPLIMIT_TEST_CHILD"

// childMain runs a test's server process; set on systems that have one.
var childMain func(mode string) int

func TestMain(m *testing.M) {
	// sipgo logs some connection events through its default logger
	// whatever logger a server is given.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	if mode := os.Getenv(childEnv); mode != "" && childMain != nil {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}
