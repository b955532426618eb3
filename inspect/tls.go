package inspect

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sipoauth/sdk/diag"
)

// TLS alerts the classification knows (RFC 8446 §6).
const (
	AlertBadCertificate      = 42
	AlertCertificateExpired  = 45
	AlertUnknownCA           = 48
	AlertCertificateRequired = 116
)

// Sides of a TLS error, as Options.Side and TLSView say them.
const (
	SideNode   = "node"
	SideEdge   = "edge"
	SideClient = "client" // a soft client connecting to the OAuth port, or to an edge proxy
)

// Fixes shared by the TLS classification and the edge proxy's 503, in the
// words of mtlstrust.Diagnose.
const (
	fixUnknownCAAtEdge   = "upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list"
	fixNodeNameMismatch  = "connect to a name the Tomcat certificate carries, or reissue it with this name as a SAN"
	fixUnknownCAAtClient = "add the CA that signed the node's Tomcat certificate to the clients' trust store (Jabber uses the operating system's; distribute it with your device management), or use a Tomcat certificate signed by a CA the clients already trust"
)

// parseSide returns the side opts.Side names: SideEdge by default.
func parseSide(side string) (string, error) {
	switch strings.ToLower(side) {
	case "", "edge", "edge-proxy", "expressway":
		return SideEdge, nil
	case "node":
		return SideNode, nil
	case "client":
		return SideClient, nil
	}
	return "", fmt.Errorf("%w: side %q: want node, edge or client", ErrBadOption, side)
}

// checkTLS classifies a TLS error text seen on Options.Side.
func checkTLS(input []byte, opts Options) (Result, error) {
	side, err := parseSide(opts.Side)
	if err != nil {
		return Result{}, err
	}
	text := strings.TrimSpace(strings.ToValidUTF8(string(input), "\uFFFD"))
	c := classifyTLS(text, side)
	v := &TLSView{Side: side, Alert: c.Alert, Remote: c.Remote, Scenario: c.Scenario}
	return Result{Findings: diag.Findings{c.Finding}, TLS: v}, nil
}

// tlsClass is the classification of a TLS error text.
type tlsClass struct {
	diag.Finding
	Scenario int
	Alert    int
	Remote   bool
}

// classifyTLS explains a TLS error text the way mtlstrust.Diagnose
// explains the error value, with the same codes, scenarios and fixes:
// side is where the text was seen: SideNode (the MRA OAuth port),
// SideEdge (the edge proxy connecting to it) or SideClient (a soft client
// connecting to the OAuth port). An alert named in the text counts as
// received from the peer unless the text says "local error".
func classifyTLS(text, side string) tlsClass {
	node := side == SideNode
	lower := strings.ToLower(text)
	c := tlsClass{Finding: diag.Finding{Severity: diag.Error, Path: "tls"}}
	set := func(code string, scenario, alert int, msg, fix string) tlsClass {
		c.Code, c.Scenario, c.Alert, c.Message, c.Fix = code, scenario, alert, msg, fix
		return c
	}
	alert := alertIn(lower)
	remote := alert != 0 && !strings.Contains(lower, "local error")
	c.Remote = remote
	peerScenario, ownScenario := 2, 3 // seen on the edge proxy
	switch side {
	case SideNode:
		peerScenario, ownScenario = 3, 2
	case SideClient:
		peerScenario = 0
	}
	switch {
	case strings.Contains(lower, "edge-proxy table"):
		msg := "the edge proxy's certificate verified, but none of its names is in the edge-proxy table"
		for _, p := range []string{"no name of the peer certificate", "peer certificate presents no name"} {
			if i := strings.Index(lower, p); i >= 0 {
				msg = "the edge proxy's certificate verified, but " + text[i:]
				break
			}
		}
		c.Remote = false
		return set(CodeNotInTable, 3, AlertBadCertificate, msg,
			"on Expressway-C, refresh the Unified CM discovery so that it pushes its names (Device > Expressway-C), or add the certificate's CN or SAN to the table")
	case strings.Contains(lower, "signed by unknown authority") && node:
		c.Remote = false
		return set(CodeUnknownCAAtNode, 3, AlertUnknownCA,
			"the node does not trust the signer of the edge proxy's certificate"+candidate(text),
			"upload the CA that signed the Expressway-C certificate to the node's tomcat-trust; it is reloaded without a restart")
	case strings.Contains(lower, "signed by unknown authority") && side == SideClient:
		c.Remote = false
		return set(CodeUnknownCAAtClient, 0, AlertUnknownCA,
			"the client does not trust the signer of the node's certificate"+candidate(text), fixUnknownCAAtClient)
	case strings.Contains(lower, "signed by unknown authority"):
		c.Remote = false
		return set(CodeUnknownCAAtEdge, 2, AlertUnknownCA,
			"the edge proxy does not trust the signer of the node's certificate"+candidate(text),
			fixUnknownCAAtEdge)
	case strings.Contains(lower, "certificate has expired or is not yet valid"):
		who := "the edge proxy's"
		if !node {
			who = "the node's"
		}
		detail := ""
		if i := strings.Index(lower, "not yet valid: "); i >= 0 {
			detail = text[i+len("not yet valid: "):]
		}
		c.Remote = false
		return set(CodeCertificateExpired, peerScenario, AlertCertificateExpired,
			who+" certificate is expired or not yet valid: "+detail,
			"renew the certificate; the node serves a renewed Tomcat certificate on the next handshake")
	case isHostnameError(lower):
		host, names := hostnameParts(text)
		c.Remote = false
		return set(CodeNodeNameMismatch, 0, AlertBadCertificate,
			"the node's certificate is not valid for "+host+" (it names "+names+")", fixNodeNameMismatch)
	case remote && alert == AlertUnknownCA && !node:
		return set(CodeUnknownCAAtNode, 3, alert,
			"the node refused the edge proxy's certificate: unknown certificate authority",
			"upload the CA that signed the Expressway-C certificate to the node's tomcat-trust")
	case remote && alert == AlertUnknownCA:
		return set(CodeUnknownCAAtEdge, 2, alert,
			"the edge proxy refused the node's certificate: unknown certificate authority",
			fixUnknownCAAtEdge)
	case remote && alert == AlertBadCertificate && node:
		return set(CodeBadCertificate, 2, alert,
			"the edge proxy refused the node's certificate (bad certificate): it does not trust its signer, or the name it dialed is not in it",
			"upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list, and check the certificate's names")
	case remote && alert == AlertBadCertificate:
		return set(CodeBadCertificate, 3, alert,
			"the node refused the edge proxy's certificate (bad certificate): its signer is not trusted or its names are not in the edge-proxy table",
			"check the node's tomcat-trust for the Expressway-C CA, and refresh the Expressway-C's Unified CM discovery")
	case remote && alert == AlertCertificateExpired:
		return set(CodeCertificateExpired, ownScenario, alert,
			"the peer refused our certificate as expired",
			"renew the certificate")
	case remote && alert == AlertCertificateRequired,
		node && strings.Contains(lower, "didn't provide a certificate"):
		return set(CodeNoClientCertificate, 3, AlertCertificateRequired,
			"the MRA OAuth port requires a client certificate and none was presented",
			"only edge proxies connect to the MRA OAuth port (5091), with their certificate; clients with a token use the OAuth port (5090)")
	}
	return set(CodeHandshakeFailed, 0, alert, "TLS handshake failed: "+text, "")
}

