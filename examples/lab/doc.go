// Command lab runs a whole SIP OAuth deployment in one process on
// 127.0.0.1 and narrates it: a Unified CM-like node (configuration server,
// token issuer, registrar with its OAuth and edge ports, edge-proxy
// table), an Expressway-like edge proxy, and Jabber-like clients.
//
//	go run ./examples/lab
//
// It mints a node CA, an edge CA and their certificates in memory, starts
// every part on ephemeral ports, and then:
//
//  1. registers an on-premises client: it fetches its configuration file,
//     sees sipOAuthMode 1, connects to the OAuth port over TLS, gets 407,
//     retries with a token and is registered for 120 s;
//  2. registers a client over Mobile and Remote Access, through the edge
//     proxy and its mutual-TLS hop to the node's edge port;
//  3. has the node send a MESSAGE to each: a location lookup, then the
//     request over the connection the client registered on, directly, or
//     through the edge proxy by the flow token of the Path it added;
//  4. produces the three troubleshooting scenarios for real and explains
//     each with its fix: a device whose profile lacks OAuth on the OAuth
//     port (403 port mismatch), an edge proxy that does not trust the
//     node's signer, and a node that does not trust the edge proxy's
//     signer;
//  5. unregisters the clients.
//
// It exits 0 when every step had the expected outcome, 1 otherwise (the
// failed checks are listed), and 2 on bad flags. With -serve it keeps
// everything running after the story and prints the addresses, the CA
// certificate's file and a token, so that another client can register.
//
// With -cluster it tells another story instead: three registrar nodes
// sharing a redis-server it starts (and says how to install when it is
// not), six clients spread over them by the priority of their
// configuration files, a node that stops (its clients register on their
// next node, no binding lost) and comes back (they return to it), Redis
// killed and started again (503 with Retry-After meanwhile, registrations
// again after, the bindings kept by its append-only file), and SIP OAuth
// turned off and on for the whole cluster.
//
// Flags: -serve; -cluster; -config-port, -issuer-port, -table-port, -oauth-port,
// -edge-port, -proxy-port (0 picks a free port); -timeout (the story's
// time limit, 10 s); -v (the parts' logs on standard error).
package main
