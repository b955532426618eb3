// Package registrar is the SIP OAuth REGISTER middleware for a
// github.com/emiago/sipgo server: what makes a VoIP product a registrar
// that Cisco Jabber-like clients (and RFC 8898 clients) register with,
// over TLS with a bearer token on the OAuth port, or through an edge proxy
// over mutual TLS on the MRA port.
//
// A REGISTER goes through a pipeline of small steps, each replaceable:
// the cluster switch, the device lookup, the port check (403 with
// Unified CM's "SIP OAuth Registration port Mismatch" warning; on the
// edge port, the edge proxy asked again about the connection),
// authentication (bearer on the OAuth and edge ports: 407 with Bearer
// realm="ccmsipline", or RFC 8898's 401; SIP Digest or nothing on the
// legacy port), the owner check, the address-of-record check, and the
// store, which follows RFC 3261 §10.3. Bindings live in memory by
// default, or in Redis when several registrar nodes share the load
// (package redisstore, which this package does not import).
//
// The default pipeline (New) fails closed. A role without an
// Authenticator refuses every REGISTER with 403; unauthenticated
// registration exists only as Config.InsecureLegacyWithoutAuthentication,
// for labs. An identity registers only its own user's address of record
// or its device's lines (AORRule, AORCheck: users compared by
// sipoauth.SameUser, the URI's user part unescaped), touches only the
// bindings its own device made, and an address of record holds at most
// DefaultMaxBindings contacts. A 200 OK over UDP stays within
// MaxUDPResponse. When a backend fails (the token check's key server or
// revocation list, the store, the device source), the answer is 503 with
// Retry-After and the cause is logged and counted apart from bad tokens.
//
// Bindings keep what reaching the client takes (Registrar.Lookup, Send):
// the Path of the proxies in between (RFC 3327, stored and echoed;
// refused where the client connected by itself) and, under sipserve, the
// flow it registered on (RFC 5626): the connection a request back to a
// client behind NAT, or to the edge proxy that holds its connection, goes
// over. A FlowRegistry (redisstore.Flows) tells every node of a cluster
// which flows are open.
//
// The registrar sees parsed requests; the sockets under sipgo are bounded
// by package siplimit (connections, timeouts, message size, UDP
// admission), which a program puts between its listeners and sipgo.
package registrar
