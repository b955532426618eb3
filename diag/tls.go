package diag

import (
	"strconv"
	"strings"
)

// Codes of a failed TLS handshake between a soft client or an edge proxy
// and a node: troubleshooting scenario 2 (the edge proxy does not trust
// the signer of the node's certificate) and 3 (the node does not trust the
// proxy's signer, or the proxy's names are not in the edge-proxy table),
// and their neighbours. mtlstrust.Diagnose gives them for an error value,
// the inspectors for an error text.
const (
	CodeUnknownCAAtEdge     = "unknown-ca-at-edge-proxy" // scenario 2
	CodeUnknownCAAtNode     = "unknown-ca-at-node"       // scenario 3
	CodeUnknownCAAtClient   = "unknown-ca-at-client"     // a client does not trust the node's signer
	CodeNotInTable          = "not-in-edge-proxy-table"  // scenario 3
	CodeBadCertificate      = "bad-certificate"          // a bad_certificate alert, scenario 2 or 3 by side
	CodeCertificateExpired  = "certificate-expired"      // expired or not yet valid, or alert 45
	CodeNoClientCertificate = "no-client-certificate"    // 5091 reached without mutual TLS
	CodeNodeNameMismatch    = "node-name-mismatch"       // the node's certificate lacks the name dialed
	CodeHandshakeFailed     = "handshake-failed"         // none of the above
	// CodeNodeRefusedEdgeProxy: an edge proxy's 503 saying the node
	// refused its certificate (scenario 3); the proxy's log has the exact
	// cause.
	CodeNodeRefusedEdgeProxy = "node-refused-edge-proxy"
)

// TLS alerts the diagnosis knows (RFC 8446 §6).
const (
	AlertBadCertificate      = 42
	AlertCertificateExpired  = 45
	AlertUnknownCA           = 48
	AlertCertificateRequired = 116
)

// Fixes of the TLS diagnosis that more than one finding gives.
const (
	// FixUnknownCAAtEdge: scenario 2.
	FixUnknownCAAtEdge = "upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list"
	// FixUnknownCAAtClient: a client that does not trust the node's
	// signer.
	FixUnknownCAAtClient = "add the CA that signed the node's Tomcat certificate to the clients' trust store (Jabber uses the operating system's; distribute it with your device management), or use a Tomcat certificate signed by a CA the clients already trust"
	// FixNodeNameMismatch: the node's certificate lacks the name dialed.
	FixNodeNameMismatch = "connect to a name the Tomcat certificate carries, or reissue it with this name as a SAN"
)

// Side is where a failed handshake was seen.
type Side int

const (
	// NodeSide is the node's MRA OAuth port; the peer is an edge proxy.
	NodeSide Side = iota
	// EdgeSide is the edge proxy connecting to the node.
	EdgeSide
	// ClientSide is a soft client connecting to the node's OAuth port
	// (5090) on premises, or to an edge proxy.
	ClientSide
)

// TLSDiagnosis explains a failed handshake in terms of the
// troubleshooting scenarios: its finding (Path "tls"), the scenario (2, 3,
// or 0 when it is neither) and the TLS alert involved, sent or received,
// or 0.
type TLSDiagnosis struct {
	Finding
	// Scenario is 2 or 3, or 0 when the failure is neither.
	Scenario int
	// Alert is the TLS alert involved, sent or received, or 0.
	Alert int
}

func tlsDiagnosis(code string, scenario, alert int, msg, fix string) TLSDiagnosis {
	return TLSDiagnosis{Finding: Finding{Code: code, Severity: Error, Path: "tls", Message: msg, Fix: fix}, Scenario: scenario, Alert: alert}
}

// TLSNotInTable: the edge proxy's certificate verified but none of its
// names is in the edge-proxy table (scenario 3); why says which names,
// e.g. "no name of the peer certificate (CN=...) is in the table".
func TLSNotInTable(why string) TLSDiagnosis {
	return tlsDiagnosis(CodeNotInTable, 3, AlertBadCertificate,
		"the edge proxy's certificate verified, but "+why,
		"on Expressway-C, refresh the Unified CM discovery so that it pushes its names (Device > Expressway-C), or add the certificate's CN or SAN to the table")
}

