package client

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/ucm"
)

// Errors of the client. Typed errors wrap them, so that errors.Is tells
// the kind of failure and errors.As gives the details.
var (
	// ErrNoTargets: the configuration names no node to register with.
	ErrNoTargets = errors.New("client: no registration target")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrNoToken: the token source has no token.
	ErrNoToken = errors.New("client: no access token")
	// ErrTokenRefused: the registrar refused the token, and no other token
	// could be obtained or the one obtained was refused too.
	ErrTokenRefused = errors.New("client: token refused")
	// ErrPortMismatch: the registrar answered 403 with Unified CM's
	// "SIP OAuth Registration port Mismatch" warning.
	ErrPortMismatch = errors.New("client: SIP OAuth registration port mismatch")
	// ErrBadTokenResponse: the token endpoint's answer is not a usable
	// token response.
	ErrBadTokenResponse = errors.New("client: malformed token response")
	// ErrTokenResponseTooLarge: the token endpoint's answer is larger than
	// the limit.
	ErrTokenResponseTooLarge = errors.New("client: token response too large")
	// ErrOAuthDisabled: the configuration file does not enable SIP OAuth
	// mode (sipOAuthMode is not 1).
	ErrOAuthDisabled = errors.New("client: SIP OAuth mode is not enabled")
	// ErrConnectionLost: the connection closed while a request was
	// outstanding.
	ErrConnectionLost = errors.New("client: connection lost")
)

// Finding codes of PortMismatchError.Causes, the three causes of
// troubleshooting scenario 1.
const (
	CodeOAuthDisabled       = diag.CodeOAuthDisabled
	CodeProfileWithoutOAuth = diag.CodeProfileWithoutOAuth
	CodeWrongConnectionKind = diag.CodeWrongConnectionKind
)

// PortMismatchError is the registrar's refusal of a registration on the
// wrong port or over the wrong kind of connection (troubleshooting
// scenario 1):
//
//	SIP/2.0 403 Forbidden
//	Retry-After: 35
//	Warning: 399 UCM2-PUB "SIP OAuth Registration port Mismatch"
type PortMismatchError struct {
	Target Target
	// Node is the Warning's agent, the node that refused, e.g. "UCM2-PUB".
	Node string
	// Warning is the Warning header value as received.
	Warning string
	// RetryAfter is the Retry-After the registrar asked for; 0 if none.
	RetryAfter time.Duration
	// ClientCertificate is true when the client presented a certificate
	// on the connection, which the OAuth port refuses.
	ClientCertificate bool
}

// Error says what was refused and when to retry.
func (e *PortMismatchError) Error() string {
	s := "client: " + e.Target.String() + ": 403 " + ucm.PortMismatchText
	if e.Node != "" {
		s += " from " + e.Node
	}
	if e.RetryAfter > 0 {
		s += ", retry after " + e.RetryAfter.String()
	}
	return s
}

// Unwrap returns ErrPortMismatch.
func (e *PortMismatchError) Unwrap() error { return ErrPortMismatch }

// Causes returns the three causes of the mismatch with their fixes, the
// likeliest first: the connection's kind when the client presented a
// certificate, else the device's profile.
func (e *PortMismatchError) Causes() diag.Findings {
	return diag.PortMismatchCauses(e.Target.Port, e.ClientCertificate)
}

// RejectedError is a final refusal of a registration other than a port
// mismatch: a challenge the client cannot answer, a refused token, or a
// 4xx-6xx answer.
type RejectedError struct {
	Target Target
	// Status and Reason are the final response's.
	Status int
	Reason string
	// ChallengeError is the error parameter of the last bearer challenge,
	// e.g. invalid_token, or empty.
	ChallengeError bearer.ErrorCode
	// Description is the challenge's error_description, or what the client
	// could not do.
	Description string
	// Err is the cause on the client's side, if any: ErrTokenRefused,
	// an error of the token source, a malformed challenge.
	Err error
}

// Error says who refused what.
func (e *RejectedError) Error() string {
	var b strings.Builder
	b.WriteString("client: ")
	b.WriteString(e.Target.String())
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Reason != "" {
		b.WriteString(" " + e.Reason)
	}
	if e.ChallengeError != "" {
		b.WriteString(" (error=" + string(e.ChallengeError) + ")")
	}
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.Err != nil {
		b.WriteString(": " + unprefixed(e.Err))
	}
	return b.String()
}

// unprefixed is err's text without the package's "client: ", for an
// error of this package inside another: one prefix a message.
func unprefixed(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "client: ")
}

// Unwrap returns Err.
func (e *RejectedError) Unwrap() error { return e.Err }

// TargetError is a failure to reach a target or to get an answer from it:
// the connection, the TLS handshake (a certificate that does not verify),
// the transaction's timeout, or a 5xx answer. The client fails over to the
// next target on these.
type TargetError struct {
	Target Target
	// Op is "dial", "tls", "request" or "response".
	Op string
	// Status is the answer's status when Op is "response", and
	// RetryAfter its Retry-After, if any.
	Status     int
	RetryAfter time.Duration
	Err        error
}

// Error says which target failed, at which step, and why.
func (e *TargetError) Error() string {
	return fmt.Sprintf("client: %s: %s: %s", e.Target, e.Op, unprefixed(e.Err))
}

// Unwrap returns the cause, e.g. a *tls.CertificateVerificationError.
func (e *TargetError) Unwrap() error { return e.Err }

// AllTargetsFailedError lists the failure of each target tried.
type AllTargetsFailedError struct {
	Errs []error
}

// Error lists the failures.
func (e *AllTargetsFailedError) Error() string {
	parts := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		parts[i] = unprefixed(err)
	}
	return "client: every target failed: " + strings.Join(parts, "; ")
}

// Unwrap returns the failures, for errors.Is and errors.As.
func (e *AllTargetsFailedError) Unwrap() []error { return e.Errs }
