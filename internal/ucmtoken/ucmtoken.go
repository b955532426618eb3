package ucmtoken

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
