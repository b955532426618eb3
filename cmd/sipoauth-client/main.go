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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/oauth2"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/buildinfo"
	"github.com/sipoauth/sdk/signin"
	"github.com/sipoauth/sdk/ucm"
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

// options are the command's flags.
type options struct {
	// live is set once the first registration is printed: events are
	// printed from then on.
	live atomic.Bool

	config, device, user                 string
	token, tokenURL, refreshToken        string
	issuer, scope, resource              string
	clientID, clientSecret               string
	login                                bool
	ca, serverName, edge, edgeServerName string
	mra, rfc8898, verbose, version       bool
	answer                               bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "", "configuration file: an http, https or file URL, e.g. http://10.10.10.1:6970/ or file:///etc/sipoauth/ (the device's file name is appended to a URL ending in /), or a local file or directory holding <device>.cnf.xml")
	fs.StringVar(&o.device, "device", "", "device name, e.g. CSFrado")
	fs.StringVar(&o.user, "user", "", "user of the address of record; the file's userId when empty")
	fs.StringVar(&o.token, "token", "", "static access token (or $SIPOAUTH_TOKEN)")
	fs.StringVar(&o.tokenURL, "token-url", "", "token endpoint for the refresh_token grant")
	fs.StringVar(&o.refreshToken, "refresh-token", "", "refresh token (or $SIPOAUTH_REFRESH_TOKEN)")
	fs.StringVar(&o.issuer, "issuer", "", "issuer URL of an OAuth 2.0 / OpenID Connect authorization server (Keycloak, Entra ID, Okta, Hydra, ...): its metadata gives the token endpoint, for -login or -refresh-token")
	fs.BoolVar(&o.login, "login", false, "sign in at -issuer with the device grant (RFC 8628): prints the URL to open and the code to enter; signs out (revokes the tokens) at exit")
	fs.StringVar(&o.scope, "scope", "openid offline_access", "space-separated scopes to ask -issuer for; add the registrar's")
	fs.StringVar(&o.resource, "resource", "", "resource indicator (RFC 8707) of the registrar, for -issuer")
	fs.StringVar(&o.clientID, "client-id", "", "OAuth client id for the token endpoint")
	fs.StringVar(&o.clientSecret, "client-secret", "", "OAuth client secret (or $SIPOAUTH_CLIENT_SECRET)")
	fs.StringVar(&o.ca, "ca", "", "PEM file of the CAs that sign the node's (or the edge proxy's) certificate; the system roots when empty")
	fs.StringVar(&o.serverName, "server-name", "", "name every node's certificate must carry; each node's own name when empty")
	fs.StringVar(&o.edge, "edge", "", "edge proxy host:port, for -mra")
	fs.StringVar(&o.edgeServerName, "edge-name", "", "name the edge proxy's certificate must carry; the -edge host when empty")
	fs.BoolVar(&o.mra, "mra", false, "register through the edge proxy (Mobile and Remote Access)")
	fs.BoolVar(&o.rfc8898, "rfc8898", false, "send the token in RFC 6750's form (Bearer <token>) instead of Cisco's (Bearer token=\"<token>\")")
	fs.BoolVar(&o.answer, "answer", false, "accept the MESSAGEs the node sends over the registration's connection (printed, answered 200); other requests are answered 501")
	fs.BoolVar(&o.verbose, "v", false, "log the client's steps")
	fs.BoolVar(&o.version, "version", false, "print the version (module version and VCS revision) and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.version {
		return &o, nil
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.token == "" {
		o.token = os.Getenv("SIPOAUTH_TOKEN")
	}
	if o.refreshToken == "" {
		o.refreshToken = os.Getenv("SIPOAUTH_REFRESH_TOKEN")
	}
	if o.clientSecret == "" {
		o.clientSecret = os.Getenv("SIPOAUTH_CLIENT_SECRET")
	}
	switch {
	case o.config == "" || o.device == "":
		return nil, errors.New("-config and -device are required")
	case o.tokenURL != "" && o.issuer != "":
		return nil, errors.New("give -token-url or -issuer, not both")
	case o.login && (o.issuer == "" || o.clientID == ""):
		return nil, errors.New("-login needs -issuer and -client-id")
	case o.login && (o.token != "" || o.refreshToken != ""):
		return nil, errors.New("-login signs in for new tokens: leave out -token and -refresh-token")
	case o.issuer != "" && !o.login && (o.refreshToken == "" || o.clientID == ""):
		return nil, errors.New("-issuer needs -login, or -refresh-token with -client-id")
	case o.token == "" && !o.login && ((o.tokenURL == "" && o.issuer == "") || o.refreshToken == ""):
		return nil, errors.New("give -token, -token-url with -refresh-token, or -issuer with -login")
	case o.mra && o.edge == "":
		return nil, errors.New("-mra needs -edge host:port")
	}
	return &o, nil
}

