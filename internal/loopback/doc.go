// Package loopback serves on 127.0.0.1 and ::1 at once, through one
// net.Listener (ListenTCP) or one net.PacketConn (ListenUDP) that merges
// two real sockets, one on each address. It is for tests and load tools
// that need two source addresses on one machine, such as a flood from
// 127.0.0.1 beside a legitimate client on ::1, or per-source caps that
// must tell two clients apart, while the server under test keeps a
// single socket and no wildcard address is ever bound. Available reports
// whether ::1 can be bound here, and Need6 skips (or, when
// SIPOAUTH_INTEGRATION=1, fails) a test where it cannot.
package loopback
