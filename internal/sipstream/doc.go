// Package sipstream reads and writes SIP messages on a byte stream (TLS or
// TCP), one implementation for the SIP stream's client ends: the soft
// client's connection, the edge proxy's connections to its nodes, and the
// CLI's probe. A Reader frames each message by its header section and its
// Content-Length (full or compact form, RFC 3261 §7.5, §18.3), within a
// bound on the header section, one on the body and sipgo's on a whole
// message, and parses it whole as sipgo's parser does (package
// internal/sipmsg); it skips the CRLF keep-alives between messages
// and, given a Writer, answers each double CRLF "ping" with a single CRLF
// "pong" (RFC 5626 §3.5.1, §4.4.1). An oversized, malformed or cut-short
// message is an error of its own, never a panic, and no input grows the
// Reader's memory past its bounds. A Writer serialises the writes of a
// connection's goroutines, each with a deadline.
//
// The server side of a SIP stream is siplimit's: it follows message
// boundaries in front of sipgo's transport without assembling messages.
// Both read Content-Length with ParseContentLength.
package sipstream
