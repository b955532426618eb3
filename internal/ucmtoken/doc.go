// Package ucmtoken states the facts of Unified CM's token shapes that the
// validator (sipoauth) reads and the lab issuer (issuer) writes: the claim
// names of the nested access token and of the refresh token, and the
// algorithms of the nested token's outer JWS and inner JWE. Both packages
// import it, so that each fact is written once and neither imports the
// other.
package ucmtoken
