package inspect

import (
	"crypto/x509"
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

// checkCert checks a PEM chain with the certificate checks: the leaf's
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
	fs, certs, err := certcheck.CheckPEM(input, co)
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

func certView(c *x509.Certificate) CertView {
	v := CertView{
		Subject:            c.Subject.String(),
		Issuer:             c.Issuer.String(),
		Serial:             serialString(c),
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		DNSNames:           c.DNSNames,
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
		IsCA:               c.IsCA,
	}
	for _, ip := range c.IPAddresses {
		v.IPAddresses = append(v.IPAddresses, ip.String())
	}
	key := certcheck.PublicKeyInfo(c)
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
func serialString(c *x509.Certificate) string {
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

// ekuNames are the names RFC 5280 and vendors give the extended key usages.
var ekuNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                            "any",
	x509.ExtKeyUsageServerAuth:                     "serverAuth",
	x509.ExtKeyUsageClientAuth:                     "clientAuth",
	x509.ExtKeyUsageCodeSigning:                    "codeSigning",
	x509.ExtKeyUsageEmailProtection:                "emailProtection",
	x509.ExtKeyUsageIPSECEndSystem:                 "ipsecEndSystem",
	x509.ExtKeyUsageIPSECTunnel:                    "ipsecTunnel",
	x509.ExtKeyUsageIPSECUser:                      "ipsecUser",
	x509.ExtKeyUsageTimeStamping:                   "timeStamping",
	x509.ExtKeyUsageOCSPSigning:                    "OCSPSigning",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     "msSGC",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      "nsSGC",
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: "msCodeCom",
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     "msKernelCode",
}

func ekuName(u x509.ExtKeyUsage) string {
	if n, ok := ekuNames[u]; ok {
		return n
	}
	return fmt.Sprintf("eku(%d)", int(u))
}

// rfc3339 formats a time for messages.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
