// Command client shows a soft client built with package client: it reads
// the device's configuration file from the node, registers as Cisco
// Jabber does (REGISTER, 407 with Bearer realm="ccmsipline", REGISTER
// with the token, 200 OK), stays registered until Ctrl-C, and
// unregisters.
//
//	go run ./examples/client -config http://10.10.10.1:6970/ -device CSFrado \
//	    -ca tomcat-ca.pem -token-url https://10.10.10.1:8443/ssosp/oauth/token \
//	    -refresh-token "$(cat rado.refresh-token)"
//
// -config may also be a file: URL or a local path (file:///etc/sipoauth/
// or /etc/sipoauth/CSFrado.cnf.xml): package client reads it, as it
// fetches an http(s) one.
//
// The access token comes from the token endpoint with the refresh token,
// renewed before it expires, or is given whole with -token, or comes from
// a sign-in at an OAuth 2.0 / OpenID Connect server with package signin:
// -login -issuer URL -client-id ID prints a URL and a code for the user
// (the device grant), and signs out at exit. The node's
// certificate (and the token endpoint's) must verify against -ca.
// cmd/sipoauth-client is the full program: MRA through an edge proxy,
// RFC 8898's form, client credentials, and a transcript of the exchange.
package main
