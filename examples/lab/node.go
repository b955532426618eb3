package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

// Names of the lab's parts.
const (
	nodeName  = "cucm1.lab.example" // the node's certificate name and processNodeName
	nodeLabel = "CUCM1-PUB"         // the node name in Warning headers
	proxyName = "expc1.lab.example" // the edge proxy's certificate name
	clientID  = "jabber"
	tableUser = "expressway"
)

// devices registered on the node, and what their security profile says.
var devices = registrar.MemoryDevices{
	"CSFrado":  {Name: "CSFrado", Owner: "rado", Lines: []string{"1001"}, OAuth: true},
	"CSFalice": {Name: "CSFalice", Owner: "alice", Lines: []string{"1002"}, OAuth: true},
	"CSFbob":   {Name: "CSFbob", Owner: "bob", Lines: []string{"1003"}, OAuth: false},
}

// ports fixes listening ports; 0 picks an ephemeral one.
type ports struct {
	Config, Issuer, Table, OAuth, Edge, Proxy int
}

// node is a Unified CM-like node: configuration server (the TFTP 6970
// role), token issuer, edge-proxy table API, and the registrar's OAuth
// (5090) and edge (5091) roles.
type node struct {
	cert    tls.Certificate
	issuer  *issuer.Issuer
	table   *edgetable.Memory
	store   *registrar.MemoryStore
	reg     *registrar.Registrar
	tablePW string

	configURL, issuerURL, tableURL string
	oauthAddr, edgeAddr            string

	mu         sync.Mutex
	seen       []seenRequest               // what the registrar answered, in order
	handshakes []*mtlstrust.HandshakeError // failed handshakes on the edge port

	closers []func()
}

// seenRequest is a REGISTER as the node saw it.
type seenRequest struct {
	Role   registrar.Role
	Device string
	Status int
	Reason string
	Peer   string // the TLS peer certificate's subject CN, if any
}

func (n *node) close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i]()
	}
}

// listen opens a TCP listener on 127.0.0.1:port.
func listen(port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// serveHTTP serves h on ln, over TLS when cfg is set, until the node closes.
func (n *node) serveHTTP(ln net.Listener, cfg *tls.Config, h http.Handler) string {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	scheme := "http"
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
		scheme = "https"
	}
	go srv.Serve(ln)
	n.closers = append(n.closers, func() { srv.Close() })
	return scheme + "://" + ln.Addr().String()
}

