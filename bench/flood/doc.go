// Command flood measures what a UDP flood does to the registrar's memory
// and to a legitimate client's registrations, with and without
// siplimit.PacketConn in front of sipgo.
//
// It starts the target, itself run with -serve: the registrar of package
// registrar over plain UDP (PlaintextForLoadTests) on 127.0.0.1 and ::1
// (one socket merging two), with in-memory devices and an issuer whose
// nested tokens its validator trusts, the socket wrapped in a
// siplimit.PacketConn with the default limits or not. Then, from
// 127.0.0.1, it sends (a) junk datagrams, 1,380,000 in 30 s by default,
// and (b) valid-looking REGISTERs with tokens the registrar does not
// accept, 100,000 by default, from fresh source ports, while one
// legitimate client on ::1 registers once a second with a valid token. It
// reports the target's resident memory (VmRSS, and VmHWM, its peak, from
// /proc/<pid>/status) before, during and after each phase, and the
// legitimate client's successful registrations.
//
//	go run ./bench/flood                  # both targets, one after the other
//	go run ./bench/flood -limit on -source-rate off -per-socket 1
//
// With -source-rate off the PacketConn has no per-source rate, so that
// the one flooding address reaches the window cap, as many addresses
// together would. All traffic stays on 127.0.0.1 and ::1, which must be
// configured. It is a measurement, not a test: it takes a few minutes and
// both CPUs.
package main
