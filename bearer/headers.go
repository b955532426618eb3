package bearer

import (
	"errors"
	"fmt"
)

// This file works on header values as plain strings, so that any SIP stack
// can hand them over: one string per header field line, in message order.

// ParseChallenges reads every value of one WWW-Authenticate or
// Proxy-Authenticate header field of a response (RFC 3261 puts one
// challenge in each) and returns the Bearer challenges in order, and
// whether a value offered another scheme, such as Digest.
//
// A malformed Bearer value does not hide the others: the well-formed ones
// are returned together with an error that joins one error per bad value,
// each saying the value's index and wrapping its *ParseError.
func ParseChallenges(values []string) (challenges []Challenge, otherSchemes bool, err error) {
	return Parser{}.ParseChallenges(values)
}

// ParseChallenges is the package function ParseChallenges with p's limits.
func (p Parser) ParseChallenges(values []string) (challenges []Challenge, otherSchemes bool, err error) {
	return parseAll(values, p.ParseChallenge, func(Challenge) bool { return true })
}

// CredentialsFor reads every value of an Authorization or
// Proxy-Authorization header field and returns, in order, the Bearer
// credentials that a server of the given realm should try (RFC 3261
// §22.3): those whose realm is realm, and those that name no realm, as
// Cisco's do. An empty realm selects every Bearer value. Realms compare
// case-sensitively. otherSchemes reports a value of another scheme, for a
// caller that falls through to Digest.
//
// Malformed Bearer values are reported as ParseChallenges does, whatever
// their realm, and do not hide the well-formed ones.
func CredentialsFor(values []string, realm string) (creds []Credentials, otherSchemes bool, err error) {
	return Parser{}.CredentialsFor(values, realm)
}

// CredentialsFor is the package function CredentialsFor with p's limits.
func (p Parser) CredentialsFor(values []string, realm string) (creds []Credentials, otherSchemes bool, err error) {
	return parseAll(values, p.ParseCredentials, func(c Credentials) bool {
		return realm == "" || c.Realm == "" || c.Realm == realm
	})
}

// parseAll parses each value, keeps the results that keep accepts, notes
// other schemes and joins the errors of malformed values.
func parseAll[T any](values []string, parse func(string) (T, error), keep func(T) bool) (out []T, otherSchemes bool, err error) {
	var errs []error
	for i, v := range values {
		x, perr := parse(v)
		switch {
		case perr == nil:
			if keep(x) {
				out = append(out, x)
			}
		case errors.Is(perr, ErrNotBearer):
			otherSchemes = true
		default:
			errs = append(errs, fmt.Errorf("header value %d: %w", i, perr))
		}
	}
	return out, otherSchemes, errors.Join(errs...)
}
