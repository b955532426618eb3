package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sipoauth/sdk/edge"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/sipoauth"
)

// lab is the whole deployment.
type lab struct {
	log                     *slog.Logger
	nodeCA, edgeCA, otherCA *authority
	node                    *node
	proxies                 []*proxy
	main                    *proxy // the edge proxy of the MRA story
	inbox                   chan delivered
}

// proxy is a running edge proxy and the failures it reported.
type proxy struct {
	p        *edge.Proxy
	addr     string
	name     string
	certName string // the name on its certificate

	mu       sync.Mutex
	failures []edge.Failure
}

func (p *proxy) failuresSince(i int) []edge.Failure {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]edge.Failure(nil), p.failures[min(i, len(p.failures)):]...)
}

func startLab(o options, log *slog.Logger) (_ *lab, err error) {
	l := &lab{log: log, inbox: make(chan delivered, 4)}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if l.nodeCA, err = newAuthority("Lab Node CA"); err != nil {
		return nil, err
	}
	if l.edgeCA, err = newAuthority("Lab Expressway CA"); err != nil {
		return nil, err
	}
	if l.otherCA, err = newAuthority("Lab Other CA"); err != nil {
		return nil, err
	}
	nodeCert, err := l.nodeCA.issue(nodeName, "127.0.0.1")
	if err != nil {
		return nil, err
	}
	// The node's Tomcat-trust holds the Expressway CA.
	if l.node, err = startNode(o.ports, nodeCert, mtlstrust.NewTrustStore(l.edgeCA.cert), log); err != nil {
		return nil, err
	}

	// The edge proxy of the MRA story: trusts the node's signer, pushes
	// its names to the node's table, validates tokens at the edge.
	proxyCert, err := l.edgeCA.issue(proxyName, "127.0.0.1")
	if err != nil {
		return nil, err
	}
	edgeValidator, err := l.validator()
	if err != nil {
		return nil, err
	}
	l.main, err = l.startProxy(o.proxy, edge.Config{
		Name: "expc1", NodeTrust: mtlstrust.NewTrustStore(l.nodeCA.cert),
		Validator: edgeValidator,
		Table:     &edge.TableConfig{URL: l.node.tableURL, User: tableUser, Password: l.node.tablePW},
	}, proxyCert)
	if err != nil {
		return nil, fmt.Errorf("edge proxy: %w", err)
	}
	return l, nil
}

// validator returns a validator of the node's tokens, as Expressway has
// one once it has fetched the cluster's keys.
func (l *lab) validator() (*sipoauth.Validator, error) {
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{l.node.issuer.KeyID(): l.node.issuer.PublicKey()})
	if err != nil {
		return nil, err
	}
	kid, key := l.node.issuer.EncryptionKey()
	dec, err := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	if err != nil {
		return nil, err
	}
	return sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec, Issuers: []string{l.node.issuerURL}})
}

// startProxy starts an edge proxy with cert towards the node's edge port.
func (l *lab) startProxy(port int, cfg edge.Config, cert tls.Certificate) (*proxy, error) {
	src, err := mtlstrust.NewCertSource(cert)
	if err != nil {
		return nil, err
	}
	p := &proxy{name: cfg.Name, certName: cert.Leaf.Subject.CommonName}
	cfg.Certificate = src
	cfg.Upstreams = []string{l.node.edgeAddr}
	cfg.ServerName = nodeName
	cfg.Logger = l.log
	cfg.DialTimeout = 2 * time.Second
	cfg.Timeout = 4 * time.Second
	cfg.OnFailure = func(f edge.Failure) {
		p.mu.Lock()
		p.failures = append(p.failures, f)
		p.mu.Unlock()
	}
	if p.p, err = edge.New(cfg); err != nil {
		return nil, err
	}
	ln, err := p.p.Listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	p.addr = ln.Addr().String()
	if cfg.Table != nil {
		// Serve pushes the identity first; wait for it, so that the
		// story starts with the table filled.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := p.p.Refresh(ctx)
		cancel()
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("identity push: %w", err)
		}
	}
	go p.p.Serve(ln)
	l.proxies = append(l.proxies, p)
	return p, nil
}

func (l *lab) close() {
	for _, p := range l.proxies {
		p.p.Close()
	}
	if l.node != nil {
		l.node.close()
	}
}

// clientTLS trusts the node's and the edge proxy's signers, as a
// client's system store would.
func (l *lab) clientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(l.nodeCA.cert)
	pool.AddCert(l.edgeCA.cert)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// httpsClient trusts the node's signer.
func (l *lab) httpsClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: l.nodeCA.pool()}}}
}

// describe prints the parts and their addresses.
func (l *lab) describe(tl *timeline) {
	n := l.node
	fmt.Fprintf(tl.w, "sipoauth lab: a SIP OAuth deployment on 127.0.0.1\n\n")
	fmt.Fprintf(tl.w, "  node %s (%s)\n", nodeName, nodeLabel)
	fmt.Fprintf(tl.w, "    configuration server (6970 role)  %s/<device>.cnf.xml\n", n.configURL)
	fmt.Fprintf(tl.w, "    token issuer                      %s/token\n", n.issuerURL)
	fmt.Fprintf(tl.w, "    edge-proxy table API              %s/entries\n", n.tableURL)
	fmt.Fprintf(tl.w, "    registrar OAuth port (5090 role)  %s  TLS, token\n", n.oauthAddr)
	fmt.Fprintf(tl.w, "    registrar edge port (5091 role)   %s  mutual TLS, edge proxies in the table\n", n.edgeAddr)
	fmt.Fprintf(tl.w, "  edge proxy %s (%s)            %s  TLS → %s mutual TLS\n", l.main.name, proxyName, l.main.addr, n.edgeAddr)
	fmt.Fprintf(tl.w, "  devices: CSFrado (rado), CSFalice (alice) with OAuth in their profile; CSFbob (bob) without\n")
}

// serve keeps the lab running until ctx ends, after printing what a
// user's own client needs.
func (l *lab) serve(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "sipoauth-lab-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ca := filepath.Join(dir, "lab-ca.pem")
	pemCA := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.nodeCA.cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.edgeCA.cert.Raw})...)
	if err := os.WriteFile(ca, pemCA, 0o644); err != nil {
		return err
	}
	refresh, err := l.node.issuer.MintRefresh("rado", clientID)
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(dir, "rado.refresh-token")
	if err := os.WriteFile(tokenFile, []byte(refresh), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(w, `
Serving until interrupted (Ctrl-C).
  CA certificates (node and edge):  %s
  configuration file:               %s/CSFrado.cnf.xml
  refresh token for rado:           %s
  token endpoint:                   %s/token  (grant_type=refresh_token, client_id=%s)
  on premises:                      TLS to %s, REGISTER as CSFrado
  over MRA:                         TLS to %s (edge proxy), Request-URI sip:127.0.0.1:%s
Try: go run ./examples/client -config %s/CSFrado.cnf.xml -device CSFrado -user rado \
       -ca %s -token-url %s/token -refresh-token "$(cat %s)"
`, ca, l.node.configURL, tokenFile, l.node.issuerURL, clientID, l.node.oauthAddr, l.main.addr, portOf(l.node.edgeAddr),
		l.node.configURL, ca, l.node.issuerURL, tokenFile)
	<-ctx.Done()
	fmt.Fprintln(w, "stopping")
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil
	}
	return ctx.Err()
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
