// Command bearer prints the SIP OAuth registration exchange as it looks on
// the wire, in Unified CM's dialect and in RFC 8898's, with challenges and
// credentials written and read by package bearer and a real signed token.
//
//	go run ./examples/bearer
package main
