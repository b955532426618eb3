//go:build !js

package certcheck

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/sipoauth/sdk/diag"
)

// checkOwnSignature verifies cert's signature with its own key. verified
// is false when that cannot be done: an MD5 or MD2 signature, or an
// ECDSA key the lite parser left undecoded.
func checkOwnSignature(cert *x509.Certificate) (ok, verified bool) {
	if cert.PublicKey == nil && cert.PublicKeyAlgorithm == x509.ECDSA {
		return false, false
	}
	err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature)
	var insecure x509.InsecureAlgorithmError
	if errors.As(err, &insecure) {
		return false, false
	}
	return err == nil, true
}

func (c *checker) chain() {
	if c.opts.Roots == nil {
		return
	}
	inter := x509.NewCertPool()
	for _, ic := range c.opts.Intermediates {
		if ic != nil {
			inter.AddCert(ic)
		}
	}
	// The leaf's own validity is already reported; verifying at a time it
	// is valid lets the chain's problems show rather than that again.
	at := c.opts.Now
	if at.Before(c.cert.NotBefore) {
		at = c.cert.NotBefore
	} else if at.After(c.cert.NotAfter) {
		at = c.cert.NotAfter
	}
	_, err := c.cert.Verify(x509.VerifyOptions{
		Roots:         c.opts.Roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err == nil {
		return
	}
	// An unknown authority without a hint means no certificate with the
	// issuer's name was found: the chain stops short. With a hint, a
	// candidate was found and rejected (wrong key, weak signature, expired),
	// which the x509 error explains.
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) && ua.Cert != nil && !bytes.Equal(ua.Cert.RawIssuer, ua.Cert.RawSubject) &&
		ua.Error() == (x509.UnknownAuthorityError{Cert: ua.Cert}).Error() {
		issuer := ua.Cert.Issuer.String()
		c.add(CodeIncompleteChain, diag.Error, "issuer",
			fmt.Sprintf("%s: issuer %q of %q is neither among the intermediates offered nor in the trust store; the chain must include it or the trust store must hold its root",
				c.label(), issuer, ua.Cert.Subject.String()),
			c.fix(fmt.Sprintf("upload the CA certificates up to the root (%s and the CAs above it) to tomcat-trust, so Unified CM sends the whole chain with the Tomcat certificate, and the root to Expressway-C's trusted CA list", issuer),
				fmt.Sprintf("upload the CA certificates up to the root (%s and the CAs above it) to the node's tomcat-trust, or add the intermediates to Expressway-C's server certificate chain", issuer)))
		return
	}
	msg := fmt.Sprintf("%s does not chain to the trust store: %v", c.label(), err)
	if ua.Cert != nil && bytes.Equal(ua.Cert.RawIssuer, ua.Cert.RawSubject) {
		// The chain is whole but ends at a self-issued certificate the
		// trust store does not hold: name it.
		msg = fmt.Sprintf("%s chains to %q, which is self-issued and not in the trust store: %v", c.label(), ua.Cert.Subject.String(), err)
	}
	c.add(CodeUntrustedChain, diag.Error, "issuer", msg,
		c.fix("add the root CA that signed the Tomcat certificate to the trust store of its clients (Expressway-C: Maintenance > Security > Trusted CA certificate)",
			"upload the root CA that signed the Expressway-C certificate to the node's tomcat-trust"))
}
