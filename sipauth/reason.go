package sipauth

// Reason says why a REGISTER was answered as it was: the name a log line
// and a metric label carry, from one list that the registrar and the edge
// proxy share. Its Class groups it for metrics. The empty Reason is a
// request not answered yet.
type Reason string

// String returns the reason's name, e.g. "expired".
func (r Reason) String() string { return string(r) }

// Class groups reasons for metrics and alerts.
type Class uint8

const (
	// ClassNone is the empty Reason and names not in the list.
	ClassNone Class = iota
	// ClassAccepted: the request was served (a registration, a refresh,
	// an unregistration, a query).
	ClassAccepted
	// ClassAuth: the credentials are missing, malformed or refused, or the
	// authenticated identity may not do what it asks.
	ClassAuth
	// ClassPort: the request reached a port, or came over a connection,
	// that its device may not use (the port mismatch), or names a device
	// or domain this node does not serve.
	ClassPort
	// ClassRequest: the request itself is malformed or out of order.
	ClassRequest
	// ClassLimit: a bound was reached (rate, concurrency, bindings).
	ClassLimit
	// ClassUnavailable: a service the answer depends on failed (the token
	// check's key server or revocation list, the binding store, the device
	// source); the answer is 503 and the cause is in the log.
	ClassUnavailable
	// ClassInternal: the server is misconfigured or no step answered.
	ClassInternal
)

var classNames = [...]string{"none", "accepted", "auth", "port", "request", "limit", "unavailable", "internal"}

// String returns the class's name, e.g. "auth".
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "none"
}

// Outcomes of a served request.
const (
	Registered   Reason = "registered"   // bindings added or refreshed, or a query answered
	Unregistered Reason = "unregistered" // the request removed bindings
)

// Reasons of the bearer step (Bearer.Authenticate).
const (
	NoCredentials        Reason = "no-credentials"        // challenged: no credentials for the realm
	MalformedCredentials Reason = "malformed-credentials" // 400: a credentials header that does not parse
	DuplicateCredentials Reason = "duplicate-credentials" // 400: more than one credential for the realm
	OversizedCredentials Reason = "oversized-credentials" // 400: a credentials header over the bound
	MalformedToken       Reason = "malformed-token"       // the token is not a JWS (or JWE) at all
	InvalidToken         Reason = "invalid-token"         // refused for a reason without a name of its own
	Expired              Reason = "expired"
	NotYetValid          Reason = "not-yet-valid"
	Revoked              Reason = "revoked"
	RefreshTokenUsed     Reason = "refresh-token" // a refresh token offered as a credential
	BindingMismatch      Reason = "binding-mismatch"
	BadSignature         Reason = "bad-signature"
	UnknownKey           Reason = "unknown-key"
	InsufficientScope    Reason = "insufficient-scope"
	TokenTooLarge        Reason = "too-large"
	NotAccessToken       Reason = "not-access-token"
	LifetimeTooLong      Reason = "lifetime-too-long"
	// TokenCheckUnavailable: the token could not be checked (a key server
	// or the revocation list out of reach, the request given up on).
	TokenCheckUnavailable Reason = "token-check-unavailable"
	// Overload: more token checks at once than the bound allows.
	Overload Reason = "overload"
)

