// Package keyfile reads the key material of SIP OAuth mode from the files
// operators are given: the identity provider's signing keys, and Unified
// CM's cluster key, the symmetric key that decrypts the private claims of
// its nested tokens. Every program of the module reads keys through it, so
// that a file one of them accepts, all of them accept, and a key is named
// by one rule everywhere.
//
// Signing and verification keys come as PEM (PUBLIC KEY, RSA PUBLIC KEY,
// CERTIFICATE, and the private keys PRIVATE KEY (PKCS#8), RSA PRIVATE KEY
// (PKCS#1) and EC PRIVATE KEY (SEC 1), whose public halves verify what they
// sign) or as a JWKS document (RFC 7517). ParsePublicKeys tells one from
// the other; ParsePrivateKey reads the first private key of a PEM bundle.
// Only keys a JOSE validator accepts are read: RSA of at least MinRSABits,
// ECDSA on P-256, P-384 or P-521, and Ed25519.
//
// # Key ids
//
// A key's id is the kid its file gives it: a JWK's "kid", or a PEM block's
// "Key-ID" header. A key given without one is known by its Fingerprint:
// the lowercase hex SHA-256 of its DER SubjectPublicKeyInfo. That is the
// second half of Unified CM's key id, "<cluster-uuid>:<fingerprint>", and
// of the issuer package's, so a PEM public key verifies their tokens as
// it is. (Not the RFC 7638 thumbprint, which neither of them uses.)
//
// KeySet.Lookup finds the key a token names, in this order: the key whose
// id is the token's kid; for a kid of Unified CM's form "<prefix>:<x>",
// the key whose id is x; for a token that names no key, the set's only
// key. A JWK that carries "alg" verifies that algorithm only.
//
// # Cluster keys
//
// ParseClusterKeys reads cluster keys in every form they are handed out:
// the raw bytes (a file of exactly the key's size), hex, base64 (standard
// or URL alphabet, padded or not), a JWK {"kty":"oct","k":...}, a JWK set
// of such keys, or a JSON object {"<kid>": "<hex or base64 key>"}. It
// returns the keys by kid; a key given without a kid is under "".
//
// # Bounds and reloading
//
// No input larger than MaxSize is read (MaxClusterKeysSize for cluster
// keys), and bad input gets an error that names the form expected, never
// a panic. A File reads a key file again when its content changes, as
// package mtlstrust does for certificates: polling, so that a file
// replaced by rename is seen; a change that fails to load is reported
// once and the keys loaded before stay.
//
// The package uses the standard library and github.com/MicahParks/jwkset
// only, and knows nothing of tokens: package sipoauth validates with the
// keys read here.
package keyfile
