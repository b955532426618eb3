package sipoauth

import "github.com/sipoauth/sdk/internal/ucmtoken"

// Claim names the package reads. ClaimNames changes the ones that vary
// between authorization servers.
const (
	ClaimPrivate   = ucmtoken.ClaimPrivate // Unified CM: the only claim of the outer JWS, holding the JWE
	ClaimCType     = ucmtoken.ClaimCType   // Unified CM: "refresh" on a refresh token
	ClaimTokenType = ucmtoken.ClaimTokenType
)

// ClaimNames says where a token keeps what the Identity reports.
type ClaimNames struct {
	User   string // default "sub"
	Device string // default "device"; a token that names a device is bound to it
	Scope  string // default "scope": a space-separated string, or an array ("scp" is also read)
}

func (n ClaimNames) withDefaults() ClaimNames {
	if n.User == "" {
		n.User = "sub"
	}
	if n.Device == "" {
		n.Device = "device"
	}
	if n.Scope == "" {
		n.Scope = "scope"
	}
	return n
}
