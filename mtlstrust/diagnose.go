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
type Side = diag.Side

// Sides of a handshake, diag's.
const (
	// NodeSide is the node's MRA OAuth port; the peer is an edge proxy.
	NodeSide = diag.NodeSide
	// EdgeSide is the edge proxy connecting to the node.
	EdgeSide = diag.EdgeSide
	// ClientSide is a soft client connecting to the node's OAuth port
	// (5090) on premises, or to an edge proxy.
	ClientSide = diag.ClientSide
)

// Diagnosis codes, diag's: the browser inspector gives the same ones for
// an error text.
const (
	CodeUnknownCAAtEdge      = diag.CodeUnknownCAAtEdge     // scenario 2
	CodeUnknownCAAtNode      = diag.CodeUnknownCAAtNode     // scenario 3
	CodeUnknownCAAtClient    = diag.CodeUnknownCAAtClient   // a client does not trust the node's signer
	CodeNotInTable           = diag.CodeNotInTable          // scenario 3
	CodeBadCertificate       = diag.CodeBadCertificate      // scenario 3 seen by the proxy
	CodeCertificateExpired   = diag.CodeCertificateExpired  // alert 45
	CodeNoClientCertificate  = diag.CodeNoClientCertificate // 5091 reached without mutual TLS
	CodeNodeNameMismatch     = diag.CodeNodeNameMismatch    // the node's certificate lacks the name dialed
	CodeHandshakeUnexplained = diag.CodeHandshakeFailed     // none of the above
)

// TLS alerts the diagnosis knows (RFC 8446 §6), diag's.
const (
	AlertBadCertificate      = diag.AlertBadCertificate
	AlertCertificateExpired  = diag.AlertCertificateExpired
	AlertUnknownCA           = diag.AlertUnknownCA
	AlertCertificateRequired = diag.AlertCertificateRequired
)

// FixUnknownCAAtClient is the fix of CodeUnknownCAAtClient.
const FixUnknownCAAtClient = diag.FixUnknownCAAtClient

// Diagnosis explains a failed handshake in terms of the troubleshooting
// scenarios of a SIP OAuth deployment: 2, the edge proxy does not trust
// the signer of the node's certificate; 3, the node does not trust the
// proxy's signer, or the proxy's names are not in the edge-proxy table.
type Diagnosis = diag.TLSDiagnosis

// Diagnose explains err, the error of a handshake seen on side, in diag's
// words.
func Diagnose(err error, side Side) Diagnosis {
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
		return diag.TLSNotInTable(nit.Error()[len("mtlstrust: "):])
	case errors.As(err, &unknown):
		return diag.TLSUnknownCA(side, issuerOf(unknown.Cert))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return diag.TLSExpired(side, invalid.Detail)
	case errors.As(err, &host):
		return diag.TLSNameMismatch(host.Host, certNames(host.Certificate))
	}
	if d, ok := diag.TLSAlert(side, alert); ok && remote {
		return d
	}
	if side == NodeSide && strings.Contains(err.Error(), "didn't provide a certificate") {
		return diag.TLSNoClientCertificate()
	}
	return diag.TLSUnexplained(alert, err.Error())
}

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
