// Package integration states the rule of the tests that need something
// beyond Go on the machine (redis-server, Kamailio, Chromium, openssl,
// oidc-provider, ::1): such a test is skipped where it is missing, and
// fails instead when SIPOAUTH_INTEGRATION=1 asks that every test run, as
// CI does.
package integration
