// Package ucm states the Unified CM wire facts that the registrar, the
// edge proxy, the soft client and the inspectors all speak: the Contact
// parameters naming a Cisco device and its model, the ;x-cisco-newreg
// mark of a new binding, and the 403 port mismatch with its Warning
// (399 <node> "SIP OAuth Registration port Mismatch") and Retry-After.
//
// It also holds the one codec of the SIP Warning header (RFC 3261
// §20.43), a strict, bounded parser and its writer, and the Retry-After
// reader (§20.33), so that what one side writes the other reads the same
// way. It imports only the standard library and so builds for the
// browser.
package ucm
