// Package sipoauth decides whether a SIP OAuth bearer token is good, whose
// it is, and why not, fast enough for a registrar serving thousands of
// clients. It validates tokens only; the issuer package mints them for
// tests, examples and labs.
//
// A Validator checks plain JWT access tokens (RFC 9068, typ "JWT" or
// "at+jwt") and Unified CM's shape: an RS256 JWS whose only claim,
// "private", is a JWE (alg "dir", enc "A128CBC-HS256") holding the real
// claims, decrypted with a key chosen by kid. Both the outer signature and
// the inner claims are checked, the outer exp, nbf and iat included.
// Refresh tokens and ID tokens are never accepted as credentials. It
// follows RFC 8725: algorithms are pinned (never "none"; HMAC only with
// explicitly configured secrets, never with a public key), tokens cannot
// choose their key (jku, jwk, x5u and x5c headers are refused, as is
// crit), key ids are checked, exp is required and RSA keys under 2048
// bits are refused. Config.MaxLifetime refuses tokens minted to live too
// long.
//
// Tokens are read strictly, so that what the signature covers is read in
// one way only: header and claim names are matched exactly (where
// encoding/json would let "EXP" stand for "exp") and must be unique, every
// base64url segment must be in its one canonical spelling (no padding, no
// line breaks, no stray bits), and an aud string is one audience.
//
// Keys come from a KeySource: StaticKeys (PEM public keys and
// certificates, such as Unified CM's AUTHZ signing certificate), or JWKS
// (a document, or a URL refreshed in the background and, rate-limited,
// when a token names an unknown key). Both rotate without a restart.
// RS256, RS384 and RS512 signatures are checked as crypto/rsa checks them,
// but with each key's modulus precomputed once and kept while the key is
// in use (filippo.io/bigmod, the standard library's own arithmetic), which
// saves a third of every verification; other algorithms, and every
// algorithm in FIPS 140-3 mode, are verified by the standard library.
//
// Successful validations are cached by a hash of the token, never past any
// exp (nor before any nbf or iat) the token carries, and never past the
// keys that verified and decrypted it: StaticKeys, SymmetricKeys and JWKS
// are Generational, and a change of keys ends the entries checked with the
// old ones; a KeySource that is not Generational is asked for the key on
// every hit. A cache hit skips signature and decryption and costs about a
// hundred nanoseconds without allocating. Revocation (by token id, or
// every token of a user issued before a time, as Unified CM revokes) is
// consulted on every call, cache hits included. ValidateRequest also binds
// the token to the REGISTER: the device it names, its owner, the From
// user.
//
// Users are compared by one rule everywhere: SameUser, Unicode simple case
// folding as strings.EqualFold, with UserKey as the matching key for maps
// and stores. Revoking "bob" revokes the tokens of "BOB"; the registrar
// compares a token's user with a device's owner and with the user part of
// an address of record by the same rule.
//
// Errors wrap one sentinel each (ErrExpired, ErrBadSignature, ...), and
// ErrorCode turns them into the RFC 6750 error code of the challenge. A
// token that could not be checked because a service failed (the
// revocation store, the key server, the caller's context) is not refused:
// the error wraps ErrUnavailable and its cause, has no error code, and is
// never cached.
package sipoauth
