package keyfile

import (
	"errors"
	"fmt"
)

// Reasons key material cannot be used. The errors of the package wrap one
// of them, so that errors.Is tells the reason; the message names the form
// that was expected and, in a bundle, which block or key is at fault.
var (
	// ErrTooLarge: the input is larger than MaxSize (MaxClusterKeysSize
	// for cluster keys), more than any key file needs.
	ErrTooLarge = errors.New("keyfile: input larger than the limit")
	// ErrNoKey: the input holds no key of the kind asked for.
	ErrNoKey = errors.New("keyfile: no key")
	// ErrFormat: the input, or a part of it, is not in a form the
	// function reads.
	ErrFormat = errors.New("keyfile: unreadable key material")
	// ErrEncrypted: a PEM private key is encrypted; decrypt it first
	// (openssl pkey -in key.pem -out plain.pem).
	ErrEncrypted = errors.New("keyfile: encrypted private keys are not supported")
	// ErrUnsupportedKey: a key of a type, curve or size that JOSE
	// validators refuse (see MinRSABits).
	ErrUnsupportedKey = errors.New("keyfile: unsupported key")
	// ErrKeySize: a cluster key of the wrong size.
	ErrKeySize = errors.New("keyfile: wrong key size")
	// ErrDuplicateID: two keys of a set under one key id.
	ErrDuplicateID = errors.New("keyfile: key id given twice")
	// ErrUnknownKey: KeySet.Lookup found no key for the token's kid.
	ErrUnknownKey = errors.New("keyfile: unknown key")
	// ErrAlgorithm: the key found is a JWK meant for another algorithm.
	ErrAlgorithm = errors.New("keyfile: key is for another algorithm")
)

// keyError is an error of the package: a reason, one of the sentinels,
// said in words of what was read, and the cause from the standard library
// or jwkset when there is one.
type keyError struct {
	reason error
	msg    string
	cause  error
}

func (e *keyError) Error() string { return "keyfile: " + e.msg }

// Unwrap returns the reason and the cause, for errors.Is and errors.As.
func (e *keyError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.reason}
	}
	return []error{e.reason, e.cause}
}

// fail returns a keyError of reason with the message msg (formatted).
func fail(reason error, format string, args ...any) error {
	return &keyError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// failCause is fail with a cause, whose text ends the message.
func failCause(reason, cause error, format string, args ...any) error {
	return &keyError{reason: reason, msg: fmt.Sprintf(format, args...) + ": " + cause.Error(), cause: cause}
}
