package sipauth

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/sipoauth"
)

// ChallengeMode selects the dialect of the bearer challenge.
type ChallengeMode int

const (
	// CiscoMode answers 407 with Proxy-Authenticate: Bearer realm="ccmsipline",
	// as Unified CM does, and as every proxy challenges (RFC 3261 §22.3).
	CiscoMode ChallengeMode = iota
	// RFC8898Mode answers 401 with WWW-Authenticate: Bearer realm,
	// authz_server, scope, as RFC 8898's registrar does.
	RFC8898Mode
)

// Defaults of the Bearer fields left zero.
const (
	// DefaultMaxCredentials bounds the bytes of one credentials header
	// value (Proxy-Authorization, Authorization): room for a large nested
	// token and its parameters, no room for an attacker's megabyte.
	DefaultMaxCredentials = 16 << 10
	// DefaultRetryAfter is the Retry-After, in seconds, of a 503 answered
	// when the token could not be checked or too many checks run at once.
	DefaultRetryAfter = 5
)

// Bearer is the one bearer authentication step of a SIP request, the same
// on a registrar's OAuth and edge ports and at an edge proxy that checks
// tokens: it reads the credentials for its challenge's realm, validates the
// token against the request, and returns a Verdict. It never logs the
// token. A Bearer is safe for concurrent use; its fields must not change
// once it is in use.
type Bearer struct {
	// Validator checks the token (a *sipoauth.Validator, or your own).
	// Required.
	Validator sipoauth.TokenValidator
	// Mode selects the challenge's dialect.
	Mode ChallengeMode
	// Challenge is the challenge sent; bearer.CiscoChallenge() when its
	// Realm is empty. Its Error is set on a refused token.
	Challenge bearer.Challenge
	// MaxCredentials bounds each credentials header value, in bytes;
	// DefaultMaxCredentials when 0. Larger values get 400.
	MaxCredentials int
	// Limit, if set, bounds concurrent validations: a request beyond it
	// gets 503 with Retry-After (Overload) without its token being read.
	Limit chan struct{}
	// RetryAfter is the Retry-After, in seconds, of the 503 answers;
	// DefaultRetryAfter when 0.
	RetryAfter int
	// OnValidate, if set, is told how long each token validation took.
	OnValidate func(time.Duration)
}

// Verdict is the outcome of Bearer.Authenticate: an identity, or the
// answer to give instead.
type Verdict struct {
	// Identity is the authenticated identity; nil when refused.
	Identity *sipoauth.Identity
	// Status is the SIP status of the answer when refused (400, 401, 403,
	// 407 or 503); 0 when accepted.
	Status int
	// Phrase is the answer's reason phrase, e.g. "Bad Request: malformed
	// credentials".
	Phrase string
	// ChallengeHeader is the header that carries Challenge
	// (Proxy-Authenticate or WWW-Authenticate); empty when the answer
	// carries none.
	ChallengeHeader string
	// Challenge is the challenge sent, with its Error set for a refused
	// token.
	Challenge bearer.Challenge
	// RetryAfter is the Retry-After of a 503, in seconds; 0 otherwise.
	RetryAfter int
	// Reason says why, for logs and metrics.
	Reason Reason
	// Err is the validator's error, for the log: it says what was wrong
	// with the token, or which service failed. Never sent to the client.
	Err error
}

// Accepted reports whether the request was authenticated.
func (v Verdict) Accepted() bool { return v.Identity != nil }

// Response builds the answer to req for a refused request: the status and
// phrase (sip.NewResponseFromRequest), the extra headers in order, then
// the challenge or Retry-After.
func (v Verdict) Response(req *sip.Request, extra ...sip.Header) *sip.Response {
	return v.Complete(sip.NewResponseFromRequest(req, v.Status, v.Phrase, nil), extra...)
}

// Complete adds to res, an answer with the verdict's status and phrase
// built by the caller, the extra headers in order, then the challenge or
// Retry-After, and returns it.
func (v Verdict) Complete(res *sip.Response, extra ...sip.Header) *sip.Response {
	for _, h := range extra {
		res.AppendHeader(h)
	}
	if v.ChallengeHeader != "" {
		res.AppendHeader(sip.NewHeader(v.ChallengeHeader, v.Challenge.String()))
	}
	if v.RetryAfter > 0 {
		res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(v.RetryAfter)))
	}
	return res
}

