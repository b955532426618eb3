// Package redisstore keeps a registrar's shared state in Redis (one
// server, Sentinel or Redis Cluster: NewClient), so that several registrar
// nodes serve the same users: the bindings (Bindings, a registrar.Store),
// the token revocations (Revocations, a sipoauth.Revocation), the
// edge-proxy table (EdgeTable, an edgetable.Table), the devices (Devices,
// a registrar.Devices) and the cluster-wide SIP OAuth mode (Switch). It is
// a package of its own so that a product that keeps its state in memory
// does not link a Redis client.
//
// Every node reads and writes the same keys, under a prefix
// (DefaultPrefix, "sipoauth:", when none is given):
//
//	<prefix>aor:{<aor>}         the JSON array of the AOR's registrar.Binding
//	                            values; expires with its last binding
//	<prefix>revoked:jti:<id>    "1": the token with this id is revoked;
//	                            expires Leeway after the token would
//	<prefix>revoked:user:<user> the unix time in nanoseconds, in decimal,
//	                            before which the user's tokens are revoked;
//	                            <user> as sipoauth.UserKey writes it; kept
//	                            until deleted
//	<prefix>edge                a hash: an edgetable.Entry as JSON per
//	                            edgetable.HostKey
//	<prefix>devices             a hash: a registrar.Device as JSON per name
//	<prefix>sip-oauth-mode      "1" or "0"; each node's own setting while unset
//
// EdgeTable, Devices and Switch are asked on every handshake or REGISTER,
// so each node keeps a copy in memory: a write is announced on the
// channel <prefix>events:edge, <prefix>events:devices or
// <prefix>events:sip-oauth-mode, and Run reads what changed as the
// announcement comes, and everything again whenever its subscription is
// made (after a reconnection, announcements may have been missed) and
// every Resync. Monitor tells when Redis stops answering and when it
// answers again, once each.
//
// The braces of an AOR's key make the AOR a Redis Cluster hash tag. A
// binding update reads its key, applies registrar.Apply (the one RFC 3261
// §10.3 rule the memory store follows too) and writes the result with a
// compare-and-set script that writes only if the key still holds what was
// read: two round trips, again when another node wrote in between, so no
// update is lost and no removed binding comes back. Values are read with GETRANGE
// and bounded (1 MiB for an AOR), so a corrupt or hostile value cannot
// make a node allocate without limit.
//
// Give the client ContextTimeoutEnabled, so that a Redis that hangs
// answers within the REGISTER's deadline (registrar.Config.Timeout)
// rather than after the client gave up.
package redisstore
