// Package sipauth is the SIP side of bearer authentication, written once
// for every place that checks a token on a SIP request: a registrar's
// OAuth and edge ports (package registrar) and an edge proxy that
// authorizes by token before forwarding (package edge).
//
// Bearer reads a request's Proxy-Authorization and Authorization values
// for its realm (package bearer: Cisco's token="…" form and RFC 8898's),
// bounds them, asks a sipoauth.TokenValidator about the token together
// with the device and From user it was sent for, and returns a Verdict:
// the identity, or the answer to give instead — 407 or 401 with a
// challenge that carries RFC 6750's error code, 403 for a token bound to
// another device or short of scope, 400 for malformed credentials, 503
// with Retry-After when the token could not be checked at all (a key
// server or a revocation list out of reach) — together with a Reason and
// the validator's error for the log.
//
// Reason is the typed cause every answer of the registrar and the edge
// proxy carries, from one list, and Class groups reasons for metrics
// (authentication failures, port mismatches, failed backends, …). The
// names are stable: logs and metric labels use them.
package sipauth