// clientConfig builds the client's configuration from the flags, all but
// its Tokens (tokenSource).
func (o *options) clientConfig(stdout, stderr io.Writer) (client.Config, error) {
	tlsCfg := &tls.Config{ServerName: o.serverName}
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return client.Config{}, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return client.Config{}, fmt.Errorf("%s: no PEM certificate", o.ca)
		}
		tlsCfg.RootCAs = pool
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	cfg := client.Config{
		DeviceName: o.device, User: o.user, ConfigURL: o.config,
		TLSConfig: tlsCfg,
		Logger:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		OnEvent: func(e client.Event) {
			// The first registration is told by its transcript; events
			// tell what happens after it.
			if !o.live.Load() {
				return
			}
			switch e.Kind {
			case client.EventRefreshed:
				fmt.Fprintf(stdout, "%s refreshed at %s, expires in %s\n", e.Time.Format(time.TimeOnly), e.Target, e.Expires)
			case client.EventRegistered:
				fmt.Fprintf(stdout, "%s registered at %s, expires in %s\n", e.Time.Format(time.TimeOnly), e.Target, e.Expires)
			case client.EventTargetSwitched:
				fmt.Fprintf(stdout, "%s trying %s: %v\n", e.Time.Format(time.TimeOnly), e.Target, e.Err)
			case client.EventFailed, client.EventPortMismatch:
				fmt.Fprintf(stdout, "%s %s: %v\n", e.Time.Format(time.TimeOnly), e.Kind, e.Err)
			case client.EventUnregistered:
				fmt.Fprintf(stdout, "%s unregistered from %s\n", e.Time.Format(time.TimeOnly), e.Target)
			}
		},
	}
	if o.rfc8898 {
		cfg.Form = bearer.FormRFC6750
	}
	if o.answer {
		cfg.OnRequest = func(_ context.Context, req *sip.Request) *sip.Response {
			if req.Method != sip.MESSAGE {
				return sip.NewResponseFromRequest(req, 501, "Not Implemented", nil)
			}
			from := ""
			if f := req.From(); f != nil {
				from = f.Address.String()
			}
			fmt.Fprintf(stdout, "%s MESSAGE from %s: %s\n", time.Now().Format(time.TimeOnly), from, printable(req.Body()))
			return sip.NewResponseFromRequest(req, 200, "OK", nil)
		}
	}
	if !strings.Contains(o.config, "://") {
		dev, err := localConfig(o.config, o.device)
		if err != nil {
			return client.Config{}, err
		}
		cfg.Device, cfg.ConfigURL = dev, ""
	}
	if o.mra {
		cfg.Deployment, cfg.EdgeAddr, cfg.EdgeServerName = cnfxml.MRA, o.edge, o.edgeServerName
	}
	return cfg, nil
}

// httpClient is the client of the token endpoint and the authorization
// server: -ca applies to it too, as the token endpoint of a node is behind
// the same certificate as its SIP ports.
func httpClient(tlsCfg *tls.Config) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{RootCAs: tlsCfg.RootCAs},
	}}
}

