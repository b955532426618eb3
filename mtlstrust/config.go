package mtlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// cipherSuites are the TLS 1.2 suites offered: ECDHE with AEAD only.
// TLS 1.3 suites are not configurable and all sound.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Option adjusts a tls.Config built by this package.
type Option interface{ apply(*options) }

type options struct {
	verify  []func(tls.ConnectionState) error
	minVers uint16
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithVerify adds a check run after the package's own in
// VerifyConnection, such as an OCSPChecker's VerifyConnection.
func WithVerify(f func(tls.ConnectionState) error) Option {
	return optionFunc(func(o *options) { o.verify = append(o.verify, f) })
}

// WithMinVersion raises the minimum TLS version (TLS 1.2 by default).
func WithMinVersion(v uint16) Option {
	return optionFunc(func(o *options) {
		if v > o.minVers {
			o.minVers = v
		}
	})
}

func buildOptions(opts []Option) options {
	o := options{minVers: tls.VersionTLS12}
	for _, opt := range opts {
		opt.apply(&o)
	}
	return o
}

func (o options) runVerify(cs tls.ConnectionState) error {
	for _, f := range o.verify {
		if err := f(cs); err != nil {
			return err
		}
	}
	return nil
}

func baseConfig(o options) *tls.Config {
	return &tls.Config{MinVersion: o.minVers, CipherSuites: cipherSuites}
}

// OAuthServerConfig returns the configuration of the OAuth port (5090):
// server-authenticated TLS presenting cert, which no client certificate is
// asked for, since clients authenticate with a token.
func OAuthServerConfig(cert *CertSource, opts ...Option) *tls.Config {
	o := buildOptions(opts)
	c := baseConfig(o)
	c.GetCertificate = cert.GetCertificate
	c.ClientAuth = tls.NoClientCert
	if len(o.verify) > 0 {
		c.VerifyConnection = o.runVerify
	}
	return c
}

// EdgeServerConfig returns the configuration of the MRA OAuth port (5091):
// mutual TLS presenting cert, requiring a client certificate whose chain
// verifies against trust (with the clientAuth usage), then authz (for
// example edgetable.Authorize) in VerifyConnection, through
// AuthorizeConnection, which the SIP stack can call again on each request
// (a nil authz refuses every peer). The trust store is read at every handshake, so a reload
// takes effect on the next one.
func EdgeServerConfig(cert *CertSource, trust *TrustStore, authz Authorizer, opts ...Option) *tls.Config {
	o := buildOptions(opts)
	base := baseConfig(o)
	base.GetCertificate = cert.GetCertificate
	base.ClientAuth = tls.RequireAndVerifyClientCert
	base.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := AuthorizeConnection(authz, &cs); err != nil {
			return err
		}
		return o.runVerify(cs)
	}
	// The pool is taken per handshake, so a reloaded store applies at once.
	server := base.Clone()
	server.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.ClientCAs = trust.Pool()
		return c, nil
	}
	server.ClientCAs = trust.Pool()
	return server
}

// EdgeClientConfig returns the configuration of an edge proxy connecting
// to a node's MRA OAuth port: it presents cert and trusts the node's
// certificate when it verifies against trust (the node's signer) for
// serverName. The trust store is read at every handshake.
func EdgeClientConfig(cert *CertSource, trust *TrustStore, serverName string, opts ...Option) *tls.Config {
	o := buildOptions(opts)
	c := baseConfig(o)
	c.GetClientCertificate = cert.GetClientCertificate
	c.ServerName = serverName
	// The standard verification would take RootCAs once; VerifyConnection
	// does the same verification with the store's current pool.
	c.InsecureSkipVerify = true
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := verifyServer(cs, trust.Pool(), serverName); err != nil {
			return err
		}
		return o.runVerify(cs)
	}
	return c
}

// verifyServer is crypto/tls's verification of a server's chain and name.
func verifyServer(cs tls.ConnectionState, roots *x509.CertPool, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("mtlstrust: server presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, DNSName: name,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}
