package inspect

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/diag"
)

// roleEdge reports whether opts.Role names the edge proxy.
func roleEdge(role string) (bool, error) {
	switch strings.ToLower(role) {
	case "", "node":
		return false, nil
	case "edge", "edge-proxy", "expressway":
		return true, nil
	}
	return false, fmt.Errorf("%w: role %q: want node or edge", ErrBadOption, role)
}

// checkCert checks a PEM or DER chain with the certificate checks: the leaf's
// findings, the rest being the intermediates offered with it, and a view
// of every certificate.
func checkCert(input []byte, opts Options) (Result, error) {
	edge, err := roleEdge(opts.Role)
	if err != nil {
		return Result{}, err
	}
	co := certcheck.Options{Role: certcheck.RoleNode, Host: opts.Host, Now: opts.now()}
	if edge {
		co.Role = certcheck.RoleEdgeProxy
	}
	fs, certs, err := certcheck.CheckCerts(input, co)
	if err != nil {
		return Result{Findings: diag.Findings{{Code: CodeCertUnreadable, Severity: diag.Error, Path: "pem", Message: err.Error(),
			Fix: "paste the certificate as PEM, leaf first, each between -----BEGIN CERTIFICATE----- and -----END CERTIFICATE-----"}}}, nil
	}
	views := make([]CertView, len(certs))
	for i, c := range certs {
		views[i] = certView(c)
	}
	return Result{Findings: fs, Certs: views}, nil
}

func certView(c *certcheck.Cert) CertView {
	v := CertView{
		Subject:            c.Subject.String(),
		Issuer:             c.Issuer.String(),
		Serial:             serialString(c),
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		DNSNames:           c.DNSNames,
		SignatureAlgorithm: c.SignatureAlgorithm,
		IsCA:               c.IsCA,
	}
	for _, ip := range c.IPAddresses {
		// As net.IP prints them: an IPv4-mapped address as IPv4.
		v.IPAddresses = append(v.IPAddresses, ip.Unmap().String())
	}
	key := c.Key
	v.KeyAlgorithm = key.Algorithm
	if key.Algorithm == "RSA" || key.Algorithm == "ECDSA" {
		v.KeyBits = key.Bits
	}
	for _, u := range c.ExtKeyUsage {
		v.ExtKeyUsage = append(v.ExtKeyUsage, ekuName(u))
	}
	for _, oid := range c.UnknownExtKeyUsage {
		v.ExtKeyUsage = append(v.ExtKeyUsage, oid.String())
	}
	return v
}

// serialString writes a serial number as colon-separated hex bytes, the
// way certificate viewers show it.
func serialString(c *certcheck.Cert) string {
	if c.SerialNumber == nil {
		return ""
	}
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		b = []byte{0}
	}
	h := strings.ToUpper(hex.EncodeToString(b))
	var s strings.Builder
	if c.SerialNumber.Sign() < 0 {
		s.WriteByte('-')
	}
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(h[i : i+2])
	}
	return s.String()
}

// ekuNames are the names RFC 5280 and vendors give the extended key
// usages, by the names of certcheck.Cert.ExtKeyUsage.
var ekuNames = map[string]string{
	"anyExtendedKeyUsage": "any",
	"serverAuth":          "serverAuth",
	"clientAuth":          "clientAuth",
	"codeSigning":         "codeSigning",
	"emailProtection":     "emailProtection",
	"ipsecEndSystem":      "ipsecEndSystem",
	"ipsecTunnel":         "ipsecTunnel",
	"ipsecUser":           "ipsecUser",
	"timeStamping":        "timeStamping",
	"OCSPSigning":         "OCSPSigning",
	"msSGC":               "msSGC",
	"nsSGC":               "nsSGC",
	"msCodeCom":           "msCodeCom",
	"msKernelCode":        "msKernelCode",
}

func ekuName(u string) string {
	if n, ok := ekuNames[u]; ok {
		return n
	}
	return u
}

// rfc3339 formats a time for messages.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
