package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	sipclient "github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/testoidc"
	"github.com/sipoauth/sdk/internal/testredis"
	"github.com/sipoauth/sdk/signin"
)

// kid returns the key id in a JWS's header.
func kid(t *testing.T, jws string) string {
	t.Helper()
	h, _, _ := strings.Cut(jws, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var header struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &header); err != nil {
		t.Fatal(err)
	}
	return header.Kid
}

// statuses lists a registration's answers, with the challenge's error.
func statuses(reg sipclient.Registration) string {
	var s []string
	for _, x := range reg.Exchanges {
		e := strconv.Itoa(x.Status)
		if strings.Contains(x.Challenge, "invalid_token") {
			e += " invalid_token"
		}
		s = append(s, e)
	}
	return strings.Join(s, ", ")
}

// TestSignInWithOIDCProvider: a soft client signs its user in at
// oidc-provider with the device grant (the user step done on the
// provider's own pages), and registers over TLS with a node configured
// with the provider's issuer URL alone. The provider rotates its signing
// key: the renewed token is signed with the new key, and the node takes
// it. The user's tokens are revoked on the cluster: the node answers
// invalid_token, the client renews its token at once and registers with
// it, and the revoked one stays refused. The user signs out: the session
// gives no token, and the provider refuses the refresh token.
func TestSignInWithOIDCProvider(t *testing.T) {
	op := testoidc.Start(t)
	rs := testredis.Start(t, t.TempDir(), false)
	store := "redis://" + rs.Addr() + "/0"
	f := newFixture(t)
	args := append(without(f.args(), "-keys", "-issuer", "-audience", "-decryption-key"),
		"-edge", "", "-store", store, "-issuer-url", op.Issuer, "-audience", testoidc.Audience, "-scope", testoidc.Scope)
	r, _ := startArgs(t, args)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	p, err := signin.New(ctx, signin.Config{Issuer: op.Issuer, ClientID: testoidc.SoftClient,
		Scopes: []string{"openid", "offline_access", testoidc.Scope}, Resource: testoidc.Resource})
	if err != nil {
		t.Fatal(err)
	}
	userDone := make(chan error, 1)
	sess, err := p.DeviceLogin(ctx, func(dc signin.DeviceCode) error {
		go func() {
			_, err := testoidc.NewBrowser("rado").SignIn(ctx, dc.VerificationURIComplete)
			userDone <- err
		}()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-userDone; err != nil {
		t.Fatal(err)
	}

	_, port, _ := net.SplitHostPort(r.addr("oauth", "tls"))
	dev := cnfxml.NewCSF("CSFrado")
	dev.UserID = "rado"
	n, _ := strconv.Atoi(port)
	dev.CallManagers = []cnfxml.CallManager{{Name: "127.0.0.1", Ports: cnfxml.Ports{SIPOAuth: n}}}
	newClient := func(tokens sipclient.TokenSource) *sipclient.Client {
		c, err := sipclient.New(sipclient.Config{DeviceName: "CSFrado", Device: dev, Tokens: tokens,
			TLSConfig: &tls.Config{RootCAs: f.nodeCA.Pool()}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newClient(sess)
	defer c.Close()
	tok1, _ := sess.Token(ctx)
	if reg, err := c.Register(ctx); err != nil || statuses(reg) != "407, 200" {
		t.Fatalf("first registration: %v (%s)", err, statuses(reg))
	}
	if kid(t, tok1.AccessToken) != op.KeyID() {
		t.Fatal("the token is not signed with the provider's key")
	}

	// Key rotation: the renewed token is signed with a key the node has
	// not seen; it reads the JWKS again.
	k2 := op.Rotate(t)
	tok2, err := sess.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kid(t, tok2.AccessToken) != k2 || tok2.AccessToken == tok1.AccessToken {
		t.Fatalf("the renewed token's key %q, want the new %q", kid(t, tok2.AccessToken), k2)
	}
	if reg, err := c.Register(ctx); err != nil || !strings.HasSuffix(statuses(reg), "200") || strings.Contains(statuses(reg), "invalid_token") {
		t.Fatalf("with the new key's token: %v (%s)", err, statuses(reg))
	}

	// The user's tokens are revoked on the cluster. Tokens issued in the
	// current second are revoked too; the next ones are not.
	var out, errs strings.Builder
	if code := run(ctx, append(f.args("-store", store), "-revoke-user", "rado"), &out, &errs); code != 0 {
		t.Fatalf("-revoke-user: %d %s %s", code, out.String(), errs.String())
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
	reg, err := c.Register(ctx)
	if err != nil || statuses(reg) != "407 invalid_token, 200" {
		t.Fatalf("after the revocation: %v (%s)", err, statuses(reg))
	}
	tok3, _ := sess.Token(ctx)
	if tok3.AccessToken == tok2.AccessToken {
		t.Fatal("the client registered without renewing its token")
	}
	// The revoked token is refused.
	old := newClient(sipclient.StaticTokenSource(tok2))
	defer old.Close()
	if _, err := old.Register(ctx); !errors.Is(err, sipclient.ErrTokenRefused) {
		t.Errorf("the revoked token: %v", err)
	}

	// Sign-out.
	if err := sess.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx); !errors.Is(err, signin.ErrSignedOut) {
		t.Errorf("registering after sign-out: %v", err)
	}
	resumed, _ := signin.New(ctx, signin.Config{Endpoints: p.Endpoints(), ClientID: testoidc.SoftClient, Store: storeOf(tok3)})
	rs2, _ := resumed.Resume(ctx)
	if _, err := rs2.Refresh(ctx); !errors.Is(err, signin.ErrSignInRequired) {
		t.Errorf("the refresh token after sign-out: %v", err)
	}
}

// storeOf is a store holding t.
func storeOf(t *sipclient.Token) signin.Store {
	s := new(signin.MemoryStore)
	s.Save(context.Background(), &oauth2.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: "Bearer", Expiry: t.Expiry})
	return s
}
