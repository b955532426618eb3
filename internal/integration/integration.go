package integration

import "os"

// Env is the variable that makes the integration tests required.
const Env = "SIPOAUTH_INTEGRATION"

// Required reports whether Env asks that every test run.
func Required() bool { return os.Getenv(Env) == "1" }

// TB is the part of a testing.TB that Missing uses.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Missing ends the test for what the machine lacks, which the message
// says (with how to install it): skipped, or failed when Required.
func Missing(t TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(format+" ("+Env+"=1 requires it)", args...)
		return
	}
	t.Skipf(format, args...)
}
