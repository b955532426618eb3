package inspect

import "github.com/sipoauth/sdk/diag"

// PossibleCause starts the Message of a finding that is one possible
// cause of the error finding before it, rather than a fault of its own.
const PossibleCause = "possible cause: "

// Finding codes of this package, stable across releases. The checks also
// return the codes of the packages they call: cnfxml's Validate for a
// configuration file, the certificate checks for a chain, the client-log
// analyzer for a log.
const (
	// CodeCNFUnreadable: the configuration file cannot be parsed.
	CodeCNFUnreadable = "cnf-unreadable"
	// CodeCertUnreadable: no PEM certificate, or one that cannot be parsed.
	CodeCertUnreadable = "cert-unreadable"

	// CodeTokenUnreadable: the token does not decode as a JWS or JWE.
	CodeTokenUnreadable = "token-unreadable"
	// CodeTokenExpired: exp is at or before Options.Now.
	CodeTokenExpired = "token-expired"
	// CodeTokenNotYetValid: nbf or iat is after Options.Now.
	CodeTokenNotYetValid = "token-not-yet-valid"
	// CodeTokenRefresh: a refresh token, which is never a SIP credential.
	CodeTokenRefresh = "token-refresh"
	// CodeTokenAlgNone: an unsigned token (alg "none").
	CodeTokenAlgNone = "token-alg-none"
	// CodeTokenHMAC: a token signed with a shared secret.
	CodeTokenHMAC = "token-hmac"
	// CodeTokenNoExp: readable claims without exp.
	CodeTokenNoExp = "token-no-exp"
	// CodeTokenEncryptedClaims: the claims are encrypted (Unified CM's
	// nested token, or a JWE): only a holder of the key reads them.
	CodeTokenEncryptedClaims = "token-encrypted-claims"

	// CodeHeaderUnreadable: the header value is not a well-formed Bearer
	// challenge or credentials.
	CodeHeaderUnreadable = "header-unreadable"
	// CodeHeaderInvalidToken: a challenge with error="invalid_token".
	CodeHeaderInvalidToken = "header-invalid-token"
	// CodeHeaderInsufficientScope: a challenge with
	// error="insufficient_scope".
	CodeHeaderInsufficientScope = "header-insufficient-scope"
	// CodeHeaderChallengeError: a challenge with another error
	// (invalid_request, invalid_scope, ...).
	CodeHeaderChallengeError = "header-challenge-error"
	// CodeHeaderNotBearer: a header of another scheme, such as Digest.
	CodeHeaderNotBearer = "header-not-bearer"
	// CodeHeaderForm: which of the four credentials forms the header uses.
	CodeHeaderForm = "header-form"
	// CodeHeaderRealmMismatch: credentials for a realm other than Unified
	// CM's ccmsipline, which a Unified CM registrar skips.
	CodeHeaderRealmMismatch = "header-realm-mismatch"
	// CodeChallenge: a Bearer challenge without error: the first answer
	// to a REGISTER without credentials, to be retried with a token.
	CodeChallenge = "challenge"
	// CodeChallengeMissing: a 401 or 407 without its challenge header.
	CodeChallengeMissing = "challenge-missing"

	// CodeResponseUnreadable: the input is not a SIP response.
	CodeResponseUnreadable = "response-unreadable"
	// CodeRegistered: a 2xx answer to a REGISTER.
	CodeRegistered = "registered"
	// CodeEdgeUpstreamFailed: an edge proxy's 503 for a failure of its
	// hop to the node that is not a certificate problem.
	CodeEdgeUpstreamFailed = "edge-upstream-failed"
	// CodeNodeRefusedEdgeProxy: an edge proxy's 503 saying the node
	// refused its certificate (scenario 3; the proxy's log has the exact
	// cause).
	CodeNodeRefusedEdgeProxy = diag.CodeNodeRefusedEdgeProxy

	// CodePortMismatch: a 403 with the port mismatch warning (scenario 1),
	// an error followed by its possible causes, the codes below, as info
	// findings whose Message starts with PossibleCause.
	CodePortMismatch = "port-mismatch"

	// Scenario 1 (port mismatch), the codes of client.PortMismatchError.Causes.

	// CodeOAuthDisabled: SIP OAuth is not enabled cluster-wide.
	CodeOAuthDisabled = diag.CodeOAuthDisabled
	// CodeProfileWithoutOAuth: the device's security profile lacks OAuth.
	CodeProfileWithoutOAuth = diag.CodeProfileWithoutOAuth
	// CodeWrongConnectionKind: the OAuth port reached over the wrong kind
	// of connection.
	CodeWrongConnectionKind = diag.CodeWrongConnectionKind

	// Scenarios 2 and 3 (TLS between edge proxy and node), diag's, the
	// codes of mtlstrust.Diagnose too.

	// CodeUnknownCAAtEdge: the edge proxy does not trust the node's signer (scenario 2).
	CodeUnknownCAAtEdge = diag.CodeUnknownCAAtEdge
	// CodeUnknownCAAtNode: the node does not trust the edge proxy's signer (scenario 3).
	CodeUnknownCAAtNode = diag.CodeUnknownCAAtNode
	// CodeUnknownCAAtClient: a soft client does not trust the node's signer.
	CodeUnknownCAAtClient = diag.CodeUnknownCAAtClient
	// CodeNotInTable: the edge proxy's names are not in the edge-proxy table (scenario 3).
	CodeNotInTable = diag.CodeNotInTable
	// CodeBadCertificate: a bad_certificate alert (scenario 2 or 3 by side).
	CodeBadCertificate = diag.CodeBadCertificate
	// CodeCertificateExpired: a certificate expired or not yet valid.
	CodeCertificateExpired = diag.CodeCertificateExpired
	// CodeNoClientCertificate: the MRA OAuth port reached without a client certificate.
	CodeNoClientCertificate = diag.CodeNoClientCertificate
	// CodeNodeNameMismatch: the node's certificate lacks the name dialed.
	CodeNodeNameMismatch = diag.CodeNodeNameMismatch
	// CodeHandshakeFailed: a TLS failure none of the above explains.
	CodeHandshakeFailed = diag.CodeHandshakeFailed
)
