// Command sipoauth-registrar is a standalone SIP OAuth registrar: the node that
// Jabber-like soft clients register with over TLS using an OAuth bearer
// token, directly on the OAuth port or through an edge proxy over mutual
// TLS on the edge port, answering as Unified CM does (407 with
// Proxy-Authenticate: Bearer realm="ccmsipline", then 200 OK with
// Expires: 120), or in RFC 8898's form.
//
// A typical command line:
//
//	sipoauth-registrar -cert node.pem -key node.key \
//	    -trust edge-ca/ -edge-table edge-proxies.json \
//	    -keys authz.pem -decryption-key cluster-key.json \
//	    -issuer https://cucm.example.com \
//	    -devices devices.json -node-name UCM2-PUB -metrics 127.0.0.1:9090
//
// It prints the addresses it listens on, one per line, such as
//
//	listening oauth                    tls   0.0.0.0:5090
//	listening edge                     tls   0.0.0.0:5091
//	listening metrics                  http  127.0.0.1:9090
//
// and stops cleanly on SIGINT or SIGTERM. sipoauth-registrar -h lists every
// setting. A bad setting is reported by name before anything starts, with
// exit status 2; any other failure exits with status 1.
//
// # Listeners
//
// -oauth (0.0.0.0:5090) is server-authenticated TLS: clients present no
// certificate and authenticate with a token. -edge (0.0.0.0:5091) is
// mutual TLS for edge proxies: their chain must verify against -trust and
// a name of their certificate must be in -edge-table. -legacy (off; e.g.
// 0.0.0.0:5060) is plain TCP and UDP, where an OAuth device is answered
// 403 with Warning: 399 <node> "SIP OAuth Registration port Mismatch", as
// Unified CM answers it. Devices without OAuth register there with SIP
// Digest (RFC 3261, SHA-256 and MD5 as RFC 8760 adds, realm -digest-realm,
// "ccmsipline" by default) against the "digest" secret of their entry in
// -devices; a device without one is refused with 403. Only
// -legacy-unauthenticated lets them register with no authentication at
// all (labs only). -plaintext-for-load-tests takes OAuth registrations
// over plain TCP and UDP for load tools that cannot speak TLS; tokens then
// travel in clear, and the registrar says so loudly. Set -oauth "" or
// -edge "" to turn a port off. Each listener needs its own port: the
// registrar tells roles apart by the local port.
//
// # Limits
//
// Every SIP socket is bounded (package siplimit): connections per port
// (-max-connections, a quarter of the open-file limit by default) and per
// source address (-max-connections-per-source), the TLS handshake (10 s),
// silence between messages (-idle-timeout, 5 min), one message
// (-message-timeout, 20 s), its size (-max-message-size, 32 KiB; 513
// beyond), and the UDP requests let through (-udp-source-rate per address,
// -udp-max-per-window per 32 s); each UDP socket asks for a receive buffer
// of -udp-receive-buffer bytes (1 MiB; the kernel doubles it, within
// net.core.rmem_max), where a burst waits while the workers are busy; the
// 200 OKs kept for retransmitted REGISTERs take at most -udp-kept-answers
// bytes (2 MiB; a retransmission whose answer has gone is answered again
// from the bindings). An address of record holds at most
// -max-bindings contacts, -max-device-bindings of one device; a token may
// register only its user's own address or its device's lines, and touch
// only its device's contacts. The limits in force are logged at start, and
// what they refuse is counted on -metrics.
//
// # Files
//
// -cert and -key are the node certificate (PEM, leaf first, then its
// chain) and its key, and -trust a PEM, DER or PKCS#12 file, or a
// directory of them, holding the signers of the edge proxies'
// certificates. -edge-table is the edge-proxy table:
//
//	{"entries": [{"hostNameOrIp": "expc1", "description": "Expressway-C 1",
//	              "names": ["expc1.example.com"]}]}
//
// A missing table file is an empty table, created by the first change.
// A certificate that presents a wildcard name (*.example.com) matches an
// entry only if the entry says "allowWildcardCertificate": true. With
// -table-api, -table-user and -table-password, edge proxies push their
// entry over HTTPS (GET, PUT and POST /entries, DELETE
// /entries/{hostNameOrIp}, HTTP Basic authentication); an address that
// fails to log in five times is locked out (429 with Retry-After) for a
// minute, doubling up to an hour. Behind a reverse proxy every caller
// shares its address: serve the API directly. An edge proxy removed from
// the table is refused from its next REGISTER on, also on the
// connections it already holds.
//
// -keys holds the keys that verify token signatures: PEM public keys or
// certificates, or a JWKS document ({"keys": [...]}), read by package
// keyfile and found by its key-id rule. A PEM key is known by its
// fingerprint, the lowercase hex SHA-256 of its DER SubjectPublicKeyInfo:
// a token whose kid is that fingerprint, or ends with ":<fingerprint>" as
// Unified CM's "<cluster-uuid>:<fingerprint>" does, is verified with it,
// and a token without kid is verified with the file's only key. A PEM
// block may instead name its key id in a header:
//
//	-----BEGIN PUBLIC KEY-----
//	Key-ID: lab-1
//
//	MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA...
//	-----END PUBLIC KEY-----
//
// -jwks fetches a JWKS from a URL instead, hourly and when a token names
// an unknown key. -issuer-url takes an OAuth 2.0 or OpenID Connect
// authorization server's issuer URL (Keycloak's
// https://idp.example.com/realms/sip, say) instead of -keys, -jwks and
// -issuer: its metadata (OpenID Connect Discovery, else RFC 8414) gives
// the JWKS, pins the issuer it must name exactly, and is the RFC 8898
// challenge's authz_server; the issuer and its URLs must be https but on
// a loopback host. Tokens of such servers (RFC 9068) often carry an
// opaque sub: -user-claim names the claim that holds the user
// (preferred_username, upn, email), compared with the device's owner
// case-insensitively and nothing else, and -device-claim the claim that
// binds a token to a device. With -introspection-client and
// -introspection-secret, the registrar's credentials at that server,
// tokens are opaque and checked at its introspection endpoint (RFC 7662),
// each answer kept a minute at most and never past the token's exp,
// while revocations hold at once. -decryption-key holds the keys that decrypt the private
// claims of Unified CM's nested tokens (JWE, alg dir, enc A128CBC-HS256),
// each under the key id the JWE names: a JSON object of key id to the
// 32-byte key in base64 (standard or URL alphabet, padding optional) or
// hex, a JWK {"kty":"oct","kid":...,"k":...} or a JWK set of them:
//
//	{"5f0c1d8e-2a4b-4c6d-8e0f-1a2b3c4d5e6f": "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="}
//
// -devices is the JSON array of the devices allowed to register; oauth
// says whether the device's security profile enables OAuth:
//
//	[{"name": "CSFrado", "owner": "rado", "lines": ["1001"], "oauth": true},
//	 {"name": "SEP00112233AABB", "owner": "rado", "lines": ["1005"], "oauth": false,
//	  "digest": {"ha1-sha256": "<hex SHA-256 of rado:ccmsipline:password>"}}]
//
// A device may register its owner's own address of record (sip:rado@...)
// and its lines; see registrar.AORRule. "digest" holds "password", or
// "ha1-md5" and "ha1-sha256", and "user" when the digest user is not the
// owner.
//
// The certificate, the trust store, the edge-proxy table, the keys, the
// decryption keys and the devices are reloaded when their files change
// (checked every -reload-interval, 5 s); a reload that fails is logged
// and the previous content stays in use.
//
// # Configuration file
//
// -config reads a JSON object whose names are the flag names; flags given
// on the command line override it, and relative paths in it are relative
// to its directory. Unknown names are errors. Lists (issuer, audience)
// are a string or an array; times (max-expires, min-expires,
// reload-interval) are seconds or a duration string such as "2m".
//
//	{
//	  "oauth": "0.0.0.0:5090", "edge": "0.0.0.0:5091",
//	  "cert": "node.pem", "key": "node.key", "trust": "edge-ca",
//	  "edge-table": "edge-proxies.json", "table-api": "0.0.0.0:8443",
//	  "table-user": "expressway", "table-password": "s3cret",
//	  "keys": "authz.pem", "decryption-key": "cluster-key.json",
//	  "issuer": ["https://cucm.example.com"], "audience": "sip",
//	  "devices": "devices.json", "store": "redis://10.0.0.5:6379/0",
//	  "node-name": "UCM2-PUB", "max-expires": 120, "min-expires": 60,
//	  "metrics": "127.0.0.1:9090", "rate": 5, "log-level": "info"
//	}
//
// # A cluster
//
// With -store naming a Redis, several nodes share their bindings, the
// token revocations (keys sipoauth:revoked:jti:<id> and
// sipoauth:revoked:user:<user>) and the cluster-wide SIP OAuth mode (key
// sipoauth:sip-oauth-mode, "1" or "0", Unified CM's `utils sipOAuth-mode
// enable|disable`; on while it is unset); see package redisstore. With
// -edge-table redis the edge-proxy table is in Redis too, so that an
// edge proxy that pushes its entry to one node's -table-api is let in on
// every node, and with -devices redis the devices (the hash
// sipoauth:devices, loaded with redisstore.Devices). Each node keeps a
// copy of these in memory, read at start, kept fresh by Redis pub/sub
// (within moments of a change) and read whole again after every
// reconnection. With -store alone (or a node's configuration), -import-devices FILE
// makes the devices of a devices file the cluster's, -sip-oauth-mode
// enable|disable sets the mode, and -revoke-user USER revokes every token
// of a user issued so far; each acts in Redis and exits. The forms of
// -store:
//
//	redis://[user:password@]host:port[/db]            one server (rediss:// for TLS)
//	redis://host:port?master_name=NAME&addr=host:port  Sentinel
//	redis+cluster://host:port?addr=host:port           Redis Cluster
//
// with -store-ca, -store-cert and -store-key for TLS. While Redis does not
// answer, REGISTERs are answered 503 with Retry-After; the node logs one
// line when the outage starts and one when it ends, and goes on by
// itself. On SIGTERM a node stops taking connections and requests,
// answers those it has read, closes its connections so that clients
// register on another node, and exits within -shutdown-timeout (10 s).
//
// -metrics serves Prometheus metrics on /metrics:
// sipoauth_registrations_total by outcome, sipoauth_auth_failures_total by
// reason, latency histograms, sipoauth_bindings with the memory store and
// sipoauth_redis_up with Redis; /healthz answers 200 while the process
// runs, and /readyz 200 when the node is fit for traffic (its listeners
// up, Redis answering, the shared state read, the -jwks keys fetched) and
// 503 with the reasons otherwise, and while it stops.
// With -pprof the same address serves Go's profiles on /debug/pprof/
// (CPU, heap, goroutines), as bench/compare.sh takes them with PROFILE=1;
// they show the process's internals, so keep that address private.
package main
