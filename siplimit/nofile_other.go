//go:build !unix

package siplimit

// openFileLimit is 0: unknown on this system.
func openFileLimit() int { return 0 }