// TLSUnknownCA: side did not verify its peer's certificate for want of
// its signer: scenario 3 on the node, 2 on the edge proxy, none on a
// client. about, when not empty, says more of the signer and is added in
// parentheses.
func TLSUnknownCA(side Side, about string) TLSDiagnosis {
	if about != "" {
		about = " (" + about + ")"
	}
	switch side {
	case NodeSide:
		return tlsDiagnosis(CodeUnknownCAAtNode, 3, AlertUnknownCA,
			"the node does not trust the signer of the edge proxy's certificate"+about,
			"upload the CA that signed the Expressway-C certificate to the node's tomcat-trust; it is reloaded without a restart")
	case ClientSide:
		return tlsDiagnosis(CodeUnknownCAAtClient, 0, AlertUnknownCA,
			"the client does not trust the signer of the node's certificate"+about, FixUnknownCAAtClient)
	}
	return tlsDiagnosis(CodeUnknownCAAtEdge, 2, AlertUnknownCA,
		"the edge proxy does not trust the signer of the node's certificate"+about, FixUnknownCAAtEdge)
}

// TLSExpired: side found its peer's certificate expired or not yet valid;
// detail is the verifier's detail ("current time ... is after ...").
func TLSExpired(side Side, detail string) TLSDiagnosis {
	who := "the edge proxy's"
	if side != NodeSide {
		who = "the node's"
	}
	return tlsDiagnosis(CodeCertificateExpired, peerCertScenario(side), AlertCertificateExpired,
		who+" certificate is expired or not yet valid: "+detail,
		"renew the certificate; the node serves a renewed Tomcat certificate on the next handshake")
}

// TLSNameMismatch: the node's certificate is not valid for host, the
// name dialed; names are those it carries.
func TLSNameMismatch(host, names string) TLSDiagnosis {
	return tlsDiagnosis(CodeNodeNameMismatch, 0, AlertBadCertificate,
		"the node's certificate is not valid for "+host+" (it names "+names+")", FixNodeNameMismatch)
}

// TLSAlert explains an alert that side received from its peer, when it is
// one the diagnosis knows (unknown_ca, bad_certificate,
// certificate_expired, certificate_required).
func TLSAlert(side Side, alert int) (TLSDiagnosis, bool) {
	node := side == NodeSide
	switch {
	case alert == AlertUnknownCA && !node:
		return tlsDiagnosis(CodeUnknownCAAtNode, 3, alert,
			"the node refused the edge proxy's certificate: unknown certificate authority",
			"upload the CA that signed the Expressway-C certificate to the node's tomcat-trust"), true
	case alert == AlertUnknownCA:
		return tlsDiagnosis(CodeUnknownCAAtEdge, 2, alert,
			"the edge proxy refused the node's certificate: unknown certificate authority", FixUnknownCAAtEdge), true
	case alert == AlertBadCertificate && node:
		return tlsDiagnosis(CodeBadCertificate, 2, alert,
			"the edge proxy refused the node's certificate (bad certificate): it does not trust its signer, or the name it dialed is not in it",
			"upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list, and check the certificate's names"), true
	case alert == AlertBadCertificate:
		return tlsDiagnosis(CodeBadCertificate, 3, alert,
			"the node refused the edge proxy's certificate (bad certificate): its signer is not trusted or its names are not in the edge-proxy table",
			"check the node's tomcat-trust for the Expressway-C CA, and refresh the Expressway-C's Unified CM discovery"), true
	case alert == AlertCertificateExpired:
		return tlsDiagnosis(CodeCertificateExpired, ownCertScenario(side), alert,
			"the peer refused our certificate as expired", "renew the certificate"), true
	case alert == AlertCertificateRequired:
		return TLSNoClientCertificate(), true
	}
	return TLSDiagnosis{}, false
}

// TLSNoClientCertificate: the MRA OAuth port was reached without a client
// certificate. It is none of the troubleshooting scenarios (scenario 3 is
// a certificate the node refuses, not a missing one): Scenario is 0.
func TLSNoClientCertificate() TLSDiagnosis {
	return tlsDiagnosis(CodeNoClientCertificate, 0, AlertCertificateRequired,
		"the MRA OAuth port requires a client certificate and none was presented",
		"only edge proxies connect to the MRA OAuth port (5091), with their certificate; clients with a token use the OAuth port (5090)")
}

