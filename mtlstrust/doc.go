// Package mtlstrust gives a Unified CM-style node the TLS side of SIP OAuth
// mode. Both OAuth ports present the node's server ("Tomcat") certificate:
// port 5090 is server-authenticated TLS for clients that carry a token,
// port 5091 is mutual TLS for edge proxies (Expressway-C), whose chain must
// verify against the Tomcat-trust store and whose CN or a SAN must be in
// the edge-proxy table each proxy pushes to the node (package edgetable).
//
// The package has trust stores and the node's certificate, which reload
// from disk without a restart; authorizers with combinators, on RFC 6125
// matching of listed names (NameIndex, AuthorizeNames, AuthorizeMatch for
// a list kept elsewhere, such as edgetable.Authorize); tls.Config
// builders for the three roles; optional OCSP checking; and a diagnosis
// of failed handshakes (Diagnose) in terms of the troubleshooting
// scenarios of a real deployment. A Listener completes handshakes before
// handing connections to the SIP stack, so that the node learns why an
// edge proxy could not connect. AuthorizeConnection asks the authorizer
// again about an established connection, so that a SIP stack checking
// each request on the MRA OAuth port stops serving an edge proxy as soon
// as it is no longer allowed.
//
// A wildcard name in a certificate ("*.example.com") would pass, if it
// counted like any other name, for every listed proxy under it, and one
// such certificate is often installed on many servers: it counts only
// where allowed (WithWildcardCertificates for AuthorizeNames, the
// wildcardCerts argument of NameIndex.Add). The names a certificate
// presents, and the checks of a certificate as findings, are package
// certcheck's.
package mtlstrust
