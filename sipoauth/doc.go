// Package sipoauth decides whether a SIP OAuth bearer token is good, whose
// it is, and why not, fast enough for a registrar serving thousands of
// clients, and offers a small issuer for tests, examples and labs.
//
// A Validator checks plain JWT access tokens (RFC 9068, typ "JWT" or
// "at+jwt") and Unified CM's shape: an RS256 JWS whose only claim,
// "private", is a JWE (alg "dir", enc "A128CBC-HS256") holding the real
// claims, decrypted with a key chosen by kid. Both the outer signature and
// the inner claims are checked. Refresh tokens are never accepted as
// credentials. It follows RFC 8725: algorithms are pinned (never "none";
// HMAC only with explicitly configured secrets, never with a public key),
// tokens cannot choose their key (jku, jwk, x5u and x5c headers are
// refused, as is crit), key ids are checked, exp is required and RSA keys
// under 2048 bits are refused.
//
// Keys come from a KeySource: StaticKeys (PEM public keys and
// certificates, such as Unified CM's AUTHZ signing certificate), or JWKS
// (a document, or a URL refreshed in the background and, rate-limited,
// when a token names an unknown key). Both rotate without a restart.
//
// Successful validations are cached by a hash of the token, never past the
// token's expiry; a cache hit skips signature and decryption and costs
// about a hundred nanoseconds without allocating. Revocation (by token id,
// or every token of a user issued before a time, as Unified CM revokes) is
// consulted on every call, cache hits included. ValidateRequest also binds
// the token to the REGISTER: the device it names, its owner, the From user.
//
// Errors wrap one sentinel each (ErrExpired, ErrBadSignature, ...), and
// ErrorCode turns them into the RFC 6750 error code of the challenge.
package sipoauth
