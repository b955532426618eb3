package mtlstrust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
)

// pki is a deployment: the node's CA and certificate, the edge proxy's
// CA and certificate, and the stores each side trusts.
type pki struct {
	nodeCA, proxyCA *testca.CA
	node, proxy     *testca.Leaf
	nodeCert        *CertSource
	proxyCert       *CertSource
	tomcatTrust     *TrustStore // the node trusts the proxy's signer
	proxyTrust      *TrustStore // the proxy trusts the node's signer
	allowed         *allowList  // the edge proxies the node accepts
}

const nodeName = "cucm-pub.example.com"

func newPKI(t testing.TB) *pki {
	t.Helper()
	p := &pki{nodeCA: testca.New(t, "Node CA"), proxyCA: testca.New(t, "Expressway CA")}
	p.node = p.nodeCA.Server(t, nodeName, "10.10.10.1")
	p.proxy = p.proxyCA.Client(t, "expc1.example.com")
	var err error
	if p.nodeCert, err = NewCertSource(p.node.TLS()); err != nil {
		t.Fatal(err)
	}
	if p.proxyCert, err = NewCertSource(p.proxy.TLS()); err != nil {
		t.Fatal(err)
	}
	p.tomcatTrust = NewTrustStore(p.proxyCA.Cert)
	p.proxyTrust = NewTrustStore(p.nodeCA.Cert)
	p.allowed = &allowList{}
	p.allowed.set("expc1.example.com", "expc1.example.com")
	return p
}

// allowList stands for the node's edge-proxy table in these tests: names
// listed by key in a NameIndex and read at every call of the authorizer,
// as a table is.
type allowList struct {
	mu  sync.RWMutex
	idx NameIndex
}

// set lists names under key, in place of what it listed.
func (l *allowList) set(key string, names ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.idx.Remove(key)
	l.idx.Add(key, names, false)
}

func (l *allowList) remove(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.idx.Remove(key)
}

func (l *allowList) authorizer() Authorizer {
	return AuthorizeMatch(func(n certcheck.Names) bool {
		l.mu.RLock()
		defer l.mu.RUnlock()
		_, ok := l.idx.Match(n)
		return ok
	})
}

func (p *pki) edgeServer(opts ...Option) *tls.Config {
	return EdgeServerConfig(p.nodeCert, p.tomcatTrust, p.allowed.authorizer(), opts...)
}

func (p *pki) edgeClient() *tls.Config {
	return EdgeClientConfig(p.proxyCert, p.proxyTrust, nodeName)
}

func TestOAuthPortHandshake(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	client := &tls.Config{RootCAs: p.nodeCA.Pool(), ServerName: nodeName}
	r := testca.RunHandshake(t, OAuthServerConfig(p.nodeCert), client)
	if r.ServerErr != nil || r.ClientErr != nil {
		t.Fatalf("server %v, client %v", r.ServerErr, r.ClientErr)
	}
	if len(r.Server.PeerCertificates) != 0 {
		t.Fatal("the OAuth port asked for a client certificate")
	}
	if r.Client.PeerCertificates[0].Subject.CommonName != nodeName {
		t.Fatalf("served %s", r.Client.PeerCertificates[0].Subject)
	}
	// A client offering a certificate anyway is not asked for it.
	client.Certificates = []tls.Certificate{p.proxy.TLS()}
	if r := testca.RunHandshake(t, OAuthServerConfig(p.nodeCert), client); r.ServerErr != nil || len(r.Server.PeerCertificates) != 0 {
		t.Fatalf("%v, %d peer certificates", r.ServerErr, len(r.Server.PeerCertificates))
	}
	// TLS 1.1 is refused.
	old := &tls.Config{RootCAs: p.nodeCA.Pool(), ServerName: nodeName, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}
	if r := testca.RunHandshake(t, OAuthServerConfig(p.nodeCert), old); r.ServerErr == nil {
		t.Fatal("TLS 1.1 accepted")
	}
}

