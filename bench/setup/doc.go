// Command setup writes into one directory everything a comparison of the
// OAuth registrar with Kamailio needs (bench/compare.sh runs it):
//
//	devices.json         the registrar's -devices: -devices N devices CSFload00000..,
//	                     owned by load00000.., OAuth enabled
//	signing-key.pub.pem  the registrar's -keys: the public key of the tokens' RS256 signing key
//	cluster-key.json     the registrar's -decryption-key: the key of the tokens' inner JWE, by kid
//	node.pem, node.key   a P-256 certificate for localhost, 127.0.0.1 and ::1 (30 days) and its
//	                     key: the registrar's -cert and -key, Kamailio's TLS certificate, and
//	                     what tlsload -ca verifies
//	registrar.json       the registrar's -config naming the files above, with -issuer and -audience
//	bearer.csv           SIPp injection file (and tlsload -creds): user;device;token, one nested
//	                     RS256 token in Unified CM's shape per device, minted by package issuer
//	digest.csv           SIPp injection file (and tlsload -creds) for Kamailio:
//	                     user;device;[authentication username=user password=...]
//	kamailio-db/         db_text directory: table "htable" of users and their random passwords,
//	                     which Kamailio's htable module loads at start (bench/kamailio/registrar.cfg)
//
// Both injection files start with SEQUENTIAL, and line i of each is the
// same user and device. Tokens live -ttl (12 h); minting them takes an RSA
// signature each, about 10 s for 20,000 devices on two cores.
//
//	go run ./bench/setup -dir /tmp/cmp -devices 20000
//	sipoauth-registrar -config /tmp/cmp/registrar.json -oauth 127.0.0.1:5090 -edge ""
package main
