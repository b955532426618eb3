package testnode

import (
	"context"
	"crypto"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

// Node is a running node; everything stops when the test ends.
type Node struct {
	// Addr is the registrar's OAuth port, 127.0.0.1:<port>.
	Addr string
	// Store holds the bindings the registrar made.
	Store *registrar.MemoryStore
	// Registrar is the node's registrar, for Lookup and Send.
	Registrar *registrar.Registrar
	// ConfigURL serves CSFrado.cnf.xml, which names Addr's port as the
	// node's sipOAuthPort: ConfigURL + "/CSFrado.cnf.xml".
	ConfigURL string
	// TokenURL is the issuer's token endpoint, over HTTPS.
	TokenURL string
	// CAFile is the PEM file of the CA that signed the node's certificate.
	CAFile string
	// Refresh is a refresh token of rado's for TokenURL.
	Refresh string
}

// Start starts a node whose device CSFrado is rado's, with OAuth.
func Start(t testing.TB) *Node {
	t.Helper()
	iss, err := issuer.New(issuer.Config{Nested: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	kid, key := iss.EncryptionKey()
	dec, err := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec})
	if err != nil {
		t.Fatal(err)
	}
	refresh, err := iss.MintRefresh("rado", "")
	if err != nil {
		t.Fatal(err)
	}

	ca := testca.New(t, "Node CA")
	leaf := ca.Server(t, "127.0.0.1")
	// The token endpoint is on the node, over HTTPS with the node's
	// certificate: the client's CA file must apply to it as well.
	tokens := httptest.NewUnstartedServer(iss.Handler())
	tokens.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS()}}
	tokens.StartTLS()
	t.Cleanup(tokens.Close)
	n := serve(t, v, ca, leaf)
	n.TokenURL, n.Refresh = tokens.URL+"/token", refresh
	return n
}

// StartFor starts a node whose device CSFrado is rado's, with OAuth, that
// takes the access tokens of the authorization server whose issuer URL is
// issuerURL (its keys found by discovery) for audience. The node has no
// token endpoint of its own: TokenURL and Refresh are empty.
func StartFor(t testing.TB, issuerURL, audience string) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := sipoauth.Discover(ctx, issuerURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sipoauth.NewJWKSURL(m.JWKSURI, sipoauth.JWKSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, Issuers: []string{m.Issuer}, Audiences: []string{audience}})
	if err != nil {
		t.Fatal(err)
	}
	ca := testca.New(t, "Node CA")
	return serve(t, v, ca, ca.Server(t, "127.0.0.1"))
}

// serve runs the registrar's OAuth port with v, under leaf (signed by ca),
// and the configuration server.
func serve(t testing.TB, v *sipoauth.Validator, ca *testca.CA, leaf *testca.Leaf) *Node {
	t.Helper()
	cert, err := mtlstrust.NewCertSource(leaf.TLS())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", mtlstrust.OAuthServerConfig(cert))
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	n := &Node{Addr: "127.0.0.1:" + strconv.Itoa(port), Store: registrar.NewMemoryStore()}
	reg, err := registrar.New(registrar.Config{
		NodeName: "UCM-PUB", Validator: v, Store: n.Store,
		Devices: registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Ports:   registrar.Ports{port: registrar.RoleOAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Registrar = reg
	// Served as the standalone registrar serves it: each connection a
	// flow, for requests back to the client.
	srv := &sipserve.Server{Handler: sipserve.Methods{sip.REGISTER: reg}}
	go srv.ServeStream(ln)
	t.Cleanup(func() { srv.Close() })

	dir := t.TempDir()
	dev := cnfxml.NewCSF("CSFrado")
	dev.UserID = "rado"
	dev.CallManagers = []cnfxml.CallManager{{Name: "127.0.0.1", ProcessNodeName: "ucm-pub", Ports: cnfxml.Ports{SIPOAuth: port}}}
	if err := os.WriteFile(filepath.Join(dir, "CSFrado.cnf.xml"), dev.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	files := httptest.NewServer(cnfxml.NewHandler(dir))
	t.Cleanup(files.Close)
	n.ConfigURL = files.URL
	n.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(n.CAFile, testca.CertPEM(ca.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}
