package testca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

var serial atomic.Int64

// CA is a certificate authority held in memory.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Parent is the CA that signed this one, nil for a root.
	Parent *CA
}

// Options shape a certificate. The zero value is a valid ECDSA P-256 leaf
// for an hour either side of now.
type Options struct {
	CommonName          string
	DNSNames            []string
	IPs                 []net.IP
	ExtKeyUsage         []x509.ExtKeyUsage
	NotBefore, NotAfter time.Time
	// RSABits makes an RSA key of that size instead of ECDSA P-256.
	RSABits int
	// SHA1 signs with SHA-1 (needs an RSA issuer key).
	SHA1 bool
	// IsCA marks the certificate as a CA.
	IsCA bool
	// OCSPServer sets the responder URL.
	OCSPServer []string
}

// New returns a root CA with an ECDSA P-256 key.
func New(tb testing.TB, name string) *CA {
	tb.Helper()
	return newCA(tb, name, nil, 0)
}

// NewRSA returns a root CA with an RSA key of bits.
func NewRSA(tb testing.TB, name string, bits int) *CA {
	tb.Helper()
	return newCA(tb, name, nil, bits)
}

// Intermediate returns a CA signed by ca.
func (ca *CA) Intermediate(tb testing.TB, name string) *CA {
	tb.Helper()
	return newCA(tb, name, ca, 0)
}

func newCA(tb testing.TB, name string, parent *CA, bits int) *CA {
	key := newKey(tb, bits)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"sipoauth test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	issuerCert, issuerKey := tmpl, key
	if parent != nil {
		issuerCert, issuerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuerCert, key.Public(), issuerKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Cert: cert, Key: key, Parent: parent}
}

func newKey(tb testing.TB, bits int) crypto.Signer {
	var k crypto.Signer
	var err error
	if bits > 0 {
		k, err = rsa.GenerateKey(rand.Reader, bits)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// Leaf is a certificate and its key, with the chain up to (not including)
// the root.
type Leaf struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate // intermediates, nearest first
}

// Issue signs a leaf certificate.
func (ca *CA) Issue(tb testing.TB, o Options) *Leaf {
	tb.Helper()
	key := newKey(tb, o.RSABits)
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: o.CommonName},
		DNSNames:              o.DNSNames,
		IPAddresses:           o.IPs,
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           o.ExtKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  o.IsCA,
		OCSPServer:            o.OCSPServer,
	}
	if o.SHA1 {
		tmpl.SignatureAlgorithm = x509.SHA1WithRSA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	l := &Leaf{Cert: cert, Key: key}
	for c := ca; c != nil && c.Parent != nil; c = c.Parent {
		l.Chain = append(l.Chain, c.Cert)
	}
	return l
}

// Server issues a node (serverAuth) certificate for the names given
// (DNS names, or IP addresses when they parse as one).
func (ca *CA) Server(tb testing.TB, names ...string) *Leaf {
	tb.Helper()
	return ca.Issue(tb, options(names, x509.ExtKeyUsageServerAuth))
}

// Client issues an edge-proxy certificate: clientAuth and serverAuth, as
// Expressway-C's certificate is used both ways.
func (ca *CA) Client(tb testing.TB, names ...string) *Leaf {
	tb.Helper()
	return ca.Issue(tb, options(names, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth))
}

func options(names []string, eku ...x509.ExtKeyUsage) Options {
	o := Options{ExtKeyUsage: eku}
	if len(names) > 0 {
		o.CommonName = names[0]
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			o.IPs = append(o.IPs, ip)
		} else {
			o.DNSNames = append(o.DNSNames, n)
		}
	}
	return o
}

// TLS returns the leaf as a tls.Certificate with its chain.
func (l *Leaf) TLS() tls.Certificate {
	c := tls.Certificate{PrivateKey: l.Key, Leaf: l.Cert, Certificate: [][]byte{l.Cert.Raw}}
	for _, i := range l.Chain {
		c.Certificate = append(c.Certificate, i.Raw)
	}
	return c
}

// CertPEM returns the leaf and its chain as PEM.
func (l *Leaf) CertPEM() []byte {
	out := CertPEM(l.Cert)
	for _, c := range l.Chain {
		out = append(out, CertPEM(c)...)
	}
	return out
}

// KeyPEM returns the private key as PKCS#8 PEM.
func (l *Leaf) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(l.Key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// CertPEM encodes certificates as PEM.
func CertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// Pool returns a pool holding the CA's root.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	root := ca
	for root.Parent != nil {
		root = root.Parent
	}
	p.AddCert(root.Cert)
	return p
}
