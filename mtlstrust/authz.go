package mtlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"

	"github.com/sipoauth/sdk/certcheck"
)

// Authorizer decides whether a peer whose chain has been verified may
// connect: the edge-proxy policy of the MRA OAuth port. It returns nil to
// allow, or an error that says why not.
type Authorizer func(peer *x509.Certificate, verifiedChains [][]*x509.Certificate) error

// ErrNotAuthorized is wrapped by every refusal of the package's authorizers.
var ErrNotAuthorized = errors.New("mtlstrust: peer not authorized")

// NotInTableError is the refusal of a peer none of whose names is in the
// edge-proxy table (or the allowed names).
type NotInTableError struct {
	Names certcheck.Names // what the peer's certificate presents
}

// Error lists the names the peer presented.
func (e *NotInTableError) Error() string {
	if len(e.Names.DNS)+len(e.Names.IPs) == 0 {
		return "mtlstrust: peer certificate presents no name to match against the edge-proxy table"
	}
	return "mtlstrust: no name of the peer certificate (" + e.Names.String() + ") is in the edge-proxy table"
}

// Is makes errors.Is(err, ErrNotAuthorized) true.
func (e *NotInTableError) Is(target error) bool { return target == ErrNotAuthorized }

// MatchOption adjusts how names are matched.
type MatchOption interface{ apply(*matchOptions) }

type matchOptions struct {
	cn            certcheck.CommonNamePolicy
	wildcardCerts bool
}

type cnOption certcheck.CommonNamePolicy

func (o cnOption) apply(m *matchOptions) { m.cn = certcheck.CommonNamePolicy(o) }

// WithCommonName sets when the subject CN counts as a name;
// certcheck.CNWhenNoDNSSAN by default.
func WithCommonName(p certcheck.CommonNamePolicy) MatchOption { return cnOption(p) }

type wildcardCertsOption struct{}

func (wildcardCertsOption) apply(m *matchOptions) { m.wildcardCerts = true }

// WithWildcardCertificates lets AuthorizeNames accept a certificate that
// presents a wildcard name ("*.example.com") covering one of its names
// (expc1.example.com, or the same wildcard). Without it a wildcard in a
// certificate matches nothing. AuthorizeMatch ignores it: there the
// matcher decides (an edge-proxy table, entry by entry).
func WithWildcardCertificates() MatchOption { return wildcardCertsOption{} }

func matchOpts(opts []MatchOption) matchOptions {
	var m matchOptions
	for _, o := range opts {
		o.apply(&m)
	}
	return m
}

// AuthorizeAny allows every peer whose chain verified.
func AuthorizeAny() Authorizer {
	return func(*x509.Certificate, [][]*x509.Certificate) error { return nil }
}

// AuthorizeMatch allows a peer whose names (certcheck.PeerNames, under
// the WithCommonName policy) match reports true, and refuses any other
// with a *NotInTableError that lists them. match is called on every
// handshake and every AuthorizeConnection, so a list that changes, such
// as an edge-proxy table, applies at once; it must be safe for concurrent
// use. WithWildcardCertificates is ignored: match decides.
func AuthorizeMatch(match func(certcheck.Names) bool, opts ...MatchOption) Authorizer {
	o := matchOpts(opts)
	return func(peer *x509.Certificate, _ [][]*x509.Certificate) error {
		if peer == nil {
			return fmt.Errorf("%w: no peer certificate", ErrNotAuthorized)
		}
		n := certcheck.PeerNames(peer, o.cn)
		if !match(n) {
			return &NotInTableError{Names: n}
		}
		return nil
	}
}

// AuthorizeNames allows a peer that presents one of names: DNS names,
// IP addresses, or left-most wildcards ("*.example.com", which a
// certificate name one label under it matches). Names that are none of
// these are ignored: nothing could match them. A certificate that itself
// presents a wildcard name is refused unless WithWildcardCertificates is
// given.
func AuthorizeNames(names []string, opts ...MatchOption) Authorizer {
	o := matchOpts(opts)
	var idx NameIndex
	for _, n := range names {
		if _, err := netip.ParseAddr(n); err == nil || certcheck.ValidDNSName(n, true) {
			idx.Add("allowed", []string{n}, o.wildcardCerts)
		}
	}
	// idx is never written again, so concurrent reads need no lock.
	return AuthorizeMatch(func(n certcheck.Names) bool {
		_, ok := idx.Match(n)
		return ok
	}, opts...)
}

// Refusals of AuthorizeConnection made once, so that a refusal of a
// connection without a verified peer costs nothing.
var (
	errNoConnectionState = fmt.Errorf("%w: no TLS connection state", ErrNotAuthorized)
	errNoVerifiedPeer    = fmt.Errorf("%w: no verified client certificate", ErrNotAuthorized)
	errNoAuthorizer      = fmt.Errorf("%w: no authorizer", ErrNotAuthorized)
)

// AuthorizeConnection asks a again about the peer of an established
// connection, whose state cs is (tls.Conn.ConnectionState, or the TLS
// field of an http.Request). The handshake asked a once; a SIP stack that
// asks again for every request arriving on the MRA OAuth port stops
// serving an edge proxy as soon as its entry leaves the table, rather
// than when the proxy next connects, since an authorizer over a table
// (AuthorizeMatch, edgetable.Authorize) reads it at each call.
//
// A nil cs, a connection without a peer certificate or whose peer was not
// verified against a trust store (no verified chains), and a nil a are
// refused with an error wrapping ErrNotAuthorized. The chain is not
// verified again: a signer removed from the trust store, or a
// certificate that has expired since, ends only new handshakes. The
// function itself allocates nothing; the cost is a's (for an authorizer
// over a table, the peer's names and one lookup).
func AuthorizeConnection(a Authorizer, cs *tls.ConnectionState) error {
	switch {
	case cs == nil:
		return errNoConnectionState
	case len(cs.PeerCertificates) == 0 || len(cs.VerifiedChains) == 0:
		return errNoVerifiedPeer
	case a == nil:
		return errNoAuthorizer
	}
	return a(cs.PeerCertificates[0], cs.VerifiedChains)
}

// AuthorizeAllOf allows a peer that every authorizer allows.
func AuthorizeAllOf(as ...Authorizer) Authorizer {
	return func(peer *x509.Certificate, chains [][]*x509.Certificate) error {
		for _, a := range as {
			if err := a(peer, chains); err != nil {
				return err
			}
		}
		return nil
	}
}

// AuthorizeOneOf allows a peer that at least one authorizer allows; the
// refusal lists why each refused.
func AuthorizeOneOf(as ...Authorizer) Authorizer {
	return func(peer *x509.Certificate, chains [][]*x509.Certificate) error {
		errs := make([]error, 0, len(as))
		for _, a := range as {
			err := a(peer, chains)
			if err == nil {
				return nil
			}
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			return fmt.Errorf("%w: no authorizer", ErrNotAuthorized)
		}
		return errors.Join(errs...)
	}
}
