// Package inspect runs the SDK's checks on what an engineer has at hand
// when SIP OAuth registration fails: a device configuration file, a PEM
// or DER certificate chain, a token, a Bearer header, a SIP response, a TLS error
// or a soft client's log. It returns diag findings with fixes and a
// decoded view, as JSON-ready values: the sipoauth CLI and the browser
// page (package wasm) both call it, so both show the same findings as the
// library.
//
// Check checks an input as a given Kind, Detect tells the kind, Auto does
// both, and CheckReader streams a log of any size through the analyzer.
// What is wrong with the input is a finding, never a Go error: a file
// that is not XML is cnf-unreadable, a token that does not decode is
// token-unreadable. Errors are for what stops a check: ErrEmpty,
// ErrUnknownKind, ErrTooLarge (1 MiB for an input, 64 MiB for a log, by
// default) and ErrBadOption. Result.Worst gives the severity a command
// turns into its exit status; Result.JSON the indented JSON it prints.
//
// # What each kind gives
//
//   - cnf: cnfxml's Validate findings and both target lists (on premises
//     and MRA); a file that does not parse is cnf-unreadable at the element
//     path the parser names, or the line and column of XML that is not
//     well-formed; a number, port or boolean that does not parse is a
//     finding of its own (bad-number, bad-port, bad-bool) and the rest of
//     the file is checked.
//   - cert: the certificate checks of package certcheck on the first
//     certificate (Options.Role, Host, Now), the others being the
//     intermediates offered with it, and a view of each certificate.
//   - token: the header and the readable claims, decoded without
//     verifying anything; the shape (jws, nested for Unified CM's JWS whose
//     private claim is a JWE, jwe), the use (a refresh token by sipoauth's
//     rules), and its times against Options.Now. The signature is never
//     shown.
//   - header: the challenge or the credentials, with the token shortened
//     to its first twelve characters and its length; credentials that carry
//     a JWT also get the token's view and findings. A value that does not
//     parse is header-unreadable at the header's name (or "header") and
//     the byte offset in the value: Proxy-Authenticate@13.
//   - response: the status, the reason and the header fields of interest;
//     a 403 with Unified CM's "SIP OAuth Registration port Mismatch" warning
//     is scenario 1: one error, port-mismatch, followed by client's three
//     causes as info findings whose message starts with PossibleCause; a
//     401 or 407 is explained by its challenges; an edge proxy's 503 by
//     its Warning (scenarios 2 and 3). A response copied from a web page,
//     its header fields run together on one line, is split at the known
//     header names.
//   - tls: the text of a TLS error or alert, classified as
//     mtlstrust.Diagnose classifies the error value, with the same codes,
//     scenarios and fixes, seen on Options.Side.
//   - log: the report of package clientlog; its findings are the result's.
//
// # How Detect decides
//
// An input that starts as a DER certificate does (a SEQUENCE with a two-
// or three-byte length, bytes no text starts with) is cert. Otherwise
// Detect looks at the input after a byte order mark and white space, and
// applies the first rule that matches:
//
//  1. the first element, after an XML declaration, comments or a DOCTYPE,
//     is <device>: cnf;
//  2. a status line, "SIP/2.0 NNN": response;
//  3. one of the names Proxy-Authenticate, WWW-Authenticate, Authorization
//     or Proxy-Authorization, then a colon: header;
//  4. a compact JWS or JWE (three or five base64url parts, the first
//     starting "ey"), alone or after "Bearer ": token. A pasted
//     "Bearer <JWT>" is read as the token it carries, whose check says
//     more than the header's would;
//  5. "Bearer" or "Digest" as the first word: header;
//  6. a marker of a soft client's log (sipio-, fetchDeviceConfig, create
//     TLS connection, sip OAuth Mode, sip_oauth_port, [csf.): log;
//  7. a PEM block: cert;
//  8. a TLS marker (tls:, remote error, alert, x509:, bad certificate,
//     unknown ca, certificate required, handshake, the edge-proxy table)
//     in at most five non-blank lines: tls;
//  9. lines starting with a timestamp: log; else a TLS marker: tls.
//
// Anything else is ErrUnknownKind. Markers are searched in the first MiB
// only, so that detecting a large log costs no more than a small one.
//
// The package builds for GOOS=js GOARCH=wasm and keeps the browser's
// download small: it does not import net/http or crypto/tls, and decodes
// tokens with encoding/json rather than a JOSE library.
package inspect
