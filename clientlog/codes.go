package clientlog

// Finding codes of the diagnosis. They are stable: tools may match on
// them. Each finding's Path is "line N", the line of the log where the
// thing it reports starts.
const (
	// CodePortMismatch: a 403 Forbidden with Warning 399 "SIP OAuth
	// Registration port Mismatch" (troubleshooting scenario 1). The
	// message names the three causes, the fix says how to remove each.
	CodePortMismatch = "log-port-mismatch"
	// CodeOAuthModeOff: the client registers on an OAuth port while the
	// log says SIP OAuth mode is 0 (or does not say it is 1 and the
	// registration fails), or the mode is 1 and the client connects to the
	// legacy SIP port 5060 or 5061.
	CodeOAuthModeOff = "log-oauth-mode-off"
	// CodeUnexpectedPort: a connection to a node on a port that is not
	// the OAuth port the log announced for that node.
	CodeUnexpectedPort = "log-unexpected-port"
	// CodeNoTokenRetry: a 401 or 407 challenge to a REGISTER was never
	// answered by a REGISTER with a bearer token.
	CodeNoTokenRetry = "log-no-token-retry"
	// CodeInvalidToken: a challenge with error="invalid_token": the node
	// refused the token the client sent.
	CodeInvalidToken = "log-invalid-token"
	// CodeTokenRefused: a challenge with another error parameter, such as
	// insufficient_scope.
	CodeTokenRefused = "log-token-refused"
	// CodeRegisterRejected: another final refusal of a REGISTER (a 4xx,
	// 5xx or 6xx that is neither a challenge nor a port mismatch).
	CodeRegisterRejected = "log-register-rejected"
	// CodeRegistered (info): a 200 OK to a REGISTER, with the expiry the
	// node granted.
	CodeRegistered = "log-registered"
	// CodeNoResponse: a REGISTER the log shows no final response to.
	CodeNoResponse = "log-no-response"
	// CodeTLSFailure: a failed TLS handshake or a TLS alert, explained as
	// troubleshooting scenario 2 or 3 when it is one.
	CodeTLSFailure = "log-tls-failure"
	// CodeTruncatedMessage: a SIP message cut by the log (it ends before
	// its headers do, or lacks its CSeq) or longer than
	// Options.MaxMessageSize.
	CodeTruncatedMessage = "log-truncated-message"
	// CodeNoSIP: the log holds no SIP message at all, and no TLS failure
	// explains why.
	CodeNoSIP = "log-no-sip"
)