func TestEdgePortHandshake(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		client := p.edgeClient()
		client.MaxVersion = v
		r := testca.RunHandshake(t, p.edgeServer(), client)
		if r.ServerErr != nil || r.ClientErr != nil {
			t.Fatalf("TLS %x: server %v, client %v", v, r.ServerErr, r.ClientErr)
		}
		if r.Server.Version != v || r.Server.PeerCertificates[0].Subject.CommonName != "expc1.example.com" {
			t.Fatalf("version %x, peer %s", r.Server.Version, r.Server.PeerCertificates[0].Subject)
		}
	}
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	other := testca.New(t, "Some Other CA")
	cases := []struct {
		name                 string
		setup                func(p *pki) (server, client *tls.Config)
		nodeCode, edgeCode   string
		nodeScenario, edgeSc int
	}{
		{"2: the proxy does not trust the node's signer", func(p *pki) (*tls.Config, *tls.Config) {
			p.proxyTrust = NewTrustStore(other.Cert)
			return p.edgeServer(), p.edgeClient()
		}, diag.CodeBadCertificate, diag.CodeUnknownCAAtEdge, 2, 2},
		{"3: the node does not trust the proxy's signer", func(p *pki) (*tls.Config, *tls.Config) {
			p.tomcatTrust = NewTrustStore(other.Cert)
			return p.edgeServer(), p.edgeClient()
		}, diag.CodeUnknownCAAtNode, diag.CodeUnknownCAAtNode, 3, 3},
		{"3: the proxy is not in the table", func(p *pki) (*tls.Config, *tls.Config) {
			p.allowed.remove("expc1.example.com")
			p.allowed.set("expc2", "expc2.example.com")
			return p.edgeServer(), p.edgeClient()
		}, diag.CodeNotInTable, diag.CodeBadCertificate, 3, 3},
		{"expired proxy certificate", func(p *pki) (*tls.Config, *tls.Config) {
			old := p.proxyCA.Issue(t, testca.Options{CommonName: "expc1.example.com", DNSNames: []string{"expc1.example.com"},
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
			p.proxyCert, _ = NewCertSource(old.TLS())
			return p.edgeServer(), p.edgeClient()
		}, diag.CodeCertificateExpired, diag.CodeCertificateExpired, 3, 3},
		{"no client certificate on 5091", func(p *pki) (*tls.Config, *tls.Config) {
			return p.edgeServer(), &tls.Config{RootCAs: p.nodeCA.Pool(), ServerName: nodeName}
		}, diag.CodeNoClientCertificate, diag.CodeNoClientCertificate, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKI(t)
			server, client := tc.setup(p)
			r := testca.RunHandshake(t, server, client)
			if r.ServerErr == nil || r.ClientErr == nil {
				t.Fatalf("handshake passed: server %v, client %v", r.ServerErr, r.ClientErr)
			}
			nd, ed := Diagnose(r.ServerErr, diag.NodeSide), Diagnose(r.ClientErr, diag.EdgeSide)
			if nd.Code != tc.nodeCode || nd.Scenario != tc.nodeScenario || nd.Fix == "" {
				t.Errorf("node side: %+v (from %v)", nd, r.ServerErr)
			}
			if ed.Code != tc.edgeCode || ed.Scenario != tc.edgeSc || ed.Fix == "" {
				t.Errorf("edge side: %+v (from %v)", ed, r.ClientErr)
			}
		})
	}
}

func TestNodeNameMismatch(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	client := EdgeClientConfig(p.proxyCert, p.proxyTrust, "cucm-sub.example.com")
	r := testca.RunHandshake(t, p.edgeServer(), client)
	if d := Diagnose(r.ClientErr, diag.EdgeSide); d.Code != diag.CodeNodeNameMismatch ||
		d.Message != "the node's certificate is not valid for cucm-sub.example.com (it names cucm-pub.example.com, 10.10.10.1)" {
		t.Fatalf("%+v from %v", d, r.ClientErr)
	}
	// A certificate with an IP address only.
	ipOnly := p.nodeCA.Server(t, "10.10.10.1")
	ipSrc, err := NewCertSource(ipOnly.TLS())
	if err != nil {
		t.Fatal(err)
	}
	r = testca.RunHandshake(t, EdgeServerConfig(ipSrc, p.tomcatTrust, p.allowed.authorizer()), client)
	if d := Diagnose(r.ClientErr, diag.EdgeSide); d.Code != diag.CodeNodeNameMismatch ||
		d.Message != "the node's certificate is not valid for cucm-sub.example.com (it names 10.10.10.1)" {
		t.Fatalf("IP-only certificate: %+v from %v", d, r.ClientErr)
	}
	if d := Diagnose(errors.New("boom"), diag.NodeSide); d.Code != diag.CodeHandshakeFailed || d.Scenario != 0 {
		t.Fatalf("%+v", d)
	}
	if d := Diagnose(nil, diag.NodeSide); d.Code != "" {
		t.Fatalf("%+v", d)
	}
}

