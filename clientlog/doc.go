// Package clientlog reads a SIP soft client's log (Cisco Jabber's, as in
// a problem report) and tells what happened: the configuration fetch, the
// SIP OAuth mode, the nodes and their OAuth ports, the TLS connection and
// whether it goes to the expected OAuth port, each REGISTER and its
// answer, whether a token was sent; and a diagnosis in terms of the
// troubleshooting scenarios (diag findings with fixes).
//
// Analyze streams the log: it copes with wrapped lines, SIP messages cut
// across lines, missing sections, bytes that are not UTF-8 and files of
// many megabytes, in bounded memory.
//
// # What it reads
//
// Log records start with a timestamp and a level,
//
//	2020-03-30 13:03:19,200 DEBUG [0x00000e2c] [file(line)] [component] [function] - text
//
// anywhere on a line: a log copied out of a document or a mail is often
// wrapped at arbitrary widths, so that one record ends on the line where
// the next begins, a header is cut after a hyphen ("Content-" / "Length:
// 1271") and the level may fall on the next line. The pieces of a wrapped
// line are joined again; a line that starts with a header name starts a
// new header. A SIP message printed by platform_print_sip_msg follows
// "sipio-sent---> " or "sipio-recv<--- ", either one header per line or
// flattened onto one line with the headers separated by spaces; a message
// pasted without a log record ("SIP/2.0 403 Forbidden ...") is read too.
// The markers of the rest of the story are:
//
//	fetchDeviceConfig() retrieved config for CSFrado
//	sip OAuth Mode=1
//	ccm0=10.10.10.1 ccm1=10.10.10.2  ccm2= sip_oauth_port_0=5090 ... sip_mar_oauth_port_0=5091 ...
//	[SIP][CONN][0] create TLS connection 10.10.10.10:5061-----10.10.10.1:5090
//
// and TLS failures (alerts unknown_ca and bad_certificate, certificate
// verification errors, failed handshakes).
//
// # Bounds and safety
//
// Lines are read through a 64 KiB buffer, longer ones in pieces; a SIP
// message is kept up to Options.MaxMessageSize bytes, the timeline up to
// Options.MaxEvents events, and the state between messages (REGISTERs
// waiting for an answer, challenges waiting for a retry) to a fixed number
// of entries; repeated findings are counted, not repeated. No token is
// ever copied into the report: every bearer token and JWT-shaped string
// of the log is masked before the log is parsed, and a request that
// carried bearer credentials only has Event.Token set. Output strings are
// valid UTF-8: bytes that are not are replaced by U+FFFD.
//
// # Diagnosis
//
// The findings, in log order, carry the codes CodePortMismatch
// (troubleshooting scenario 1 with its three causes), CodeOAuthModeOff,
// CodeUnexpectedPort, CodeNoTokenRetry, CodeInvalidToken,
// CodeTokenRefused, CodeRegisterRejected, CodeRegistered (info),
// CodeNoResponse, CodeTLSFailure (scenarios 2 and 3),
// CodeTruncatedMessage and CodeNoSIP; each has Path "line N".
package clientlog
