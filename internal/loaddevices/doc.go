// Package loaddevices names the devices and users of the load tests, and
// mints their tokens: bench/registrar, bench/setup and the SIPp injection
// files they write all speak of CSFload00000, owned by load00000, and so
// on.
package loaddevices
