package mtlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	"github.com/sipoauth/sdk/diag"
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

// Diagnosis codes.
const (
	CodeUnknownCAAtEdge      = "unknown-ca-at-edge-proxy" // scenario 2
	CodeUnknownCAAtNode      = "unknown-ca-at-node"       // scenario 3
	CodeUnknownCAAtClient    = "unknown-ca-at-client"     // a client does not trust the node's signer
	CodeNotInTable           = "not-in-edge-proxy-table"  // scenario 3
	CodeBadCertificate       = "bad-certificate"          // scenario 3 seen by the proxy
	CodeCertificateExpired   = "certificate-expired"      // alert 45
	CodeNoClientCertificate  = "no-client-certificate"    // 5091 reached without mutual TLS
	CodeNodeNameMismatch     = "node-name-mismatch"       // the node's certificate lacks the name dialed
	CodeHandshakeUnexplained = "handshake-failed"         // none of the above
)

// TLS alerts the diagnosis knows (RFC 8446 §6).
const (
	AlertBadCertificate      = 42
	AlertCertificateExpired  = 45
	AlertUnknownCA           = 48
	AlertCertificateRequired = 116
)

// Diagnosis explains a failed handshake in terms of the troubleshooting
// scenarios of a SIP OAuth deployment: 2, the edge proxy does not trust
// the signer of the node's certificate; 3, the node does not trust the
// proxy's signer, or the proxy's names are not in the edge-proxy table.
type Diagnosis struct {
	diag.Finding
	// Scenario is 2 or 3, or 0 when the failure is neither.
	Scenario int
	// Alert is the TLS alert involved, sent or received, or 0.
	Alert int
}

// Diagnose explains err, the error of a handshake seen on side.
func Diagnose(err error, side Side) Diagnosis {
	d := Diagnosis{Finding: diag.Finding{Severity: diag.Error, Path: "tls"}}
	set := func(code string, scenario, alert int, msg, fix string) Diagnosis {
		d.Code, d.Scenario, d.Alert, d.Message, d.Fix = code, scenario, alert, msg, fix
		return d
	}
	if err == nil {
		return Diagnosis{}
	}
	var nit *NotInTableError
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	alert, remote := receivedAlert(err)
	switch {
	case errors.As(err, &nit):
		return set(CodeNotInTable, 3, AlertBadCertificate,
			"the edge proxy's certificate verified, but "+nit.Error()[len("mtlstrust: "):],
			"on Expressway-C, refresh the Unified CM discovery so that it pushes its names (Device > Expressway-C), or add the certificate's CN or SAN to the table")
	case errors.As(err, &unknown) && side == NodeSide:
		return set(CodeUnknownCAAtNode, 3, AlertUnknownCA,
			"the node does not trust the signer of the edge proxy's certificate ("+issuerOf(unknown.Cert)+")",
			"upload the CA that signed the Expressway-C certificate to the node's tomcat-trust; it is reloaded without a restart")
	case errors.As(err, &unknown) && side == ClientSide:
		return set(CodeUnknownCAAtClient, 0, AlertUnknownCA,
			"the client does not trust the signer of the node's certificate ("+issuerOf(unknown.Cert)+")",
			FixUnknownCAAtClient)
	case errors.As(err, &unknown):
		return set(CodeUnknownCAAtEdge, 2, AlertUnknownCA,
			"the edge proxy does not trust the signer of the node's certificate ("+issuerOf(unknown.Cert)+")",
			"upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list")
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		who := "the edge proxy's"
		if side != NodeSide {
			who = "the node's"
		}
		return set(CodeCertificateExpired, peerCertScenario(side), AlertCertificateExpired,
			who+" certificate is expired or not yet valid: "+invalid.Detail,
			"renew the certificate; the node serves a renewed Tomcat certificate on the next handshake")
	case errors.As(err, &host):
		return set(CodeNodeNameMismatch, 0, AlertBadCertificate,
			"the node's certificate is not valid for "+host.Host+" (it names "+certNames(host.Certificate)+")",
			"connect to a name the Tomcat certificate carries, or reissue it with this name as a SAN")
	case remote && alert == AlertUnknownCA && side != NodeSide:
		return set(CodeUnknownCAAtNode, 3, alert,
			"the node refused the edge proxy's certificate: unknown certificate authority",
			"upload the CA that signed the Expressway-C certificate to the node's tomcat-trust")
	case remote && alert == AlertUnknownCA:
		return set(CodeUnknownCAAtEdge, 2, alert,
			"the edge proxy refused the node's certificate: unknown certificate authority",
			"upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list")
	case remote && alert == AlertBadCertificate && side == NodeSide:
		return set(CodeBadCertificate, 2, alert,
			"the edge proxy refused the node's certificate (bad certificate): it does not trust its signer, or the name it dialed is not in it",
			"upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list, and check the certificate's names")
	case remote && alert == AlertBadCertificate:
		return set(CodeBadCertificate, 3, alert,
			"the node refused the edge proxy's certificate (bad certificate): its signer is not trusted or its names are not in the edge-proxy table",
			"check the node's tomcat-trust for the Expressway-C CA, and refresh the Expressway-C's Unified CM discovery")
	case remote && alert == AlertCertificateExpired:
		return set(CodeCertificateExpired, ownCertScenario(side), alert,
			"the peer refused our certificate as expired",
			"renew the certificate")
	case remote && alert == AlertCertificateRequired,
		side == NodeSide && strings.Contains(err.Error(), "didn't provide a certificate"):
		return set(CodeNoClientCertificate, 3, AlertCertificateRequired,
			"the MRA OAuth port requires a client certificate and none was presented",
			"only edge proxies connect to the MRA OAuth port (5091), with their certificate; clients with a token use the OAuth port (5090)")
	}
	msg := "TLS handshake failed: " + err.Error()
	return set(CodeHandshakeUnexplained, 0, alert, msg, "")
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

// FixUnknownCAAtClient is the fix of CodeUnknownCAAtClient.
const FixUnknownCAAtClient = "add the CA that signed the node's Tomcat certificate to the clients' trust store (Jabber uses the operating system's; distribute it with your device management), or use a Tomcat certificate signed by a CA the clients already trust"

func issuerOf(c *x509.Certificate) string {
	if c == nil {
		return "unknown issuer"
	}
	return "issued by " + c.Issuer.String()
}

// alertNames are crypto/tls's texts of the alerts Diagnose knows.
var alertNames = map[string]int{
	"tls: bad certificate":               AlertBadCertificate,
	"tls: expired certificate":           AlertCertificateExpired,
	"tls: unknown certificate authority": AlertUnknownCA,
	"tls: certificate required":          AlertCertificateRequired,
}

// receivedAlert returns the alert the peer sent, if err is one.
func receivedAlert(err error) (int, bool) {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return int(ae), true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		if a, ok := alertNames[op.Err.Error()]; ok {
			return a, true
		}
	}
	return 0, false
}

// certNames lists the names a certificate carries: its DNS and IP
// subject alternative names, else its subject CN.
func certNames(c *x509.Certificate) string {
	if c == nil {
		return "nothing"
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		if c.Subject.CommonName == "" {
			return "no name"
		}
		return "only the CN " + c.Subject.CommonName
	}
	return strings.Join(names, ", ")
}
