// Package siplimit bounds what a SIP server's listening sockets take from
// the network before the SIP stack (package sipserve, or sipgo) sees it:
// how many connections,
// for how long, how large a message, how many datagrams from whom. A
// sipgo server left to itself keeps idle and half-sent connections
// forever, stops serving a port when accept runs out of file descriptors,
// keeps a server transaction alive for 32 s for every UDP request however
// fast they come, and drops badly framed messages without an answer.
// Wrapped in a Listener (TCP, TLS) or a PacketConn (UDP) from this
// package, the same server refuses the excess early and cheaply, answers
// badly framed requests with 400 and oversized ones with 513, and counts
// all of it (Stats) for logs and metrics. Package sipserve keeps no
// transaction, but the same bounds hold its sockets.
//
// The wrappers stand between the program's sockets and sipgo (or a
// sipserve.Server):
//
//	ln, _ := net.Listen("tcp", ":5090")
//	oauth := siplimit.NewTLSListener(ln, tlsConfig, siplimit.Limits{},
//		mtlstrust.ListenerOptions{Side: diag.NodeSide, OnError: report})
//	go srv.ServeTLS(oauth)
//
//	ln, _ = net.Listen("tcp", ":5060")
//	go srv.ServeTCP(siplimit.NewListener(ln, siplimit.Limits{}))
//	pc, _ := net.ListenPacket("udp", ":5060")
//	go srv.ServeUDP(siplimit.NewPacketConn(pc, siplimit.Limits{}))
//
// A connection from a TLS listener is a *TLSConn, whose ConnectionState
// method gives the TLS state; sipgo holds it as the net.Conn of its
// *sip.TCPConnection, so a request handler finds it with
//
//	tc.Conn.(interface{ ConnectionState() tls.ConnectionState })
//
// # Stream connections
//
// A Listener accepts TCP connections itself and hands sipgo only those
// within MaxConns and MaxConnsPerSource; the others are closed at once,
// so that they hold no descriptor. Accept errors (EMFILE, ENFILE,
// ECONNABORTED, ...) are waited out with a pause that doubles from 5 ms
// to 1 s, as net/http does, and logged; Accept returns only net.ErrClosed,
// once the Listener or the listener under it is closed. For TLS an
// mtlstrust.Listener completes the handshake within HandshakeTimeout and
// reports failures with their diagnosis, before sipgo sees the
// connection.
//
// Each connection's reads pass the bytes through unchanged while a small
// framer follows the messages in them (start line and headers to the empty
// line, Content-Length or its compact form l, the body; CRLF keep-alives
// between messages). The connection is closed when no byte arrives for
// IdleTimeout between messages, when a message is not complete within
// MessageTimeout of its first byte, when a write blocks for WriteTimeout,
// and when a message is over MaxMessageSize (answered with 513 Message
// Too Large) or badly framed: a missing, invalid or conflicting
// Content-Length, a CSeq that is not a number below 2^31 and a method
// (RFC 3261 §8.1.1.5), a header line without a colon, a CR without LF
// (answered with 400 Bad Request). sipgo would drop each of these
// without an answer and close the connection. The answers are built as
// a stateless UAS builds them, from the request's Via, From, To (given a
// tag), Call-ID and CSeq, each echoed as received but for control
// characters; sipgo never sees the refused message, and its own writes
// never interleave with them. A stream cannot be resynchronised after
// such a message, so the connection closes after the answer.
//
// # Datagrams
//
// A PacketConn drops, before sipgo parses anything: keep-alives (CR, LF),
// datagrams whose first line is not a SIP request line (responses too,
// unless AcceptResponses), requests from a source address over
// SourceRate, and requests beyond MaxPerWindow in the last Window, which
// bounds the server transactions sipgo keeps alive. A quarter of the
// window is kept for known sources, the addresses this socket sent a 2xx
// answer to a REGISTER in the last KnownFor: registered phones keep
// registering while unknown sources flood the port. A request over
// MaxMessageSize gets 513, one with an invalid Content-Length, a body
// shorter than it or a CSeq sipgo does not read 400, from the PacketConn. The per-source state is capped
// at MaxSources entries; idle ones are forgotten.
//
// sipgo also remembers every UDP source address (IP and port) it has read
// a message from, as long as the socket serves. The PacketConn bounds how
// fast that grows (admitted requests only, SourceRate per address, the
// window cap in all), not its total: a program facing floods from ever
// new ports for days should recreate its UDP socket now and then.
//
// # Defaults and why
//
// The zero Limits is the defaults; each bound fails closed. A negative
// value turns a bound off where its field says so.
//
//   - HandshakeTimeout 10 s: a TLS handshake takes a few round trips,
//     under 2 s on a poor mobile link; a client silent for 10 s is not
//     handshaking (mtlstrust's own default).
//   - IdleTimeout 5 min: a Jabber client re-registers about every 115 s
//     (the registrar caps Expires at 120 s) and may send CRLF keep-alives
//     in between (RFC 5626 suggests 95–120 s over TCP); an edge proxy's
//     connection carries many clients and is never idle that long. Five
//     minutes outlasts two missed refreshes, so only a connection that
//     stopped registering is closed, and an idle attacker holds a
//     descriptor for five minutes at most.
//   - MessageTimeout 20 s: Kamailio's tcp_msg_read_timeout. A REGISTER of
//     a few KiB arrives in one or two segments; 20 s covers a very slow
//     link and stops a message sent a byte at a time.
//   - WriteTimeout 10 s: a peer that does not read its answers for 10 s
//     has a full window; without the bound sipgo blocks a goroutine per
//     answer for as long as the peer likes.
//   - MaxConns: a quarter of the open-file limit, at most 4096. A node
//     serves up to three stream ports (OAuth 5090, edge 5091, legacy
//     5060): at their caps they use three quarters of the descriptors and
//     leave a quarter for UDP, files, Redis and outgoing connections. With
//     256 descriptors that is 64 a port. 4096 bounds memory too: sipgo
//     keeps a 32 KiB read buffer per connection, 128 MiB at the cap, TLS
//     state besides. A node with more TCP or TLS phones than that raises
//     MaxConns and its open-file limit together.
//   - MaxConnsPerSource 512, at most half of MaxConns: hundreds of phones
//     behind one NAT share one address, and no single address can take a
//     whole port, nor its handshakes. The edge port keeps the default
//     too: an edge proxy carries thousands of clients on a few
//     connections to each node, while anyone can open connections there
//     before the handshake tells them apart.
//   - MaxMessageSize 32 KiB (65535 at most, sipgo's own limit): a Jabber
//     REGISTER with a Unified CM token and its multipart body is a few
//     KiB. A half-sent message holds up to this much in sipgo's buffer per
//     connection, so half of sipgo's limit halves what a slow sender pins.
//   - SourceRate 50 requests/s, SourceBurst 200: 500 phones behind one
//     NAT address re-registering every two minutes send under 10 requests
//     a second; after a power cut they all register again within about
//     twenty seconds. One address can hold at most 50×32+200 = 1,800
//     places of the window, 11 %.
//   - MaxSources 65,536: about 100 bytes each, 6 MiB at most; a source is
//     forgotten once its rate allowance is full again (4 s by default)
//     unless it is known.
//   - Window 32 s, MaxPerWindow 16,384: sipgo keeps a UDP server
//     transaction for Timer J, 64×T1 = 32 s, after its answer, so at most
//     about 16,384 are alive: a registrar flooded up to the cap stays
//     under 100 MB (bench/flood, one address with the per-source rate
//     off, measures 89 MB; 460 MB and more without the PacketConn).
//     16,384 in 32 s is 512 requests/s sustained, three times what
//     10,000 UDP phones re-registering every two minutes need.
//   - KnownFor 10 min: five registration periods; a quarter of the window
//     (4,096 by default) stays for the sources that registered within it.
//
// Limits.Effective returns the limits with the defaults filled in, for a
// program to log.
package siplimit