// tokenSource returns the token source the flags name. With -login it
// signs the user in first, and signOut revokes the tokens.
func (o *options) tokenSource(ctx context.Context, stdout io.Writer, tlsCfg *tls.Config) (tokens client.TokenSource, signOut func(context.Context) error, err error) {
	switch {
	case o.tokenURL != "":
		src, err := client.NewRefreshTokenSource(client.RefreshConfig{
			TokenURL: o.tokenURL, RefreshToken: o.refreshToken,
			ClientID: o.clientID, ClientSecret: o.clientSecret, HTTPClient: httpClient(tlsCfg),
		})
		return src, nil, err
	case o.issuer == "":
		return client.StaticTokenSource(&client.Token{AccessToken: o.token}), nil, nil
	}
	p, err := signin.New(ctx, signin.Config{Issuer: o.issuer, ClientID: o.clientID, ClientSecret: o.clientSecret,
		Scopes: strings.Fields(o.scope), Resource: o.resource, HTTPClient: httpClient(tlsCfg)})
	if err != nil {
		return nil, nil, err
	}
	if !o.login {
		s, err := p.NewSession(&oauth2.Token{RefreshToken: o.refreshToken})
		return s, nil, err
	}
	s, err := p.DeviceLogin(ctx, func(dc signin.DeviceCode) error {
		fmt.Fprintf(stdout, "to sign in, open %s and enter the code %s\n", dc.VerificationURI, dc.UserCode)
		if dc.VerificationURIComplete != "" {
			fmt.Fprintf(stdout, "  (or open %s)\n", dc.VerificationURIComplete)
		}
		fmt.Fprintf(stdout, "  the code expires at %s\n", dc.Expiry.Format(time.TimeOnly))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stdout, "signed in at %s\n", p.Endpoints().Issuer)
	return s, s.SignOut, nil
}

// printable is a message body as one line of text: at most 500 bytes,
// control characters and invalid UTF-8 escaped.
func printable(b []byte) string {
	const max = 500
	cut := len(b) > max
	if cut {
		b = b[:max]
	}
	q := strconv.Quote(string(b))
	s := q[1 : len(q)-1]
	if cut {
		s += "..."
	}
	return s
}

// localConfig reads the configuration file of device from path: the file
// itself, or the directory that holds <device>.cnf.xml.
func localConfig(path, device string) (*cnfxml.Config, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, device+cnfxml.Suffix)
	}
	return cnfxml.ParseFile(path)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, buildinfo.String("sipoauth-client"))
		return nil
	}
	// Events come from the client's goroutine while run writes too.
	stdout = &syncWriter{w: stdout}
	cfg, err := o.clientConfig(stdout, stderr)
	if err != nil {
		return err
	}
	tokens, signOut, err := o.tokenSource(ctx, stdout, cfg.TLSConfig)
	if err != nil {
		return err
	}
	if signOut != nil {
		// At exit, after the unregistration, within a bound of its own:
		// ctx has ended by then.
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := signOut(sctx); err != nil {
				fmt.Fprintf(stdout, "sign-out: %v\n", err)
				return
			}
			fmt.Fprintf(stdout, "signed out at %s: tokens revoked\n", o.issuer)
		}()
	}
	cfg.Tokens = tokens
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()

	targets, err := c.Targets(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.String()
	}
	fmt.Fprintf(stdout, "targets (%s): %s\n", cfg.Deployment, strings.Join(names, ", "))

	reg, err := c.Register(ctx)
	printTranscript(stdout, reg)
	if err != nil {
		explain(stdout, err)
		return err
	}
	fmt.Fprintf(stdout, "registered at %s, expires in %s%s; Ctrl-C to unregister\n", reg.Target, reg.Expires, newreg(reg))
	o.live.Store(true)

	if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, client.ErrClosed) {
		explain(stdout, err)
		return err
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("unregistering: %w", err)
	}
	return nil
}

// syncWriter serializes the writes of several goroutines, each whole.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func newreg(reg client.Registration) string {
	if reg.NewRegistration {
		return " (" + ucm.NewRegParam + ")"
	}
	return ""
}

// printTranscript prints each REGISTER and its answer, without the token.
func printTranscript(w io.Writer, reg client.Registration) {
	if len(reg.Exchanges) == 0 {
		return
	}
	fmt.Fprintf(w, "connected %s -> %s (%s)\n", reg.LocalAddr, reg.RemoteAddr, reg.Target)
	fmt.Fprintf(w, "  Contact: %s\n", reg.Contact)
	for _, x := range reg.Exchanges {
		creds := "no credentials"
		if x.Credentials != "" {
			creds = x.Credentials + " (" + x.CredentialsForm.String() + " form)"
		}
		fmt.Fprintf(w, "REGISTER CSeq %d, Expires %d, %s\n", x.CSeq, int(x.Expires/time.Second), creds)
		if x.Status == 0 {
			fmt.Fprintln(w, "  <- no answer")
			continue
		}
		fmt.Fprintf(w, "  <- %d %s\n", x.Status, x.Reason)
		if x.Challenge != "" {
			fmt.Fprintf(w, "     challenge: %s\n", x.Challenge)
		}
		if x.Warning != "" {
			fmt.Fprintf(w, "     Warning: %s\n", x.Warning)
		}
		if x.RetryAfter > 0 {
			fmt.Fprintf(w, "     Retry-After: %s\n", x.RetryAfter)
		}
	}
}

// explain prints what an error means and what to do.
func explain(w io.Writer, err error) {
	var pm *client.PortMismatchError
	if errors.As(err, &pm) {
		fmt.Fprintf(w, "port mismatch from %s; possible causes, likeliest first:\n", pm.Node)
		for _, f := range pm.Causes() {
			fmt.Fprintf(w, "  - %s: %s\n    fix: %s\n", f.Code, f.Message, f.Fix)
		}
		return
	}
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		fmt.Fprintln(w, "the peer's certificate did not verify: give -ca the CA that signed it (the node's Tomcat certificate, or the edge proxy's)")
	}
	if errors.Is(err, client.ErrTokenRefused) {
		fmt.Fprintln(w, "the registrar refused the token: sign in again for a new one")
	}
}
