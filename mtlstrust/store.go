package mtlstrust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/internal/bounded"
	"github.com/sipoauth/sdk/internal/watch"
)

// MaxFileSize bounds every certificate, key and trust-store file read.
const MaxFileSize = 4 << 20

// FileError says which file could not be used, and why.
type FileError struct {
	Path string
	Err  error
}

// Error names the file and the reason.
func (e *FileError) Error() string { return "mtlstrust: " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *FileError) Unwrap() error { return e.Err }

// Trust-store file names read from a directory; other files there are
// ignored.
var trustExtensions = []string{".pem", ".crt", ".cer", ".der", ".p12", ".pfx"}

// TrustStore is a set of trusted CA certificates (Unified CM's
// tomcat-trust) loaded from PEM bundles, DER files, PKCS#12 trust stores
// and directories of them. Reload swaps the whole set atomically; a
// reload that fails keeps the old set. Safe for concurrent use.
type TrustStore struct {
	paths    []string
	password string
	mu       sync.Mutex // serializes reloads
	pool     atomic.Pointer[x509.CertPool]
	certs    atomic.Pointer[[]*x509.Certificate]
	loaded   atomic.Pointer[[32]byte] // fingerprint of the files last loaded
}

// LoadTrustStore loads the certificates of the files and directories.
func LoadTrustStore(paths ...string) (*TrustStore, error) {
	return LoadTrustStorePKCS12(paths, "")
}

// LoadTrustStorePKCS12 is LoadTrustStore with the password of the
// PKCS#12 trust stores among the files (Java's default is "changeit").
func LoadTrustStorePKCS12(paths []string, password string) (*TrustStore, error) {
	if len(paths) == 0 {
		return nil, errors.New("mtlstrust: trust store needs at least one file or directory")
	}
	t := &TrustStore{paths: slices.Clone(paths), password: password}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// NewTrustStore returns a trust store of the given certificates, with no
// files behind it; Reload keeps them.
func NewTrustStore(certs ...*x509.Certificate) *TrustStore {
	t := &TrustStore{}
	t.set(slices.Clone(certs))
	return t
}

func (t *TrustStore) set(certs []*x509.Certificate) {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	t.certs.Store(&certs)
	t.pool.Store(p)
}

// Reload reads the files again and swaps the set in. On any error the
// old set stays and the error names the file and the reason.
func (t *TrustStore) Reload() error {
	if len(t.paths) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Taken before reading, so that a change made during the read is
	// seen by the next Watch tick.
	fp := fingerprint(t.paths, trustExtensions)
	var certs []*x509.Certificate
	for _, f := range expandPaths(t.paths, trustExtensions) {
		if f.err != nil {
			return f.err
		}
		cs, err := readTrustFile(f.path, t.password)
		if err != nil {
			return &FileError{Path: f.path, Err: err}
		}
		certs = append(certs, cs...)
	}
	if len(certs) == 0 {
		return &FileError{Path: strings.Join(t.paths, ", "), Err: errors.New("no certificates")}
	}
	t.set(certs)
	t.loaded.Store(&fp)
	return nil
}

// Pool returns the current set as a pool. Do not modify it.
func (t *TrustStore) Pool() *x509.CertPool { return t.pool.Load() }

// Certificates returns the current set.
func (t *TrustStore) Certificates() []*x509.Certificate { return slices.Clone(*t.certs.Load()) }

// Watch reloads the store whenever its files change, checking every
// interval (their contents, so that a replaced file of the same size and
// time counts), until ctx ends. Failed reloads are passed to onError, if
// set, and the old set stays.
func (t *TrustStore) Watch(ctx context.Context, interval time.Duration, onError func(error)) {
	watch.Poll(ctx, interval, func() [32]byte { return fingerprint(t.paths, trustExtensions) }, t.loaded.Load, t.Reload, onError)
}

type expanded struct {
	path string
	err  error
}

// expandPaths lists the files of paths, directories expanded (not
// recursively) to their files with one of exts, sorted.
func expandPaths(paths, exts []string) []expanded {
	var out []expanded
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			out = append(out, expanded{p, &FileError{Path: p, Err: err}})
			continue
		}
		if !st.IsDir() {
			out = append(out, expanded{path: p})
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			out = append(out, expanded{p, &FileError{Path: p, Err: err}})
			continue
		}
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && slices.Contains(exts, strings.ToLower(filepath.Ext(e.Name()))) {
				out = append(out, expanded{path: filepath.Join(p, e.Name())})
			}
		}
	}
	return out
}

// readLimited reads at most MaxFileSize bytes of a file.
func readLimited(path string) ([]byte, error) { return bounded.ReadFile(path, MaxFileSize) }