// Authenticate reads the credentials among values (the request's
// Proxy-Authorization and Authorization header values, in order) and
// validates the token for req. Only a credential for the challenge's realm
// counts (bearer.CredentialsFor): none is challenged, two are refused.
//
// A token the validator refuses is challenged again with the RFC 6750
// error code (error="invalid_token"), except insufficient scope and a
// token bound to another device or user, which get 403. When the token
// could not be checked at all (sipoauth.ErrUnavailable, the context done),
// the answer is 503 with Retry-After and no challenge: the token was not
// found wanting.
func (b *Bearer) Authenticate(ctx context.Context, values []string, req sipoauth.Request) Verdict {
	ch := b.Challenge
	if ch.Realm == "" {
		ch = bearer.CiscoChallenge()
	}
	if v, ok := CheckSize(values, b.MaxCredentials); !ok {
		return v
	}
	creds, _, err := bearer.CredentialsFor(values, ch.Realm)
	switch {
	case err != nil:
		return Verdict{Status: 400, Phrase: "Bad Request: malformed credentials", Reason: MalformedCredentials, Err: err}
	case len(creds) == 0:
		return b.challenge(ch, NoCredentials, nil)
	case len(creds) > 1:
		return Verdict{Status: 400, Phrase: "Bad Request: duplicate credentials", Reason: DuplicateCredentials}
	}
	if b.Limit != nil {
		select {
		case b.Limit <- struct{}{}:
			defer func() { <-b.Limit }()
		default:
			return b.unavailable(Overload, nil)
		}
	}
	start := time.Now()
	id, err := b.Validator.ValidateRequest(ctx, creds[0].Token, req)
	if b.OnValidate != nil {
		b.OnValidate(time.Since(start))
	}
	if err == nil {
		return Verdict{Identity: &id}
	}
	// The error is classified once, by TokenReason; the challenge's RFC
	// 6750 code is ErrorCode's.
	switch reason := TokenReason(err); reason {
	case TokenCheckUnavailable:
		// Not the token's fault: a key server or the revocation list out
		// of reach, or the request given up on.
		return b.unavailable(reason, err)
	case BindingMismatch:
		return Verdict{Status: 403, Phrase: "Forbidden", Reason: reason, Err: err}
	case InsufficientScope:
		ch.Error = bearer.InsufficientScope
		return Verdict{Status: 403, Phrase: "Forbidden", ChallengeHeader: b.challengeHeader(), Challenge: ch, Reason: reason, Err: err}
	default:
		ch.Error = sipoauth.ErrorCode(err)
		return b.challenge(ch, reason, err)
	}
}

// CheckSize refuses credentials header values longer than max bytes
// each (DefaultMaxCredentials when max is 0 or less): for the first that
// is, it returns the 400 Verdict and false. A server that reads the
// credentials of every scheme (Digest too) bounds them with it before
// any parser sees them.
func CheckSize(values []string, max int) (Verdict, bool) {
	max = defaults.Positive(max, DefaultMaxCredentials)
	for _, v := range values {
		if len(v) > max {
			return Verdict{Status: 400, Phrase: "Bad Request: credentials too long", Reason: OversizedCredentials}, false
		}
	}
	return Verdict{}, true
}

func (b *Bearer) challengeHeader() string {
	if b.Mode == RFC8898Mode {
		return "WWW-Authenticate"
	}
	return "Proxy-Authenticate"
}

func (b *Bearer) challenge(ch bearer.Challenge, reason Reason, err error) Verdict {
	v := Verdict{ChallengeHeader: b.challengeHeader(), Challenge: ch, Reason: reason, Err: err}
	if b.Mode == RFC8898Mode {
		v.Status, v.Phrase = 401, "Unauthorized"
	} else {
		v.Status, v.Phrase = 407, "Proxy Authentication Required"
	}
	return v
}

func (b *Bearer) unavailable(reason Reason, err error) Verdict {
	ra := defaults.Positive(b.RetryAfter, DefaultRetryAfter)
	return Verdict{Status: 503, Phrase: "Service Unavailable", RetryAfter: ra, Reason: reason, Err: err}
}

// tokenReasons name the validator's errors, the most specific first.
var tokenReasons = [...]struct {
	err    error
	reason Reason
}{
	{sipoauth.ErrUnavailable, TokenCheckUnavailable},
	{sipoauth.ErrExpired, Expired}, {sipoauth.ErrRevoked, Revoked}, {sipoauth.ErrRefreshToken, RefreshTokenUsed},
	{sipoauth.ErrBindingMismatch, BindingMismatch}, {sipoauth.ErrBadSignature, BadSignature},
	{sipoauth.ErrUnknownKey, UnknownKey}, {sipoauth.ErrInsufficientScope, InsufficientScope},
	{sipoauth.ErrTooLarge, TokenTooLarge}, {sipoauth.ErrNotYetValid, NotYetValid},
	{sipoauth.ErrNotAccessToken, NotAccessToken}, {sipoauth.ErrLifetime, LifetimeTooLong},
	{sipoauth.ErrMalformed, MalformedToken},
}

// TokenReason names a validation error: the Reason of the first sentinel
// of package sipoauth it wraps, TokenCheckUnavailable for a token that
// could not be checked (a context done included), InvalidToken for any
// other refusal.
func TokenReason(err error) Reason {
	if err == nil {
		return ""
	}
	for _, e := range tokenReasons {
		if errors.Is(err, e.err) {
			return e.reason
		}
	}
	if sipoauth.ErrorCode(err) == "" {
		return TokenCheckUnavailable
	}
	return InvalidToken
}
