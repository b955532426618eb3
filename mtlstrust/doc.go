// Package mtlstrust gives a Unified CM-style node the TLS side of SIP OAuth
// mode. Both OAuth ports present the node's server ("Tomcat") certificate:
// port 5090 is server-authenticated TLS for clients that carry a token,
// port 5091 is mutual TLS for edge proxies (Expressway-C), whose chain must
// verify against the Tomcat-trust store and whose CN or a SAN must be in
// the edge-proxy table each proxy pushes to the node.
//
// The package has trust stores and certificate sources that reload from
// disk without a restart, the edge-proxy table (in memory or in a JSON
// file, with an HTTP handler for the proxies' refresh), RFC 6125 name
// matching, authorizers with combinators, tls.Config builders for the
// three roles, optional OCSP checking, certificate checks that return
// diag findings, and a diagnosis of failed handshakes (Diagnose) in terms
// of the troubleshooting scenarios of a real deployment. A Listener
// completes handshakes before handing connections to the SIP stack, so
// that the node learns why an edge proxy could not connect.
// AuthorizeConnection asks the authorizer again about an established
// connection, so that a SIP stack checking each request on the MRA port
// stops serving an edge proxy as soon as its entry leaves the table.
//
// A wildcard name in the table ("*.mra.example.com") admits certificates
// named one label under it. A wildcard name in a certificate is another
// matter: one such certificate, often installed on many servers, would
// pass for every listed proxy under it, so it counts only for the entries
// that allow it (Entry.AllowWildcardCertificate, "allowWildcardCertificate"
// in the file and the HTTP API) and for AuthorizeNames with
// WithWildcardCertificates.
//
// The table's HTTP handler limits failed authentications per source
// address (AuthThrottle, on by default): after a few wrong passwords the
// address gets 429 Too Many Requests for a lockout that doubles with each
// further failure, so the password cannot be guessed, while edge proxies
// on other addresses go on pushing their entries.
package mtlstrust
