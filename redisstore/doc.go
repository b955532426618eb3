// Package redisstore keeps a registrar's shared state in Redis or Redis
// Cluster, so that several registrar nodes serve the same users: the
// bindings (Bindings, a registrar.Store) and the token revocations
// (Revocations, a sipoauth.Revocation). It is a package of its own so that
// a product that keeps its bindings in memory does not link a Redis
// client.
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
