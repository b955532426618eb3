package testnode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"

	"github.com/sipoauth/sdk/client"
)

// TestStart registers with the node through package client, with the
// refresh token at the node's token endpoint over HTTPS.
func TestStart(t *testing.T) {
	n := Start(t)
	pem, err := os.ReadFile(n.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA in", n.CAFile)
	}
	tlsCfg := &tls.Config{RootCAs: pool}
	tokens, err := client.NewRefreshTokenSource(client.RefreshConfig{TokenURL: n.TokenURL, RefreshToken: n.Refresh,
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{DeviceName: "CSFrado", User: "rado", ConfigURL: n.ConfigURL + "/",
		TLSConfig: tlsCfg, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.Register(context.Background())
	if err != nil || reg.Status != 200 || reg.Target.String() != n.Addr {
		t.Fatalf("register: %d at %s, %v", reg.Status, reg.Target, err)
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 1 {
		t.Fatalf("bindings %+v", bs)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if bs, _ := n.Store.Lookup(context.Background(), "rado"); len(bs) != 0 {
		t.Fatalf("bindings after Close: %+v", bs)
	}
}
