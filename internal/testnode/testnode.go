package testnode

import (
	"crypto"
	"crypto/tls"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/emiago/sipgo"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
)

// Node is a running node; everything stops when the test ends.
type Node struct {
	// Addr is the registrar's OAuth port, 127.0.0.1:<port>.
	Addr string
	// Store holds the bindings the registrar made.
	Store *registrar.MemoryStore
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
	cert, err := mtlstrust.NewCertSource(leaf.TLS())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", mtlstrust.OAuthServerConfig(cert))
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	n := &Node{Addr: "127.0.0.1:" + strconv.Itoa(port), Store: registrar.NewMemoryStore(),
		TokenURL: tokens.URL + "/token", Refresh: refresh}
	reg, err := registrar.New(registrar.Config{
		NodeName: "UCM-PUB", Validator: v, Store: n.Store,
		Devices: registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Ports:   registrar.Ports{port: registrar.RoleOAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(reg.HandleRegister)
	go srv.ServeTLS(ln)
	t.Cleanup(func() { ln.Close(); srv.Close(); ua.Close() })

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
