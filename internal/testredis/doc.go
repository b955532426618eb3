// Package testredis runs a throwaway redis-server for a test, on a free
// loopback port, and stops it when the test ends. A test that needs it is
// skipped when redis-server is not installed, and fails instead when
// SIPOAUTH_INTEGRATION=1 asks that integration tests run.
package testredis
