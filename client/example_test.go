package client_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
)

// Example registers a Jabber-like device with a registrar node on
// 127.0.0.1: REGISTER, 407 with the Cisco challenge, REGISTER with the
// token, 200 OK with the registrar's 120 seconds; Close unregisters.
func Example() {
	node, err := startExampleNode()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.stop()

	// The configuration file, as the TFTP service would serve it.
	dev := cnfxml.NewCSF("CSFrado")
	dev.UserID = "rado"
	dev.CallManagers = []cnfxml.CallManager{{Name: "127.0.0.1", ProcessNodeName: "ucm-pub", Ports: cnfxml.Ports{SIPOAuth: node.port}}}

	// Events arrive on the client's own goroutine, one at a time.
	var events []string
	c, err := client.New(client.Config{
		DeviceName: "CSFrado",
		Device:     dev,
		TLSConfig:  &tls.Config{RootCAs: node.roots},
		Tokens:     client.StaticTokenSource(&client.Token{AccessToken: node.token}),
		Logger:     slog.New(slog.DiscardHandler),
		OnEvent:    func(e client.Event) { events = append(events, fmt.Sprint(e.Kind, " ", e.Expires)) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reg, err := c.Register(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reg.FirstStatus, reg.FirstReason)
	fmt.Println(reg.ChallengeHeader+":", reg.Challenge)
	fmt.Println(reg.Status, reg.Reason, "Expires:", reg.Expires, "new registration:", reg.NewRegistration)
	c.Close() // unregisters, and delivers the last events
	fmt.Println(strings.Join(events, ", "))
	// Output:
	// 407 Proxy Authentication Required
	// Proxy-Authenticate: Bearer realm="ccmsipline"
	// 200 OK Expires: 2m0s new registration: true
	// registered 2m0s, unregistered 0s
}

// ExampleRefreshTokenSource obtains an access token with a refresh token
// from a token endpoint, here the lab issuer's.
func ExampleRefreshTokenSource() {
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(iss.Handler())
	defer srv.Close()
	refresh, _ := iss.MintRefresh("rado", "")

	src, err := client.NewRefreshTokenSource(client.RefreshConfig{
		TokenURL:     srv.URL + "/token",
		RefreshToken: refresh,
		Params:       url.Values{"device": {"CSFrado"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("JWT parts:", strings.Count(tok.AccessToken, ".")+1)
	fmt.Println("valid for:", time.Until(tok.Expiry).Round(time.Minute))
	// Output:
	// JWT parts: 3
	// valid for: 1h0m0s
}

// exampleNode is a registrar on 127.0.0.1 with a self-signed certificate.
type exampleNode struct {
	port  int
	roots *x509.CertPool
	token string
	stop  func()
}

func startExampleNode() (*exampleNode, error) {
	iss, err := issuer.New(issuer.Config{Nested: true})
	if err != nil {
		return nil, err
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	kid, key := iss.EncryptionKey()
	dec, _ := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec})
	if err != nil {
		return nil, err
	}
	token, err := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	if err != nil {
		return nil, err
	}

	// A self-signed node certificate for 127.0.0.1.
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ucm-pub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: priv}}})
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	reg, err := registrar.New(registrar.Config{
		NodeName: "UCM-PUB", Validator: v,
		Devices: registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Ports:   registrar.Ports{port: registrar.RoleOAuth},
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	ua, _ := sipgo.NewUA()
	srv, _ := sipgo.NewServer(ua)
	srv.OnRegister(reg.HandleRegister)
	go srv.ServeTLS(ln)
	return &exampleNode{port: port, roots: roots, token: token, stop: func() { ln.Close(); srv.Close(); ua.Close() }}, nil
}
