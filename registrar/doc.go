// Package registrar is the SIP OAuth REGISTER middleware for a
// github.com/emiago/sipgo server: what makes a VoIP product a registrar
// that Cisco Jabber-like clients (and RFC 8898 clients) register with,
// over TLS with a bearer token on the OAuth port, or through an edge proxy
// over mutual TLS on the MRA port.
//
// A REGISTER goes through a pipeline of small steps, each replaceable:
// the cluster switch, the device lookup, the port check (403 with
// Unified CM's "SIP OAuth Registration port Mismatch" warning), bearer
// authentication (407 with Bearer realm="ccmsipline", or RFC 8898's 401),
// the binding policy, and the store, which follows RFC 3261 §10.3.
// Bindings live in memory by default, or in Redis when several registrar
// nodes share the load.
package registrar
