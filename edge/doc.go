// Package edge is the MRA edge role of SIP OAuth mode: the proxy
// (Expressway-C's part of Cisco's mobile and remote access) that takes
// the soft clients' REGISTERs on its own TLS port and forwards them to a
// node's MRA OAuth port (5091) over mutual TLS, with its own certificate.
//
// A Proxy is built with New and started with Serve on a TLS listener the
// caller gives (or Listen / ListenAndServe); Close stops it. It can run
// inside another program, such as a lab that also runs the node.
//
// What it does with a REGISTER, as a transaction-stateful proxy (RFC 3261
// §16) limited to registrations:
//
//   - Request validation: Max-Forwards 0 gets 483 Too Many Hops; a
//     Proxy-Require gets 420 Bad Extension, as the proxy supports no
//     extension.
//   - With Config.Validator, the bearer token is checked first, as
//     Expressway's "Authorize by OAuth token with refresh" does: no
//     credentials get 407 with Proxy-Authenticate: Bearer
//     realm="ccmsipline", a refused token the same challenge with
//     error="invalid_token", and only a valid one is forwarded. The
//     credentials are forwarded too, as the node checks them again.
//     Without a Validator every REGISTER is forwarded and the node's
//     challenge is relayed.
//   - Forwarding: the Request-URI and the headers are kept; the client's
//     Via gets received (and rport) when the request came from another
//     address (§18.2.1, RFC 3581); Max-Forwards is decremented, or set to
//     70; the proxy's Via (SIP/2.0/TLS, the local address of the node
//     connection, a fresh branch per attempt) goes on top. A Path (RFC
//     3327) is added, the only one (a client's own is dropped): its user
//     part is a flow token that names the client's connection, signed
//     with a key of the proxy's, so that the node's requests to the
//     client come back through the proxy. No Record-Route is added: a
//     REGISTER creates no dialog.
//   - Answers: the proxy's Via is removed and every answer is relayed on
//     the client's server transaction, except 100 Trying, which is hop by
//     hop (§16.7 step 5).
//   - Requests from the node (MESSAGE, NOTIFY, OPTIONS, INVITE...) whose
//     top Route is the proxy's Path are relayed to the client over the
//     connection the token names (RFC 5626), and its answers back; 403
//     for a token the proxy did not issue, 430 Flow Failed when that
//     connection has closed, at most MaxRoutedBackPerClient at once per
//     client.
//   - Upstreams: one long-lived TLS connection per node, dialed on first
//     use and shared by all REGISTERs sent there. Nodes are tried in
//     Config.Upstreams order, a node that failed in the last 30 seconds
//     last; a node that cannot be reached, refuses the proxy's certificate
//     or answers 503 passes the REGISTER to the next.
//
// When no node can take a REGISTER, the client gets 503 Service
// Unavailable with a Warning (399 <Name> "<short text>") and Retry-After.
// 503 rather than 502: it is the proxy that cannot serve now, whatever the
// request, and a 503 tells the client to try another edge (RFC 3261
// §21.5.4); 502 Bad Gateway is kept for a node whose bytes are not SIP.
// When every node answers 503 itself, the last node's 503 is relayed.
// A REGISTER that gets no final answer within Config.Timeout gets 504
// Server Time-out: a transaction-stateful element must not send 408 to a
// non-INVITE request (RFC 4320 §4.2).
//
// Every upstream failure is logged and passed to Config.OnFailure as a
// Failure with the address, the raw error, and findings: a failed TLS
// handshake is explained by mtlstrust.Diagnose from the edge side, as
// troubleshooting scenario 2 (the proxy does not trust the node's signer)
// or 3 (the node does not trust the proxy's signer, alert unknown_ca, or
// the proxy's names are not in the node's edge-proxy table, alert
// bad_certificate). In TLS 1.3 the node's refusal arrives after the
// proxy's side of the handshake is done; it is diagnosed all the same.
//
// With Config.Table the proxy pushes its certificate's names to the
// node's edge-proxy table (an edgetable.Handler, over HTTPS with Basic
// authentication) before it serves, as Expressway-C does over AXL on
// refresh; edgetable.Push does the same on its own.
//
// Logs go to Config.Logger (log/slog) and never contain a token; Stats
// returns the counters.
package edge