// Reasons of the other steps of a registrar's pipeline.
const (
	NoAuthenticator   Reason = "no-authenticator" // 403: the port has no authentication
	Unauthenticated   Reason = "unauthenticated"  // 403: no step authenticated the request
	NotOwner          Reason = "not-owner"        // 403: the identity does not own the device
	AORNotAllowed     Reason = "aor-not-allowed"  // 403: not the identity's address of record
	EdgeNotAuthorized Reason = "edge-not-authorized"
	NoEdgeAuthorizer  Reason = "no-edge-authorizer"

	// Digest authentication on the legacy port.
	DigestOAuthDevice Reason = "digest-oauth-device" // 403: Digest is refused for OAuth devices
	DigestNoSecret    Reason = "digest-no-secret"    // 403: the device has no usable secret
	DigestURI         Reason = "digest-uri"          // 400: uri is not the Request-URI
	DigestRealm       Reason = "digest-realm"        // 401: credentials for another realm
	DigestUser        Reason = "digest-user"         // 401: not the device's digest user
	DigestAlgorithm   Reason = "digest-algorithm"    // 401: an algorithm not offered
	DigestQOP         Reason = "digest-qop"          // 401: no qop, or other than "auth"
	DigestNonce       Reason = "digest-nonce"        // 401: a nonce not sealed under this key and realm
	DigestStale       Reason = "digest-stale"        // 401 stale=true: a correct response under an expired nonce
	DigestReplay      Reason = "digest-replay"       // 401: nc not above the last seen
	DigestFailed      Reason = "digest-failed"       // 401: wrong response
	DigestNoncesFull  Reason = "digest-nonces-full"  // 401: too many nonces in use
	DigestConfig      Reason = "digest-config"       // 500: the DigestAuth is misconfigured

	// The port check and the cluster switch (the port mismatch).
	OAuthDisabled           Reason = "oauth-disabled"
	ProfileWithoutOAuth     Reason = "profile-without-oauth"
	OAuthDeviceOnLegacy     Reason = "oauth-device-on-legacy-port"
	NotTLS                  Reason = "not-tls"
	MTLSOnOAuthPort         Reason = "mtls-on-oauth-port"
	ProxiedOnOAuthPort      Reason = "proxied-on-oauth-port"
	NoEdgeCertificate       Reason = "no-edge-certificate"
	UnknownDevice           Reason = "unknown-device"    // 404
	DomainNotServed         Reason = "domain-not-served" // 403
	PathNotAllowed          Reason = "path-not-allowed"  // 403: Path on the OAuth role
	DevicesUnavailable      Reason = "devices-unavailable"
	StoreUnavailable        Reason = "store-unavailable"
	RateLimited             Reason = "rate-limited"
	TooManyBindings         Reason = "too-many-bindings"
	Internal                Reason = "internal"
	UDPAnswerTooLarge       Reason = "udp-answer-too-large" // 513
	BadContact              Reason = "bad-contact"
	BadExpires              Reason = "bad-expires"
	OversizedHeader         Reason = "oversized-header"
	BadTo                   Reason = "bad-to"
	BadFrom                 Reason = "bad-from"
	BadCallIDOrCSeq         Reason = "bad-call-id-or-cseq"
	BadCSeq                 Reason = "bad-cseq"
	TooManyContacts         Reason = "too-many-contacts"
	SeveralDevices          Reason = "several-devices"
	BadWildcard             Reason = "bad-wildcard"
	IntervalTooBrief        Reason = "interval-too-brief" // 423
	OutOfOrder              Reason = "out-of-order"
	BadMaxForwards          Reason = "bad-max-forwards"
	TooManyHops             Reason = "too-many-hops" // 483
	UnsupportedProxyRequire Reason = "proxy-require" // 420
)

// Class returns the reason's class.
func (r Reason) Class() Class {
	switch r {
	case "":
		return ClassNone
	case Registered, Unregistered:
		return ClassAccepted
	case NoCredentials, MalformedCredentials, DuplicateCredentials, OversizedCredentials, MalformedToken, InvalidToken,
		Expired, NotYetValid, Revoked, RefreshTokenUsed, BindingMismatch, BadSignature, UnknownKey, InsufficientScope,
		TokenTooLarge, NotAccessToken, LifetimeTooLong,
		NoAuthenticator, Unauthenticated, NotOwner, AORNotAllowed, EdgeNotAuthorized, NoEdgeAuthorizer,
		DigestOAuthDevice, DigestNoSecret, DigestURI, DigestRealm, DigestUser, DigestAlgorithm, DigestQOP,
		DigestNonce, DigestStale, DigestReplay, DigestFailed:
		return ClassAuth
	case OAuthDisabled, ProfileWithoutOAuth, OAuthDeviceOnLegacy, NotTLS, MTLSOnOAuthPort, ProxiedOnOAuthPort,
		NoEdgeCertificate, UnknownDevice, DomainNotServed, PathNotAllowed:
		return ClassPort
	case UDPAnswerTooLarge, BadContact, BadExpires, OversizedHeader, BadTo, BadFrom, BadCallIDOrCSeq, BadCSeq,
		TooManyContacts, SeveralDevices, BadWildcard, IntervalTooBrief, OutOfOrder, BadMaxForwards, TooManyHops,
		UnsupportedProxyRequire:
		return ClassRequest
	case Overload, RateLimited, TooManyBindings, DigestNoncesFull:
		return ClassLimit
	case TokenCheckUnavailable, DevicesUnavailable, StoreUnavailable:
		return ClassUnavailable
	case Internal, DigestConfig:
		return ClassInternal
	}
	return ClassNone
}
