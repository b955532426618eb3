package sipoauth

import (
	"errors"

	"github.com/sipoauth/sdk/bearer"
)

// Why a token is refused. Validate returns an error that wraps exactly one
// of them (with detail), so errors.Is tells "expired" from "bad signature".
var (
	ErrMalformed         = errors.New("sipoauth: malformed token")
	ErrTooLarge          = errors.New("sipoauth: token larger than the limit")
	ErrAlgorithm         = errors.New("sipoauth: signing algorithm not accepted")
	ErrUnknownKey        = errors.New("sipoauth: unknown signing key")
	ErrBadSignature      = errors.New("sipoauth: bad signature")
	ErrDecrypt           = errors.New("sipoauth: cannot decrypt the token's private claims")
	ErrMissingClaim      = errors.New("sipoauth: required claim missing")
	ErrExpired           = errors.New("sipoauth: token expired")
	ErrNotYetValid       = errors.New("sipoauth: token not valid yet")
	ErrIssuer            = errors.New("sipoauth: wrong issuer")
	ErrAudience          = errors.New("sipoauth: wrong audience")
	ErrInsufficientScope = errors.New("sipoauth: insufficient scope")
	ErrRevoked           = errors.New("sipoauth: token revoked")
	ErrRefreshToken      = errors.New("sipoauth: a refresh token is not a credential")
	ErrBindingMismatch   = errors.New("sipoauth: token not bound to this request")
	ErrNotAccessToken    = errors.New("sipoauth: not an access token")
	ErrLifetime          = errors.New("sipoauth: token lifetime longer than the limit")
)

// ErrUnavailable says that a token could not be checked because something
// it depends on failed: the revocation store, the key server, the
// caller's context. It is not the token's fault, so ErrorCode maps it to
// "" (answer with a server error and Retry-After, not a challenge), and it
// is never cached. The error wraps the cause too.
var ErrUnavailable = errors.New("sipoauth: token could not be checked: a service it depends on is unavailable")

var tokenErrors = []error{ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrBadSignature, ErrDecrypt,
	ErrMissingClaim, ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience, ErrRevoked, ErrRefreshToken, ErrBindingMismatch,
	ErrNotAccessToken, ErrLifetime, ErrInactive}

// ErrorCode maps a Validate error to the error code a registrar puts in its
// challenge (RFC 6750 §3.1, RFC 8898 §2.3): insufficient_scope for missing
// scope, invalid_request for an oversized token, invalid_token for every
// other reason the token was refused, and "" for errors that are not the
// token's fault (ErrUnavailable: a key server or revocation store that
// cannot be reached, a canceled context), which call for a server error
// rather than a challenge.
func ErrorCode(err error) bearer.ErrorCode {
	switch {
	case err == nil, errors.Is(err, ErrUnavailable):
		return ""
	case errors.Is(err, ErrInsufficientScope):
		return bearer.InsufficientScope
	case errors.Is(err, ErrTooLarge):
		return bearer.InvalidRequest
	}
	for _, e := range tokenErrors {
		if errors.Is(err, e) {
			return bearer.InvalidToken
		}
	}
	return ""
}