// readTrustFile reads the certificates of a PEM bundle, DER file or
// PKCS#12 trust store.
func readTrustFile(path, password string) ([]*x509.Certificate, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte("-----BEGIN")) {
		return certcheck.ParsePEMTrust(b)
	}
	if certs, err := x509.ParseCertificates(b); err == nil && len(certs) > 0 {
		return certs, nil
	}
	certs, err := pkcs12.DecodeTrustStore(b, password)
	if err != nil {
		return nil, fmt.Errorf("neither PEM, DER nor a PKCS#12 trust store (%v)", err)
	}
	if len(certs) == 0 {
		return nil, errors.New("PKCS#12 trust store holds no certificate")
	}
	return certs, nil
}

// CertSource holds the node's own certificate and key (or an edge
// proxy's), from PEM files or a PKCS#12 file, and serves it through
// GetCertificate and GetClientCertificate, so that a new certificate is
// used on the next handshake without a restart. Reload swaps it
// atomically; a reload that fails keeps the old one.
type CertSource struct {
	certFile, keyFile string // PEM
	p12File, password string // or PKCS#12
	mu                sync.Mutex
	cert              atomic.Pointer[tls.Certificate]
	loaded            atomic.Pointer[[32]byte]
}

func (s *CertSource) files() []string {
	return slices.DeleteFunc([]string{s.certFile, s.keyFile, s.p12File}, func(f string) bool { return f == "" })
}

// LoadCertSource loads a PEM certificate chain (leaf first) and its key.
func LoadCertSource(certFile, keyFile string) (*CertSource, error) {
	s := &CertSource{certFile: certFile, keyFile: keyFile}
	return s, s.Reload()
}

// LoadCertSourcePKCS12 loads a PKCS#12 file holding a key, its
// certificate and the chain.
func LoadCertSourcePKCS12(file, password string) (*CertSource, error) {
	s := &CertSource{p12File: file, password: password}
	return s, s.Reload()
}

// NewCertSource returns a source of a fixed certificate, with no files
// behind it; Reload keeps it.
func NewCertSource(c tls.Certificate) (*CertSource, error) {
	if err := fillLeaf(&c); err != nil {
		return nil, err
	}
	s := &CertSource{}
	s.cert.Store(&c)
	return s, nil
}

func fillLeaf(c *tls.Certificate) error {
	if len(c.Certificate) == 0 {
		return errors.New("mtlstrust: certificate without a leaf")
	}
	if c.Leaf == nil {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return err
		}
		c.Leaf = leaf
	}
	return nil
}

// Reload reads the files again.
func (s *CertSource) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fp := fingerprint(s.files(), nil)
	var c tls.Certificate
	switch {
	case s.p12File != "":
		b, err := readLimited(s.p12File)
		if err != nil {
			return &FileError{Path: s.p12File, Err: err}
		}
		key, leaf, chain, err := pkcs12.DecodeChain(b, s.password)
		if err != nil {
			return &FileError{Path: s.p12File, Err: err}
		}
		c = tls.Certificate{PrivateKey: key, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
		for _, ca := range chain {
			c.Certificate = append(c.Certificate, ca.Raw)
		}
		// Refuse a key that is not the certificate's, as X509KeyPair does.
		if _, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), keyPEM(key)); err != nil {
			return &FileError{Path: s.p12File, Err: err}
		}
	case s.certFile != "":
		cb, err := readLimited(s.certFile)
		if err != nil {
			return &FileError{Path: s.certFile, Err: err}
		}
		kb, err := readLimited(s.keyFile)
		if err != nil {
			return &FileError{Path: s.keyFile, Err: err}
		}
		if c, err = tls.X509KeyPair(cb, kb); err != nil {
			return &FileError{Path: s.certFile + " + " + s.keyFile, Err: err}
		}
	default:
		return nil
	}
	if err := fillLeaf(&c); err != nil {
		return err
	}
	s.cert.Store(&c)
	s.loaded.Store(&fp)
	return nil
}

func keyPEM(key any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Certificate returns the current certificate.
func (s *CertSource) Certificate() *tls.Certificate { return s.cert.Load() }

// GetCertificate serves the current certificate: tls.Config.GetCertificate.
func (s *CertSource) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.cert.Load(), nil
}

// GetClientCertificate presents the current certificate:
// tls.Config.GetClientCertificate.
func (s *CertSource) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return s.cert.Load(), nil
}

// Watch reloads the certificate whenever its files change, checking every
// interval, until ctx ends. Failed reloads go to onError, if set.
func (s *CertSource) Watch(ctx context.Context, interval time.Duration, onError func(error)) {
	watch.Poll(ctx, interval, func() [32]byte { return fingerprint(s.files(), nil) }, s.loaded.Load, s.Reload, onError)
}

// fingerprint hashes the names and contents of the files.
func fingerprint(paths, exts []string) [32]byte {
	h := sha256.New()
	for _, f := range expandPaths(paths, exts) {
		io.WriteString(h, f.path)
		if b, err := readLimited(f.path); err == nil {
			h.Write(b)
		} else {
			io.WriteString(h, err.Error())
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
