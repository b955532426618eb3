//go:build !js

package certcheck

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/sipoauth/sdk/diag"
)

// Options say what a certificate is checked against.
type Options struct {
	// Role selects the extended key usage required and the wording of the
	// fixes.
	Role Role
	// Host is the name (DNS or IP) the certificate must match, by the rules
	// of PeerNames and Names.MatchesHost; not checked when empty.
	Host string
	// Roots is the trust store the chain must reach; the chain is not
	// checked when nil. Builds for js have no Roots: they do not verify
	// chains.
	Roots *x509.CertPool
	// Intermediates are the CA certificates offered with the certificate;
	// like Roots, they are used only to verify the chain.
	Intermediates []*x509.Certificate
	// Now is the time validity is checked at; time.Now() when zero.
	Now time.Time
	// ExpiryWarning is how long before NotAfter cert-expiring is reported:
	// DefaultExpiryWarning when zero, never when negative.
	ExpiryWarning time.Duration
	// CommonName says when the subject CN counts as a name for Host.
	CommonName CommonNamePolicy
}

// Check returns the findings for cert, which must not be nil: CheckCert
// on NewCert(cert), whose documentation lists the codes and their order.
// It is not in builds for js.
func Check(cert *x509.Certificate, opts Options) diag.Findings {
	return CheckCert(NewCert(cert), opts)
}

// NewCert describes cert, which must not be nil, for CheckCert and
// certificate views; the description shares cert's slices. Key is
// PublicKeyInfo(cert), SignatureAlgorithm and ExtKeyUsage are the names
// of x509's String methods (MD2WithRSA, which x509 never parses, is
// "MD2-RSA"), and IP addresses that are neither 4 nor 16 bytes long are
// dropped. It is not in builds for js.
func NewCert(cert *x509.Certificate) *Cert {
	c := &Cert{
		Raw:                   cert.Raw,
		RawSubject:            cert.RawSubject,
		RawIssuer:             cert.RawIssuer,
		Version:               cert.Version,
		SerialNumber:          cert.SerialNumber,
		Subject:               cert.Subject,
		Issuer:                cert.Issuer,
		NotBefore:             cert.NotBefore,
		NotAfter:              cert.NotAfter,
		Key:                   PublicKeyInfo(cert),
		SignatureAlgorithm:    cert.SignatureAlgorithm.String(),
		BasicConstraintsValid: cert.BasicConstraintsValid,
		IsCA:                  cert.IsCA,
		MaxPathLen:            cert.MaxPathLen,
		MaxPathLenZero:        cert.MaxPathLenZero,
		KeyUsage:              int(cert.KeyUsage),
		UnknownExtKeyUsage:    cert.UnknownExtKeyUsage,
		DNSNames:              cert.DNSNames,
		EmailAddresses:        cert.EmailAddresses,
		SubjectKeyId:          cert.SubjectKeyId,
		AuthorityKeyId:        cert.AuthorityKeyId,
		std:                   cert,
	}
	if cert.SignatureAlgorithm == x509.MD2WithRSA {
		c.SignatureAlgorithm = "MD2-RSA"
	}
	for _, u := range cert.ExtKeyUsage {
		c.ExtKeyUsage = append(c.ExtKeyUsage, u.String())
	}
	for _, ip := range cert.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			c.IPAddresses = append(c.IPAddresses, a)
		}
	}
	return c
}

// Parse parses one DER certificate with x509.ParseCertificate; its errors
// satisfy errors.Is(err, ErrMalformedCertificate). It is not in builds
// for js, which have ParseCert.
func Parse(der []byte) (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &parseError{err}
	}
	return cert, nil
}

func parseCertDER(der []byte) (*Cert, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return NewCert(cert), nil
}

// ParsePEM is ParsePEMCerts with Parse: it returns the certificates as
// crypto/x509 reads them. It is not in builds for js.
func ParsePEM(data []byte) ([]*x509.Certificate, error) {
	return parsePEM(data, MaxPEMCertificates, Parse)
}

// ParsePEMTrust is ParsePEM for a trust store's bundle (an operating
// system's holds more than a hundred CAs): no bound on the count but the
// input's size. It is not in builds for js.
func ParsePEMTrust(data []byte) ([]*x509.Certificate, error) {
	return parsePEM(data, 0, Parse)
}