// TLSUnexplained: a handshake failure none of the above explains; text is
// the error as seen, alert the alert involved or 0.
func TLSUnexplained(alert int, text string) TLSDiagnosis {
	return tlsDiagnosis(CodeHandshakeFailed, 0, alert, "TLS handshake failed: "+text, "")
}

// peerCertScenario is the scenario of a peer certificate refused on
// side: the node refusing a proxy's is 3, a proxy refusing the node's is
// 2; a client refusing the node's is none of them.
func peerCertScenario(side Side) int {
	switch side {
	case EdgeSide:
		return 2
	case ClientSide:
		return 0
	}
	return 3
}

// ownCertScenario is the scenario of our certificate refused by the peer.
func ownCertScenario(side Side) int {
	if side != NodeSide {
		return 3
	}
	return 2
}

// edgeWarnings are the warn-texts of an edge proxy's 503 for a certificate
// problem on its hop to the node, with the codes of the TLS diagnosis
// each one stands for: the client sees the hop that failed, the operator
// the details in the proxy's log.
var edgeWarnings = []struct {
	text     string
	codes    []string
	code     string // the code of the finding read back from the text
	scenario int
}{
	{"Edge proxy does not trust the registrar certificate", []string{CodeUnknownCAAtEdge}, CodeUnknownCAAtEdge, 2},
	{"Registrar refused the edge proxy certificate", []string{CodeUnknownCAAtNode, CodeBadCertificate, CodeNotInTable, CodeNoClientCertificate}, CodeNodeRefusedEdgeProxy, 3},
	{"Expired certificate between edge proxy and registrar", []string{CodeCertificateExpired}, CodeCertificateExpired, 0},
	{"Registrar certificate does not match its name", []string{CodeNodeNameMismatch}, CodeNodeNameMismatch, 0},
}

// EdgeWarningText is the warn-text of the Warning an edge proxy sends
// with its 503 when the TLS hop to the node failed with code, a
// certificate problem; false for the other codes.
func EdgeWarningText(code string) (string, bool) {
	for _, w := range edgeWarnings {
		for _, c := range w.codes {
			if c == code {
				return w.text, true
			}
		}
	}
	return "", false
}

// EdgeWarning explains the Warning of an edge proxy's 503 whose text
// EdgeWarningText writes, compared in lower case: the certificate
// problem on the hop to the node, scenario 2 or 3 when it is one. agent
// is the Warning's warn-agent; the finding's Path is "Warning".
func EdgeWarning(agent, text string) (TLSDiagnosis, bool) {
	// In lower case, not folded: "ſ" is not an "s" here.
	lower := strings.ToLower(text)
	for _, w := range edgeWarnings {
		if lower != strings.ToLower(w.text) {
			continue
		}
		quoted := agent + " says " + strconv.Quote(text)
		d := TLSDiagnosis{Finding: Finding{Code: w.code, Severity: Error, Path: "Warning"}, Scenario: w.scenario}
		switch w.code {
		case CodeUnknownCAAtEdge:
			d.Message = "scenario 2: the edge proxy does not trust the signer of the node's certificate (" + quoted + ")"
			d.Fix = FixUnknownCAAtEdge
		case CodeNodeRefusedEdgeProxy:
			d.Message = "scenario 3: the node refused the edge proxy's certificate (" + quoted + "): its signer is not in the node's tomcat-trust, or none of its names is in the edge-proxy table"
			d.Fix = "upload the CA that signed the Expressway-C certificate to the node's tomcat-trust, and refresh the Unified CM discovery on Expressway-C so that it pushes its names; the edge proxy's log names the exact cause"
		case CodeCertificateExpired:
			d.Message = "a certificate on the hop between the edge proxy and the node is expired (" + quoted + ")"
			d.Fix = "renew the expired certificate, the node's Tomcat certificate or the Expressway-C's; the edge proxy's log names which"
		case CodeNodeNameMismatch:
			d.Message = "the node's certificate does not carry the name the edge proxy dialed (" + quoted + ")"
			d.Fix = FixNodeNameMismatch
		}
		return d, true
	}
	return TLSDiagnosis{}, false
}
