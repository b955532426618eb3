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

// CertificateSource gives the certificate a TLS endpoint presents. It is
// asked at every handshake, so a reloaded certificate applies at once
// without a restart. *CertSource implements it; so can a product's own
// certificate manager.
type CertificateSource interface {
	Certificate() *tls.Certificate
}

// TrustSource gives the signers a TLS endpoint trusts. It is asked at
// every handshake, so a reloaded store applies at once. *TrustStore
// implements it.
type TrustSource interface {
	Pool() *x509.CertPool
}

var (
	_ CertificateSource = (*CertSource)(nil)
	_ TrustSource       = (*TrustStore)(nil)
)

// getCertificate and getClientCertificate present what src holds now.
func getCertificate(src CertificateSource) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if c := src.Certificate(); c != nil {
			return c, nil
		}
		return nil, errors.New("mtlstrust: no certificate loaded")
	}
}

func getClientCertificate(src CertificateSource) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if c := src.Certificate(); c != nil {
			return c, nil
		}
		// No certificate sent: the server refuses at once, with a reason
		// its diagnosis names, where an error would leave it waiting.
		return &tls.Certificate{}, nil
	}
}

func baseConfig(o options) *tls.Config {
	return &tls.Config{MinVersion: o.minVers, CipherSuites: cipherSuites}
}

// OAuthServerConfig returns the configuration of the OAuth port (5090):
// server-authenticated TLS presenting cert, which no client certificate is
// asked for, since clients authenticate with a token.
func OAuthServerConfig(cert CertificateSource, opts ...Option) *tls.Config {
	o := buildOptions(opts)
	c := baseConfig(o)
	c.GetCertificate = getCertificate(cert)
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
func EdgeServerConfig(cert CertificateSource, trust TrustSource, authz Authorizer, opts ...Option) *tls.Config {
	o := buildOptions(opts)
	base := baseConfig(o)
	base.GetCertificate = getCertificate(cert)
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
// serverName (ClientConfig).
func EdgeClientConfig(cert CertificateSource, trust TrustSource, serverName string, opts ...Option) *tls.Config {
	c := ClientConfig(trust, serverName, opts...)
	c.GetClientCertificate = getClientCertificate(cert)
	return c
}

// ClientConfig returns the configuration of a TLS client that trusts a
// server whose chain verifies against trust, for the serverAuth usage and
// serverName (the name the connection was dialed with when serverName is
// empty). The trust source is asked at every handshake, which the
// standard verification, taking RootCAs once, would not do.
func ClientConfig(trust TrustSource, serverName string, opts ...Option) *tls.Config {
	o := buildOptions(opts)
	c := baseConfig(o)
	c.ServerName = serverName
	c.InsecureSkipVerify = true // VerifyConnection verifies, with the current pool
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		name := serverName
		if name == "" {
			name = cs.ServerName
		}
		if err := verifyServer(cs, trust.Pool(), name); err != nil {
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
