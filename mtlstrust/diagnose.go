package mtlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	"github.com/sipoauth/sdk/diag"
)

// Diagnose explains err, the error of a handshake seen on side, in diag's
// words.
func Diagnose(err error, side diag.Side) diag.TLSDiagnosis {
	if err == nil {
		return diag.TLSDiagnosis{}
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
	if side == diag.NodeSide && strings.Contains(err.Error(), "didn't provide a certificate") {
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
	"tls: bad certificate":               diag.AlertBadCertificate,
	"tls: expired certificate":           diag.AlertCertificateExpired,
	"tls: unknown certificate authority": diag.AlertUnknownCA,
	"tls: certificate required":          diag.AlertCertificateRequired,
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
