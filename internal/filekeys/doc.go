// Package filekeys makes the public keys package keyfile reads the
// sipoauth.KeySource of a program: keyfile's key-id rule finds a token's
// key, its refusals become sipoauth's (ErrUnknownKey, ErrAlgorithm), and a
// reload swaps the whole set at once and tells the validator's cache so.
// keyfile reads keys and knows nothing of tokens; sipoauth validates and
// reads no files; the programs that verify tokens with key files (the
// registrar, the edge proxy) meet here.
package filekeys
