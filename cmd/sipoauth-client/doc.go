// Command sipoauth-client registers a device with a SIP OAuth registrar as Cisco
// Jabber does, prints the exchange, stays registered until interrupted,
// and unregisters.
//
//	go run ./cmd/sipoauth-client -config http://10.10.10.1:6970/ -device CSFrado \
//	    -ca tomcat-ca.pem -token-url https://10.10.10.1:8443/ssosp/oauth/token
//
// -config may also be a local file, or a directory holding
// <device>.cnf.xml, as sipoauth init writes one, or a file: URL
// (file:///etc/sipoauth/CSFrado.cnf.xml, or a directory's ending in /).
// -version prints the version and the VCS revision it was built from.
//
// With an OAuth 2.0 / OpenID Connect server of its own (Keycloak, Entra
// ID, Okta, Hydra), -issuer names it and -login signs the user in with the
// device grant (RFC 8628): the program prints a URL and a code to enter
// there from any browser, registers with the tokens it gets, renews them,
// and at exit unregisters and signs out, revoking them (RFC 7009):
//
//	go run ./cmd/sipoauth-client -config http://10.10.10.1:6970/ -device CSFrado //	    -ca tomcat-ca.pem -issuer https://login.example.com/realms/voice //	    -login -client-id sip-softphone -scope "openid offline_access sip:register"
//
// -answer accepts the MESSAGEs the node (or, for MRA, the edge proxy)
// sends back over the registration's connection, printing each.
//
// -issuer with -refresh-token (and -client-id) uses a refresh token held
// already instead of signing in.
//
// The refresh token is read from -refresh-token or the environment variable
// SIPOAUTH_REFRESH_TOKEN, a static access token from -token or
// SIPOAUTH_TOKEN: the environment keeps them out of the process list.
package main
