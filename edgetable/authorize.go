package edgetable

import (
	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/mtlstrust"
)

// Authorize allows a peer one of whose names (RFC 6125, see
// mtlstrust.NameIndex) is in the table; a wildcard name in the peer's
// certificate counts only for entries with AllowWildcardCertificate set,
// so mtlstrust.WithWildcardCertificates is ignored. A refused peer gets a
// *mtlstrust.NotInTableError, which mtlstrust.Diagnose explains. The
// table is consulted on every handshake, so entries added or removed take
// effect at once for new connections; mtlstrust.AuthorizeConnection
// applies them to established ones.
func Authorize(t Table, opts ...mtlstrust.MatchOption) mtlstrust.Authorizer {
	return mtlstrust.AuthorizeMatch(func(n certcheck.Names) bool {
		_, ok := t.Match(n)
		return ok
	}, opts...)
}
