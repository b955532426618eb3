// Command tlsload is a load generator for SIP REGISTER over TLS, written
// to drive the OAuth registrar and Kamailio identically where SIPp (no TLS)
// cannot.
//
// In load mode it opens -conns persistent TLS connections, as Jabber keeps
// one open, and starts -rate registrations per second, all connections
// together, for -duration. A registration is one device's
//
//	REGISTER                                   -> 407 Proxy-Authenticate
//	REGISTER with Proxy-Authorization          -> 200
//
// where the credentials are Bearer token="..." (-auth bearer, the device's
// own token) or Digest MD5 computed from the 407's challenge (-auth
// digest). Devices are taken in the order of the -creds file, the
// injection files bench/setup writes for SIPp (user;device;token or
// user;device;[authentication username=U password=P]), starting over at its
// end. Each connection carries one registration at a time; a registration
// waits for a free connection when all are busy, and the achieved rate
// then falls below the target.
//
// It reports registrations done, failed (any other answer, or none within
// -timeout), the achieved rate (registrations / wall time, the drain
// included), latency percentiles (first REGISTER sent to 200 received),
// and, with -pid, the CPU time (utime+stime from /proc/PID/stat) of the
// server process and all its descendants (Kamailio's workers) over the
// run, per registration, with their summed RSS and PSS. Its last line
// starts with "result " and holds the figures as key=value pairs for
// scripts (bench/compare.sh). A run passes when every registration
// succeeded and the achieved rate is at least 90 % of the target.
//
// In idle mode (-idle N) it reads the server's memory, opens N
// connections at -connect-rate, registers one device on each, holds them
// for -hold and reads the memory again: the growth per connection, summed
// RSS and PSS over the server's processes, is the cost of an idle
// registered client. N connections need N open files here and in the
// server (ulimit -n); tlsload raises its own soft limit to the hard limit.
//
// Only 127.0.0.1, ::1 (and localhost) are accepted as targets. Connections
// (at most 50,000), the rate (100,000/s), the duration and -hold (10
// minutes each) and every wait (-timeout) are bounded. -ca verifies the
// server's certificate against a PEM file; without it the certificate is
// not verified (the target is this machine).
//
//	tlsload -target 127.0.0.1:5061 -auth digest -creds digest.csv -ca node.pem \
//	    -conns 50 -rate 4000 -duration 10s -pid "$(cat kamailio.pid)"
//	tlsload -target 127.0.0.1:5090 -auth bearer -creds bearer.csv -ca node.pem \
//	    -idle 20000 -pid "$REGISTRAR_PID"
package main