// TestCertificateSwappedOnDisk: a new certificate written over the files
// is served on the next handshake after the watcher's next check, without
// a restart. In a synctest bubble, with the PKI made there too so that its
// certificates are valid on the bubble's clock: the interval passes at
// once, and the check due in it has run when the test looks.
func TestCertificateSwappedOnDisk(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := newPKI(t)
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tomcat.pem"), filepath.Join(dir, "tomcat.key")
		write := func(l *testca.Leaf) {
			// Write then rename, as certificate tools do.
			os.WriteFile(certFile+".tmp", l.CertPEM(), 0o600)
			os.WriteFile(keyFile+".tmp", l.KeyPEM(), 0o600)
			os.Rename(keyFile+".tmp", keyFile)
			os.Rename(certFile+".tmp", certFile)
		}
		write(p.node)
		src, err := LoadCertSource(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errs := make(chan error, 10)
		const interval = 20 * time.Millisecond
		go src.Watch(ctx, interval, func(err error) { errs <- err })
		synctest.Wait() // the watcher's first check is done
		p.nodeCert = src
		server := p.edgeServer()
		r := testca.RunPipeHandshake(t, server, p.edgeClient())
		if r.ClientErr != nil || r.Client.PeerCertificates[0].SerialNumber.Cmp(p.node.Cert.SerialNumber) != 0 {
			t.Fatalf("first handshake: %v", r.ClientErr)
		}
		renewed := p.nodeCA.Server(t, nodeName)
		write(renewed)
		time.Sleep(interval)
		synctest.Wait()
		r = testca.RunPipeHandshake(t, server, p.edgeClient())
		if r.ClientErr != nil || r.Client.PeerCertificates[0].SerialNumber.Cmp(renewed.Cert.SerialNumber) != 0 {
			t.Fatalf("renewed certificate not served after a check: %v", r.ClientErr)
		}
		// A broken write keeps the old certificate and is reported.
		os.WriteFile(keyFile, []byte("not a key"), 0o600)
		time.Sleep(interval)
		synctest.Wait()
		select {
		case err := <-errs:
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != certFile+" + "+keyFile {
				t.Fatalf("reload error %v", err)
			}
		default:
			t.Fatal("no reload error reported after a check")
		}
		if r = testca.RunPipeHandshake(t, server, p.edgeClient()); r.ClientErr != nil || r.Client.PeerCertificates[0].SerialNumber.Cmp(renewed.Cert.SerialNumber) != 0 {
			t.Fatalf("after a broken write: %v", r.ClientErr)
		}
		cancel()
	})
}

// TestTrustStoreReloadAddsSigner: the node starts without the proxy's
// signer in tomcat-trust; once it is added and the store reloaded by its
// watcher, the next handshake passes. In a bubble, as above.
func TestTrustStoreReloadAddsSigner(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := newPKI(t)
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "node-ca.pem"), testca.CertPEM(p.nodeCA.Cert), 0o644)
		trust, err := LoadTrustStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		p.tomcatTrust = trust
		server := p.edgeServer()
		r := testca.RunPipeHandshake(t, server, p.edgeClient())
		if d := Diagnose(r.ServerErr, diag.NodeSide); d.Code != diag.CodeUnknownCAAtNode {
			t.Fatalf("before: %+v", d)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const interval = 20 * time.Millisecond
		go trust.Watch(ctx, interval, nil)
		synctest.Wait()
		os.WriteFile(filepath.Join(dir, "expressway-ca.der"), p.proxyCA.Cert.Raw, 0o644)
		time.Sleep(interval)
		synctest.Wait()
		if r = testca.RunPipeHandshake(t, server, p.edgeClient()); r.ServerErr != nil || r.ClientErr != nil {
			t.Fatalf("signer not picked up after a check: %v", r.ServerErr)
		}
		if n := len(trust.Certificates()); n != 2 {
			t.Fatalf("%d certificates in the store", n)
		}
		cancel()
	})
}

// TestAuthorizerAskedPerHandshake: a name no longer listed is refused at
// the next handshake of the same configuration.
func TestAuthorizerAskedPerHandshake(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	server := p.edgeServer()
	if r := testca.RunHandshake(t, server, p.edgeClient()); r.ServerErr != nil {
		t.Fatal(r.ServerErr)
	}
	p.allowed.remove("expc1.example.com")
	if r := testca.RunHandshake(t, server, p.edgeClient()); !errors.Is(r.ServerErr, ErrNotAuthorized) {
		t.Fatalf("removed entry still accepted: %v", r.ServerErr)
	}
}

// TestClientSide: a soft client on the OAuth port that does not trust the
// node's signer, and one that finds the node's certificate expired.
func TestClientSide(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	other := testca.New(t, "Other CA")
	r := testca.RunHandshake(t, OAuthServerConfig(p.nodeCert), &tls.Config{RootCAs: other.Pool(), ServerName: nodeName})
	d := Diagnose(r.ClientErr, diag.ClientSide)
	if d.Code != diag.CodeUnknownCAAtClient || d.Scenario != 0 || d.Alert != diag.AlertUnknownCA || d.Fix != diag.FixUnknownCAAtClient ||
		d.Message != "the client does not trust the signer of the node's certificate (issued by CN=Node CA,O=sipoauth test)" {
		t.Fatalf("%+v from %v", d, r.ClientErr)
	}
	// The same error seen by an edge proxy is scenario 2.
	if d := Diagnose(r.ClientErr, diag.EdgeSide); d.Code != diag.CodeUnknownCAAtEdge || d.Scenario != 2 {
		t.Fatalf("edge side: %+v", d)
	}

	expired := p.nodeCA.Issue(t, testca.Options{CommonName: nodeName, DNSNames: []string{nodeName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	src, err := NewCertSource(expired.TLS())
	if err != nil {
		t.Fatal(err)
	}
	r = testca.RunHandshake(t, OAuthServerConfig(src), &tls.Config{RootCAs: p.nodeCA.Pool(), ServerName: nodeName})
	d = Diagnose(r.ClientErr, diag.ClientSide)
	if d.Code != diag.CodeCertificateExpired || d.Scenario != 0 || !strings.HasPrefix(d.Message, "the node's certificate is expired or not yet valid: ") {
		t.Fatalf("expired: %+v from %v", d, r.ClientErr)
	}
}