// CheckPEM parses a PEM bundle with ParsePEM, the certificate to check
// first and then the intermediates offered with it, and runs Check on the
// first with the others appended to opts.Intermediates (the caller's
// slice is not written to). It returns the findings and the parsed
// certificates, or ParsePEM's error. It is not in builds for js, which
// have CheckPEMCerts.
func CheckPEM(data []byte, opts Options) (diag.Findings, []*x509.Certificate, error) {
	certs, err := ParsePEM(data)
	if err != nil {
		return nil, nil, err
	}
	opts.Intermediates = append(slices.Clip(opts.Intermediates), certs[1:]...)
	return Check(certs[0], opts), certs, nil
}

// withIntermediates appends the certificates offered after the first to
// opts.Intermediates, without writing to the caller's slice.
func withIntermediates(opts Options, offered []*Cert) Options {
	inter := slices.Clip(opts.Intermediates)
	for _, c := range offered {
		if std := c.x509(); std != nil {
			inter = append(inter, std)
		}
	}
	opts.Intermediates = inter
	return opts
}

// PeerNames returns the names cert presents under policy. Malformed DNS
// names, and wildcards anywhere but the whole left-most label, are
// dropped: they never match. Builds for js have Cert.PeerNames instead.
func PeerNames(cert *x509.Certificate, policy CommonNamePolicy) Names {
	n := peerNames(cert.DNSNames, cert.Subject.CommonName, policy)
	for _, ip := range cert.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			n.IPs = append(n.IPs, a.Unmap())
		}
	}
	return n
}

// PublicKeyInfo describes cert's public key from its
// RawSubjectPublicKeyInfo, so that it gives the same answer as the lite
// parser of builds for js; for a certificate built without it, it falls
// back on PublicKeyAlgorithm and an RSA key's modulus. Builds for js have
// Cert.Key instead.
func PublicKeyInfo(cert *x509.Certificate) KeyInfo {
	info := KeyInfo{Algorithm: cert.PublicKeyAlgorithm.String()}
	if ki, ok := keyInfoFromSPKI(cert.RawSubjectPublicKeyInfo, info); ok {
		return ki
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); ok && pub.N != nil {
		info.Bits = pub.N.BitLen()
	}
	return info
}

// x509 returns the *x509.Certificate c was made from or, for a Cert made
// otherwise, Raw read by x509.ParseCertificate; nil when x509 refuses
// Raw.
func (c *Cert) x509() *x509.Certificate {
	if std, ok := c.std.(*x509.Certificate); ok && std != nil {
		return std
	}
	std, err := x509.ParseCertificate(c.Raw)
	if err != nil {
		return nil
	}
	return std
}

// ownSignature verifies cert's signature with its own key, when x509 can
// read cert.
func ownSignature(cert *Cert) (ok, verified bool) {
	std := cert.x509()
	if std == nil {
		return false, false
	}
	return checkOwnSignature(std)
}

// checkOwnSignature verifies cert's signature with its own key. verified
// is false when that cannot be done: an MD5 or MD2 signature.
func checkOwnSignature(cert *x509.Certificate) (ok, verified bool) {
	err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature)
	var insecure x509.InsecureAlgorithmError
	if errors.As(err, &insecure) {
		return false, false
	}
	return err == nil, true
}

// chainNotChecked reports that Roots was given for a certificate that
// crypto/x509 cannot read, so that a caller does not read the absence of
// chain findings as a verified chain.
func (c *checker) chainNotChecked() {
	if c.opts.Roots == nil {
		return
	}
	c.add(CodeChainNotChecked, diag.Info, "issuer",
		fmt.Sprintf("%s: the chain to the trust store is not verified, as crypto/x509 cannot read the certificate (issuer %q)", c.label(), c.cert.Issuer.String()),
		"check the certificate with the sipoauth command, which reports why it cannot be read, and replace it with one that can")
}

func (c *checker) chain() {
	if c.opts.Roots == nil {
		return
	}
	leaf := c.cert.x509()
	if leaf == nil {
		c.chainNotChecked()
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
	_, err := leaf.Verify(x509.VerifyOptions{
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