// candidate names the candidate authority of an unknown-authority error
// text, when it names one.
func candidate(text string) string {
	const p = `candidate authority certificate "`
	i := strings.Index(text, p)
	if i < 0 {
		return ""
	}
	rest := text[i+len(p):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return " (the candidate signer " + rest[:j] + " did not verify it)"
	}
	return ""
}

func isHostnameError(lower string) bool {
	return strings.Contains(lower, "x509: certificate is valid for") ||
		strings.Contains(lower, "certificate is not valid for any names") ||
		strings.Contains(lower, "because it doesn't contain any ip sans") ||
		strings.Contains(lower, "relies on legacy common name field")
}

// hostnameParts reads the host and the names of crypto/x509's
// HostnameError texts.
func hostnameParts(text string) (host, names string) {
	lower := strings.ToLower(text)
	cut := func(after, before string) string {
		i := strings.Index(lower, after)
		if i < 0 {
			return ""
		}
		s := text[i+len(after):]
		if before != "" {
			if j := strings.Index(s, before); j >= 0 {
				s = s[:j]
			}
		}
		return strings.TrimSpace(s)
	}
	switch {
	case strings.Contains(lower, "certificate is valid for "):
		rest := cut("certificate is valid for ", "")
		if i := strings.LastIndex(rest, ", not "); i >= 0 {
			return strings.TrimSpace(rest[i+len(", not "):]), rest[:i]
		}
		return "", rest
	case strings.Contains(lower, "but wanted to match "):
		return cut("but wanted to match ", ""), ""
	case strings.Contains(lower, "cannot validate certificate for "):
		return cut("cannot validate certificate for ", " because"), ""
	}
	return "", ""
}

// alertNames are the texts TLS stacks give the alerts the classification
// knows: crypto/tls, OpenSSL and the RFC's identifiers.
var alertNames = []struct {
	text  string
	alert int
}{
	{"unknown certificate authority", AlertUnknownCA},
	{"unknown_ca", AlertUnknownCA},
	{"unknown ca", AlertUnknownCA},
	{"bad certificate", AlertBadCertificate},
	{"bad_certificate", AlertBadCertificate},
	{"expired certificate", AlertCertificateExpired},
	{"certificate expired", AlertCertificateExpired},
	{"certificate_expired", AlertCertificateExpired},
	{"certificate required", AlertCertificateRequired},
	{"certificate_required", AlertCertificateRequired},
}

// alertIn returns the alert a lower-case error text names, by name or by
// number ("alert 48", "alert(48)", "alert number 48"), or 0.
func alertIn(lower string) int {
	for _, a := range alertNames {
		if strings.Contains(lower, a.text) {
			return a.alert
		}
	}
	for s := lower; ; {
		i := strings.Index(s, "alert")
		if i < 0 {
			return 0
		}
		s = s[i+len("alert"):]
		j := 0
		for j < len(s) && j < 12 && strings.IndexByte(" \t(:#=number", s[j]) >= 0 {
			j++
		}
		k := j
		for k < len(s) && k-j < 3 && isDigit(s[k]) {
			k++
		}
		if k > j && (k == len(s) || !isDigit(s[k])) {
			switch n, _ := strconv.Atoi(s[j:k]); n {
			case AlertBadCertificate, AlertCertificateExpired, AlertUnknownCA, AlertCertificateRequired:
				return n
			}
		}
	}
}