// startNode mints nothing: it takes the node's certificate and the CA
// whose certificates it trusts on the edge port.
func startNode(p ports, nodeCert tls.Certificate, tomcatTrust *mtlstrust.TrustStore, log *slog.Logger) (_ *node, err error) {
	n := &node{cert: nodeCert, table: &edgetable.Memory{}, store: registrar.NewMemoryStore(), tablePW: randomPassword()}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	certs, err := mtlstrust.NewCertSource(nodeCert)
	if err != nil {
		return nil, err
	}
	serverTLS := mtlstrust.OAuthServerConfig(certs)

	// Listeners first: the configuration files name the SIP ports.
	var lnConfig, lnIssuer, lnTable, lnOAuth, lnEdge net.Listener
	for _, l := range []struct {
		ln   *net.Listener
		port int
		what string
	}{{&lnConfig, p.Config, "configuration server"}, {&lnIssuer, p.Issuer, "token issuer"}, {&lnTable, p.Table, "edge-proxy table API"},
		{&lnOAuth, p.OAuth, "OAuth port"}, {&lnEdge, p.Edge, "edge port"}} {
		if *l.ln, err = listen(l.port); err != nil {
			return nil, fmt.Errorf("%s: %w", l.what, err)
		}
		ln := *l.ln
		n.closers = append(n.closers, func() { ln.Close() })
	}
	n.oauthAddr, n.edgeAddr = lnOAuth.Addr().String(), lnEdge.Addr().String()

	// Token issuer (Unified CM's OAuth service), over HTTPS.
	n.issuerURL = "https://" + lnIssuer.Addr().String()
	n.issuer, err = issuer.New(issuer.Config{
		Issuer: n.issuerURL, Nested: true, AccessTTL: time.Hour,
	})
	if err != nil {
		return nil, err
	}
	n.issuerURL = n.serveHTTP(lnIssuer, serverTLS, n.issuer.Handler())

	// Configuration files of the devices, served as on port 6970.
	files := memSource{}
	for name := range devices {
		cfg := cnfxml.NewCSF(name)
		cfg.UserID = devices[name].Owner
		cfg.OwnerID = devices[name].Owner
		cfg.CallManagers = append(cfg.CallManagers, cnfxml.CallManager{
			Priority: 0, Name: "127.0.0.1", Description: nodeName, ProcessNodeName: nodeName,
			Ports: cnfxml.Ports{SIP: 5060, SecuredSIP: 5061, SIPOAuth: tcpPort(lnOAuth), SIPMRAOAuth: tcpPort(lnEdge)},
		})
		files[name] = cfg.Bytes()
	}
	n.configURL = n.serveHTTP(lnConfig, nil, &cnfxml.Handler{Source: files})

	// The edge-proxy table and its API, where proxies push their names.
	table := edgetable.NewHandler(n.table, map[string]string{tableUser: n.tablePW})
	table.Logger = log
	n.tableURL = n.serveHTTP(lnTable, serverTLS, table)

	// The registrar.
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{n.issuer.KeyID(): n.issuer.PublicKey()})
	if err != nil {
		return nil, err
	}
	kid, key := n.issuer.EncryptionKey()
	dec, err := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	if err != nil {
		return nil, err
	}
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec, Issuers: []string{n.issuerURL}})
	if err != nil {
		return nil, err
	}
	n.reg, err = registrar.New(registrar.Config{
		NodeName: nodeLabel, Devices: devices, Validator: v, Store: n.store, Logger: log,
		Ports:          registrar.Ports{tcpPort(lnOAuth): registrar.RoleOAuth, tcpPort(lnEdge): registrar.RoleEdge},
		EdgeAuthorizer: edgetable.Authorize(n.table),
	})
	if err != nil {
		return nil, err
	}
	n.reg.Observer = registrar.ObserverFunc(func(r *registrar.Request, status int, _ time.Duration) {
		s := seenRequest{Role: r.Role, Device: r.DeviceName, Status: status, Reason: r.Reason.String()}
		if r.Peer.TLS != nil && len(r.Peer.TLS.PeerCertificates) > 0 {
			s.Peer = r.Peer.TLS.PeerCertificates[0].Subject.CommonName
		}
		n.mu.Lock()
		n.seen = append(n.seen, s)
		n.mu.Unlock()
	})
	// The SIP server the standalone registrar runs: each TLS connection a
	// flow, over which the node can reach the client that opened it.
	srv := &sipserve.Server{Handler: sipserve.Methods{sip.REGISTER: n.reg, sip.OPTIONS: sipserve.OK}, Logger: log}
	edgeTLS := mtlstrust.EdgeServerConfig(certs, tomcatTrust, edgetable.Authorize(n.table))
	// The node's SIP ports are bounded as a deployment's are (siplimit's
	// defaults).
	limits := siplimit.Limits{HandshakeTimeout: 5 * time.Second}
	oauthLn := siplimit.NewTLSListener(lnOAuth, serverTLS, limits, mtlstrust.ListenerOptions{Side: diag.NodeSide}, siplimit.WithLogger(log))
	edgeLn := siplimit.NewTLSListener(lnEdge, edgeTLS, limits, mtlstrust.ListenerOptions{
		Side: diag.NodeSide,
		OnError: func(e *mtlstrust.HandshakeError) {
			n.mu.Lock()
			n.handshakes = append(n.handshakes, e)
			n.mu.Unlock()
		},
	}, siplimit.WithLogger(log))
	go srv.ServeStream(oauthLn)
	go srv.ServeStream(edgeLn, sipserve.Shared())
	n.closers = append(n.closers, func() { oauthLn.Close(); edgeLn.Close(); srv.Close() })
	return n, nil
}

// seenSince returns what the registrar answered after the first i requests.
func (n *node) seenSince(i int) []seenRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]seenRequest(nil), n.seen[min(i, len(n.seen)):]...)
}

func (n *node) seenCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}

// handshakeFailures returns the edge port's failed handshakes after the first i.
func (n *node) handshakeFailures(i int) []*mtlstrust.HandshakeError {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*mtlstrust.HandshakeError(nil), n.handshakes[min(i, len(n.handshakes)):]...)
}

// waitHandshakes waits up to three seconds for a failed handshake after the
// first mark.
func (n *node) waitHandshakes(mark int) {
	deadline := time.Now().Add(3 * time.Second)
	for n.handshakeCount() <= mark && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
}

func (n *node) handshakeCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.handshakes)
}

func tcpPort(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

// memSource is a cnfxml.Source in memory.
type memSource map[string][]byte

func (m memSource) ReadConfig(_ context.Context, device string) ([]byte, error) {
	b, ok := m[device]
	if !ok {
		return nil, fmt.Errorf("%s: %w", device, fs.ErrNotExist)
	}
	return b, nil
}
