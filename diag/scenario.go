package diag

import "strconv"

// Codes of the causes of troubleshooting scenario 1, the port mismatch: a
// registrar's 403 Forbidden with Retry-After and
// Warning: 399 <node> "SIP OAuth Registration port Mismatch".
const (
	CodeProfileWithoutOAuth = "profile-without-oauth"       // the device's security profile lacks OAuth
	CodeOAuthDisabled       = "oauth-disabled-cluster-wide" // ClusterSIPOAuthMode is 0
	CodeWrongConnectionKind = "wrong-connection-kind"       // the OAuth port reached over the wrong kind of connection
)

// PortMismatchCauses returns the three causes of a port mismatch on port
// with their fixes, the likeliest first: the device's profile, or the
// connection's kind when the client presented a certificate (which the
// on-premises OAuth port refuses). Their Path is "Warning", the header
// that names the mismatch.
func PortMismatchCauses(port int, clientCertificate bool) Findings {
	cluster := Finding{
		Code: CodeOAuthDisabled, Severity: Error, Path: "Warning",
		Message: "SIP OAuth is not enabled cluster-wide (ClusterSIPOAuthMode 0): every OAuth port refuses registrations",
		Fix:     "enable SIP OAuth mode cluster-wide on the publisher, with the CLI command `utils sipOAuth-mode enable`",
	}
	profile := Finding{
		Code: CodeProfileWithoutOAuth, Severity: Error, Path: "Warning",
		Message: "the device's security profile does not enable OAuth, so the device may not register on port " + strconv.Itoa(port),
		Fix:     "in System > Security > Phone Security Profile, check Enable OAuth Authentication on the device's profile, save and reset the device",
	}
	conn := Finding{
		Code: CodeWrongConnectionKind, Severity: Error, Path: "Warning",
		Message: "the request reached an OAuth port over the wrong kind of connection: the on-premises port (5090) takes TLS without a client certificate straight from the client, the MRA port (5091) mutual TLS from a registered Expressway-C",
		Fix:     "connect on premises to sipOAuthPort without a client certificate, or over MRA through the Expressway to sipMRAOAuthPort",
	}
	if clientCertificate {
		conn.Message += "; this client presented a certificate"
		return Findings{conn, profile, cluster}
	}
	return Findings{profile, cluster, conn}
}
