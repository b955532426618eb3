// Package bearer reads and writes the SIP Bearer authentication header
// values: the challenges a registrar sends in WWW-Authenticate and
// Proxy-Authenticate, and the credentials a client answers with in
// Authorization and Proxy-Authorization.
//
// It speaks both dialects of SIP OAuth. Unified CM challenges with
//
//	Proxy-Authenticate: Bearer realm="ccmsipline"
//
// and Jabber answers with
//
//	Proxy-Authorization: Bearer token="eyJhbGciOiJSUzI1NiJ9..."
//
// while RFC 8898 challenges with realm, scope, authz_server and error
// parameters and expects `Authorization: Bearer <b64token>`. ParseCredentials
// accepts the four forms seen in the field (Cisco, PJSIP, RFC 6750 and
// belle-sip) and reports which one it saw, so a registrar can accept every
// client and a client can answer in the form its server expects.
//
// Scheme and parameter names are case-insensitive; values are not.
// Quoted strings, escapes and linear white space follow RFC 3261 §25.1.
// Malformed input gets a *ParseError that names the byte offset and wraps
// a sentinel error (ErrUnterminatedQuote, ErrBadTokenChar, ...), never a
// panic; values longer than Parser.MaxLength (8 KiB by default) are
// refused before they are read. A value of another scheme returns
// ErrNotBearer, so a caller can fall through to Digest.
//
// Parsing allocates nothing for the common forms: returned strings alias
// the input. Formatting appends to a caller's buffer with AppendTo.
//
// The package uses the standard library only and no SIP stack: header
// values go in and out as strings. ParseChallenges and CredentialsFor take
// all the values of one header field, as RFC 3261 puts one challenge or
// one set of credentials in each.
package bearer
