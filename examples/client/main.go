package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/signin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

// run registers and stays registered until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "", "`URL` of the configuration file (http, https or file), or its local path; a URL or path ending in / is its directory")
	device := fs.String("device", "", "device `name`, e.g. CSFrado")
	user := fs.String("user", "", "`user` of the address of record; the file's userId when empty")
	caFile := fs.String("ca", "", "PEM `file` of the CAs that sign the node's certificate; the system's when empty")
	tokenURL := fs.String("token-url", "", "`URL` of the token endpoint, for the refresh_token grant")
	refreshToken := fs.String("refresh-token", "", "refresh `token` for -token-url")
	accessToken := fs.String("token", "", "access `token` to use as it is, instead of -token-url")
	issuer := fs.String("issuer", "", "issuer `URL` of an OAuth 2.0 / OpenID Connect server, for -login")
	login := fs.Bool("login", false, "sign in at -issuer with the device grant, instead of -token or -token-url")
	clientID := fs.String("client-id", "", "client `id` at -issuer")
	scope := fs.String("scope", "openid offline_access", "space-separated `scopes` to ask -issuer for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sources := 0
	for _, given := range []bool{*accessToken != "", *tokenURL != "" && *refreshToken != "", *login && *issuer != "" && *clientID != ""} {
		if given {
			sources++
		}
	}
	if *config == "" || *device == "" || sources != 1 || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-config and -device are required, and one of -token, -token-url with -refresh-token, or -login with -issuer and -client-id")
	}

	tlsConfig := &tls.Config{}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		tlsConfig.RootCAs = x509.NewCertPool()
		if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no PEM certificate", *caFile)
		}
	}
	tokens := client.StaticTokenSource(&client.Token{AccessToken: *accessToken})
	if *tokenURL != "" {
		// The token endpoint is on the node, behind the certificate of
		// its SIP ports.
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig.Clone()}}
		src, err := client.NewRefreshTokenSource(client.RefreshConfig{TokenURL: *tokenURL, RefreshToken: *refreshToken, HTTPClient: hc})
		if err != nil {
			return err
		}
		tokens = src
	}
	if *login {
		// The user signs in on another device: the device grant.
		p, err := signin.New(ctx, signin.Config{Issuer: *issuer, ClientID: *clientID, Scopes: strings.Fields(*scope)})
		if err != nil {
			return err
		}
		s, err := p.DeviceLogin(ctx, func(dc signin.DeviceCode) error {
			fmt.Fprintf(stdout, "to sign in, open %s and enter the code %s\n", dc.VerificationURI, dc.UserCode)
			return nil
		})
		if err != nil {
			return err
		}
		// Signing out revokes the tokens, after Close unregisters.
		defer func() {
			if err := s.SignOut(context.WithoutCancel(ctx)); err != nil {
				fmt.Fprintln(stderr, "client: signing out:", err)
			}
		}()
		tokens = s
	}

	c, err := client.New(client.Config{
		DeviceName: *device, User: *user, ConfigURL: *config,
		TLSConfig: tlsConfig, Tokens: tokens,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		// Events come one at a time on the client's goroutine.
		OnEvent: func(e client.Event) {
			switch e.Kind {
			case client.EventRegistered, client.EventRefreshed:
				fmt.Fprintf(stdout, "%s at %s, expires in %s\n", e.Kind, e.Target, e.Expires)
			case client.EventUnregistered:
				fmt.Fprintf(stdout, "unregistered from %s\n", e.Target)
			case client.EventFailed, client.EventTargetSwitched:
				fmt.Fprintf(stdout, "%s: %v\n", e.Kind, e.Err)
			case client.EventPortMismatch:
				// Unified CM's 403: the client waits its Retry-After.
				fmt.Fprintf(stdout, "%s: %v\n", e.Kind, e.Err)
				var pm *client.PortMismatchError
				if errors.As(e.Err, &pm) {
					for _, f := range pm.Causes() {
						fmt.Fprintf(stdout, "  possible cause: %s\n  fix: %s\n", f.Message, f.Fix)
					}
				}
			}
		},
	})
	if err != nil {
		return err
	}
	// Run registers, registers again before the registration expires,
	// fails over between the file's nodes, and backs off after failures;
	// Close unregisters, within a bound of its own.
	err = c.Run(ctx)
	if cerr := c.Close(); err == nil || errors.Is(err, context.Canceled) {
		err = cerr
	}
	return err
}
