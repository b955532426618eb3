package certcheck

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sipoauth/sdk/diag"
)

// Role says what a checked certificate is for.
type Role int

const (
	// RoleNode is the node's server ("Tomcat") certificate, presented on
	// ports 5090 and 5091: it needs serverAuth.
	RoleNode Role = iota
	// RoleEdgeProxy is an edge proxy's (Expressway-C's) certificate: it
	// needs clientAuth, because the proxy is the TLS client on port 5091.
	RoleEdgeProxy
)

// String returns "node" or "edge proxy".
func (r Role) String() string {
	switch r {
	case RoleNode:
		return "node"
	case RoleEdgeProxy:
		return "edge proxy"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Finding codes of Check, stable across releases.
const (
	CodeCertExpired          = "cert-expired"
	CodeCertNotYetValid      = "cert-not-yet-valid"
	CodeCertExpiring         = "cert-expiring"
	CodeRSAKeyTooSmall       = "rsa-key-too-small"
	CodeSHA1Signature        = "sha1-signature"
	CodeWeakSignature        = "weak-signature"
	CodeCAFlagOnLeaf         = "ca-flag-on-leaf"
	CodeMissingServerAuthEKU = "missing-server-auth-eku"
	CodeMissingClientAuthEKU = "missing-client-auth-eku"
	CodeNoSAN                = "no-san"
	CodeNameMismatch         = "name-mismatch"
	CodeSelfSignedLeaf       = "self-signed-leaf"
	CodeIncompleteChain      = "incomplete-chain"
	CodeUntrustedChain       = "untrusted-chain"
	// CodeChainNotChecked is reported when Options.Roots is set but the
	// chain cannot be verified, as crypto/x509 cannot read the
	// certificate: a Cert not made by NewCert or ParseCert whose Raw x509
	// refuses. Builds for js have no Options.Roots: they never verify
	// chains.
	CodeChainNotChecked = "chain-not-checked"
)

// Defaults and limits of the certificate checks.
const (
	// DefaultExpiryWarning is how long before NotAfter cert-expiring is
	// reported when Options.ExpiryWarning is zero: a month leaves time
	// for a CA to sign a new certificate.
	DefaultExpiryWarning = 30 * 24 * time.Hour
	// MinRSABits is the smallest RSA key accepted: Unified CM and
	// Expressway no longer generate smaller ones, and NIST retired 1024-bit
	// RSA in 2013.
	MinRSABits = 2048
	// MaxPEMCertificates bounds a pasted bundle, so that a form accepting
	// one cannot be made to build chains from thousands of certificates.
	MaxPEMCertificates = 64
)

// CheckCert returns the findings for cert, which must not be nil, in a
// stable order: validity, key, signature, basic constraints, extended key
// usage, names, issuer, chain. The chain codes need Options.Roots, which
// builds for js do not have.
//
//	code                     severity  when
//	cert-not-yet-valid       error     Now is before NotBefore
//	cert-expired             error     Now is after NotAfter
//	cert-expiring            warning   NotAfter is within ExpiryWarning of Now
//	rsa-key-too-small        error     an RSA key under 2048 bits
//	sha1-signature           error     signed with SHA-1 (RSA, ECDSA or DSA)
//	weak-signature           error     signed with MD5 or MD2
//	ca-flag-on-leaf          error     basic constraints say CA:TRUE
//	missing-server-auth-eku  error     RoleNode, and extended key usages without serverAuth
//	missing-client-auth-eku  error     RoleEdgeProxy, and extended key usages without clientAuth
//	no-san                   warning   no DNS or IP subject alternative name
//	name-mismatch            error     Host is given and no name of the certificate matches it
//	self-signed-leaf         warning   signed by its own key, and not a CA
//	incomplete-chain         error     Roots given, and an issuer is neither offered nor trusted
//	untrusted-chain          error     Roots given, and the chain fails otherwise
//	chain-not-checked        info      Roots given, and crypto/x509 cannot read the certificate
//
// A certificate without extended key usages may be used for anything, so
// it gets no EKU finding. The chain is verified at Now or, for a
// certificate outside its validity period, at the nearest time inside it,
// so that its own expiry is reported once and the chain's faults still
// show.
//
// Self-signed means that the issuer name is the subject name and the
// certificate's own key verifies its signature. When the signature cannot
// be verified (MD5 or MD2, or a certificate crypto/x509 cannot read), and
// always in builds for js, which leave signature verification out, it
// means that the issuer name is the subject name and the authority key ID
// is absent or equal to the subject key ID.
//
// Outside builds for js, the chain and the signature are checked with
// the *x509.Certificate cert was made from (NewCert, ParseCert), or else
// with Raw read by x509.ParseCertificate.
func CheckCert(cert *Cert, opts Options) diag.Findings {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.ExpiryWarning == 0 {
		opts.ExpiryWarning = DefaultExpiryWarning
	}
	c := &checker{cert: cert, opts: opts}
	c.validity()
	c.publicKey()
	c.signature()
	c.basicConstraints()
	c.extKeyUsage()
	c.names()
	c.selfSigned()
	c.chain()
	return c.fs
}

// checker collects the findings of one CheckCert call.
type checker struct {
	cert *Cert
	opts Options
	fs   diag.Findings
}

func (c *checker) add(code string, sev diag.Severity, field, msg, fix string) {
	c.fs = append(c.fs, diag.Finding{Code: code, Severity: sev, Path: "certificate/" + field, Message: msg, Fix: fix})
}

// label names the certificate in messages: its kind and subject CN, or
// the whole subject when it has no CN.
func (c *checker) label() string {
	kind := "certificate"
	switch c.opts.Role {
	case RoleNode:
		kind = "Tomcat certificate"
	case RoleEdgeProxy:
		kind = "Expressway-C certificate"
	}
	name := c.cert.Subject.CommonName
	if name == "" {
		name = c.cert.Subject.String()
	}
	return fmt.Sprintf("%s %q", kind, name)
}

// fix picks the advice for the role: Unified CM's Tomcat certificate is
// handled in OS Administration, Expressway-C's in its own web interface.
func (c *checker) fix(node, edge string) string {
	if c.opts.Role == RoleEdgeProxy {
		return edge
	}
	return node
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// What puts a new certificate to use: on Unified CM and Expressway, and in
// this SDK's programs, which follow their certificate files.
const (
	applyNode = "; on Unified CM, restart the Cisco CallManager service on each node that serves it (its OAuth ports present the Tomcat certificate) and refresh the Unified CM servers on Expressway-C; this SDK's programs reload a renewed certificate file without a restart"
	applyEdge = "; on Expressway-C, restart as it asks and refresh the Unified CM servers (Configuration > Unified Communications > Unified CM servers); this SDK's edge proxy reloads a renewed certificate file without a restart"
)

const (
	renewNode = "regenerate the Tomcat certificate (Cisco Unified OS Administration > Security > Certificate Management: Generate CSR, have the CA sign it, upload it as tomcat)" + applyNode
	renewEdge = "generate a new CSR on Expressway-C (Maintenance > Security > Server certificate), have the CA sign it and upload the signed certificate" + applyEdge
)

func (c *checker) validity() {
	now, nb, na := c.opts.Now, c.cert.NotBefore, c.cert.NotAfter
	if now.Before(nb) {
		c.add(CodeCertNotYetValid, diag.Error, "notBefore",
			fmt.Sprintf("%s is not valid before %s; it is now %s", c.label(), rfc3339(nb), rfc3339(now)),
			"check the clocks (NTP) of the host and of the CA that signed it, or wait until "+rfc3339(nb))
	}
	if now.After(na) {
		c.add(CodeCertExpired, diag.Error, "notAfter",
			fmt.Sprintf("%s expired at %s; it is now %s", c.label(), rfc3339(na), rfc3339(now)),
			c.fix(renewNode, renewEdge))
		return
	}
	if c.opts.ExpiryWarning > 0 && !na.After(now.Add(c.opts.ExpiryWarning)) {
		left := "less than a day"
		if days := int(na.Sub(now) / (24 * time.Hour)); days == 1 {
			left = "1 day"
		} else if days > 1 {
			left = fmt.Sprintf("%d days", days)
		}
		c.add(CodeCertExpiring, diag.Warning, "notAfter",
			fmt.Sprintf("%s expires at %s, in %s", c.label(), rfc3339(na), left),
			"before "+rfc3339(na)+", "+c.fix(renewNode, renewEdge))
	}
}

func (c *checker) publicKey() {
	key := c.cert.Key
	if key.Algorithm != "RSA" || key.Bits == 0 || key.Bits >= MinRSABits {
		return
	}
	c.add(CodeRSAKeyTooSmall, diag.Error, "publicKey",
		fmt.Sprintf("%s has a %d-bit RSA key; at least %d bits are needed", c.label(), key.Bits, MinRSABits),
		c.fix("regenerate the Tomcat certificate with a 2048-bit or larger key (Generate CSR, Key Length 2048 or more)"+applyNode,
			"generate a new Expressway-C CSR with a 2048-bit or larger key (Maintenance > Security > Server certificate) and upload the signed certificate"+applyEdge))
}

func (c *checker) signature() {
	alg := c.cert.SignatureAlgorithm
	code := ""
	switch alg {
	case "SHA1-RSA", "ECDSA-SHA1", "DSA-SHA1":
		code = CodeSHA1Signature
	case "MD5-RSA", "MD2-RSA":
		code = CodeWeakSignature
	default:
		return
	}
	c.add(code, diag.Error, "signatureAlgorithm",
		fmt.Sprintf("%s is signed with %s, which TLS peers reject as forgeable", c.label(), alg),
		c.fix("generate the Tomcat CSR with Hash Algorithm SHA256 and have the CA sign it with SHA-256 or stronger",
			"generate the Expressway-C CSR with Digest algorithm SHA-256 and have the CA sign it with SHA-256 or stronger"))
}

func (c *checker) basicConstraints() {
	if !c.cert.IsCA {
		return
	}
	c.add(CodeCAFlagOnLeaf, diag.Error, "basicConstraints",
		fmt.Sprintf("%s is a CA certificate (basic constraints CA:TRUE), not an end-entity certificate", c.label()),
		c.fix("have the CA issue the Tomcat certificate from an end-entity (web server) template with CA:FALSE; a CA certificate belongs in tomcat-trust",
			"have the CA issue the Expressway-C certificate from an end-entity template with CA:FALSE; a CA certificate belongs in the trusted CA list"))
}

func (c *checker) extKeyUsage() {
	var want, code, why, fix string
	switch c.opts.Role {
	case RoleNode:
		want, code = ekuServerAuth, CodeMissingServerAuthEKU
		why = "clients and Expressway-C refuse it as the server on ports 5090 and 5091"
		fix = "have the CA sign the Tomcat CSR with a template that includes TLS Web Server Authentication (serverAuth)"
	case RoleEdgeProxy:
		want, code = ekuClientAuth, CodeMissingClientAuthEKU
		why = "the node refuses it from the TLS client on port 5091"
		fix = "have the CA sign the Expressway-C CSR with a template that includes both TLS Web Client Authentication (clientAuth) and TLS Web Server Authentication"
	default:
		return
	}
	ekus := c.cert.ExtKeyUsage
	if len(ekus) == 0 && len(c.cert.UnknownExtKeyUsage) == 0 {
		return
	}
	if slices.Contains(ekus, want) || slices.Contains(ekus, ekuAny) {
		return
	}
	have := slices.Clone(ekus)
	for _, oid := range c.cert.UnknownExtKeyUsage {
		have = append(have, oid.String())
	}
	c.add(code, diag.Error, "extKeyUsage",
		fmt.Sprintf("%s has extended key usages %s but not %s: %s", c.label(), strings.Join(have, ", "), want, why),
		fix)
}

func (c *checker) names() {
	if len(c.cert.DNSNames) == 0 && len(c.cert.IPAddresses) == 0 {
		c.add(CodeNoSAN, diag.Warning, "subjectAltName",
			fmt.Sprintf("%s has no DNS or IP subject alternative name; clients match names against SANs, and many (Go, browsers) ignore the CN", c.label()),
			c.fix("regenerate the Tomcat CSR with the node's FQDN (and any name clients dial) as Subject Alternative Names",
				"generate the Expressway-C CSR with its FQDN (and its cluster name) as Subject Alternative Names"))
	}
	if c.opts.Host == "" {
		return
	}
	presented := c.cert.PeerNames(c.opts.CommonName)
	if presented.MatchesHost(c.opts.Host) {
		return
	}
	have := presented.String()
	if have == "" {
		have = "no usable name"
	}
	c.add(CodeNameMismatch, diag.Error, "subjectAltName",
		fmt.Sprintf("%s does not match %q: it has %s", c.label(), c.opts.Host, have),
		c.fix(fmt.Sprintf("regenerate the Tomcat certificate with %s as a Subject Alternative Name, or have clients and Expressway-C use a name it has", c.opts.Host),
			fmt.Sprintf("add %s to the Expressway-C certificate's Subject Alternative Names, or refresh Expressway-C's Unified CM servers so the edge-proxy table lists the names it has", c.opts.Host)))
}

// selfSigned flags a leaf signed by its own key: it chains to nothing, so
// each peer must trust it one by one. A CA certificate is already flagged
// by basicConstraints.
func (c *checker) selfSigned() {
	if c.cert.IsCA || !isSelfSigned(c.cert) {
		return
	}
	c.add(CodeSelfSignedLeaf, diag.Warning, "issuer",
		fmt.Sprintf("%s is self-signed (issuer %q is its own subject)", c.label(), c.cert.Issuer),
		c.fix("use a CA-signed Tomcat certificate; a self-signed one must be trusted by each client and by Expressway-C (Maintenance > Security > Trusted CA certificate)",
			"use a CA-signed Expressway-C certificate, or upload this one to the node's tomcat-trust"))
}

// isSelfSigned reports whether cert names itself as issuer and its own key
// verifies its signature or, when the signature cannot be verified here,
// whether its authority key ID is missing or its own subject key ID.
func isSelfSigned(cert *Cert) bool {
	if !bytes.Equal(cert.RawIssuer, cert.RawSubject) {
		return false
	}
	if ok, verified := ownSignature(cert); verified {
		return ok
	}
	return cert.selfIssuedByKeyID()
}
