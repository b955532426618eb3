package ucmtoken

import "strings"

// The nested access token: an RS256 JWS of typ "JWT" whose only claim,
// ClaimPrivate, is a compact JWE (alg "dir", enc "A128CBC-HS256") of the
// real claims.
const (
	ClaimPrivate = "private" // the only claim of the outer JWS, holding the JWE
	OuterAlg     = "RS256"   // alg of the outer JWS
	OuterType    = "JWT"     // typ of the outer JWS, and of refresh tokens
	KeyAlg       = "dir"     // alg of the JWE: the cluster key is the content key
	ContentEnc   = "A128CBC-HS256"
)

// The refresh token: a JWS whose ClaimCType is RefreshCType. It must never
// pass for an access token.
const (
	ClaimCType   = "ctyp"
	RefreshCType = "refresh"
)

// Other authorization servers mark a refresh token in ClaimTokenType or in
// ClaimType, a claim or the JOSE header's parameter.
const (
	ClaimTokenType = "token_type"
	ClaimType      = "typ"
)

// IsRefreshMarker reports whether the value of ClaimCType, ClaimTokenType
// or ClaimType marks a refresh token: RefreshCType, "refresh_token" or
// "rt+jwt", in any case. The validator refuses such a token as a SIP
// credential and the inspectors name it, by this one rule.
func IsRefreshMarker(s string) bool {
	s = strings.ToLower(s)
	return s == RefreshCType || s == "refresh_token" || s == "rt+jwt"
}
