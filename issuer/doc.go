// Package issuer is a small OAuth 2.0 authorization server for tests,
// examples and labs: it stands in for Unified CM's (or another identity
// provider's) token service, so that registrars, clients and edge proxies
// can be tested against real tokens without one. It is never a production
// identity provider: it grants whatever scope is asked for, keeps users,
// clients and revocations in memory, and lets any client revoke any token.
//
// An Issuer mints access tokens in both shapes a validator must accept:
// the plain RFC 9068 JWT (typ "at+jwt", signed RS256, RS384, RS512, PS256,
// ES256, ES384 or EdDSA), and Unified CM's nested token, an RS256 JWS whose
// only claim, "private", is a JWE (alg "dir", enc "A128CBC-HS256") of the
// claims. It mints refresh tokens in Unified CM's shape (ctyp "refresh"),
// publishes its keys as a JWKS and rotates them, and its Handler serves
// the JWKS, a token endpoint (password, client_credentials and
// refresh_token grants) and a revocation endpoint (by user, as Unified CM
// revokes, or by token). TokenRequest.Extra makes the malformed tokens a
// validator must refuse.
//
// The package does not import sipoauth, so that sipoauth's own tests can
// use it; a *sipoauth.MemoryRevocation given as Config.Revocation makes the
// issuer's revocations reach the validators that share it.
package issuer
