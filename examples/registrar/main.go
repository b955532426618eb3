package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/emiago/sipgo"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/keyfile"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/sipoauth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "registrar:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registrar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":5090", "`address` of the OAuth port")
	certFile := fs.String("cert", "", "PEM certificate chain of the node (`file`)")
	keyFile := fs.String("key", "", "PEM private key of the node (`file`)")
	jwksURL := fs.String("jwks", "", "`URL` of the identity provider's signing keys (JWKS)")
	clusterKeys := fs.String("cluster-key", "", "`file` of the keys of Unified CM's nested tokens, by kid (optional)")
	devicesFile := fs.String("devices", "", "JSON `file` of the devices that may register")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *certFile == "" || *keyFile == "" || *jwksURL == "" || *devicesFile == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-cert, -key, -jwks and -devices are required")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	validator, closeKeys, err := newValidator(*jwksURL, *clusterKeys, log)
	if err != nil {
		return err
	}
	defer closeKeys()
	devices, err := registrar.OpenFileDevices(*devicesFile)
	if err != nil {
		return err
	}
	cert, err := mtlstrust.LoadCertSource(*certFile, *keyFile)
	if err != nil {
		return err
	}

	// The OAuth port: TLS without client certificates, its sockets bounded
	// by siplimit before sipgo reads them, failed handshakes explained.
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	oauth := siplimit.NewTLSListener(ln, mtlstrust.OAuthServerConfig(cert), siplimit.Limits{},
		mtlstrust.ListenerOptions{Side: diag.NodeSide, OnError: func(e *mtlstrust.HandshakeError) {
			log.Info("TLS handshake failed", "remote", e.Remote, "error", e.Err, "diagnosis", e.Diagnosis.Code)
		}}, siplimit.WithLogger(log))
	defer oauth.Close()

	// The registrar tells the OAuth port by its number; bindings live in
	// memory, swept of expired ones now and then.
	store := registrar.NewMemoryStore()
	reg, err := registrar.New(registrar.Config{
		NodeName:  "UCM-PUB",
		Devices:   devices,
		Validator: validator,
		Store:     store,
		Ports:     registrar.Ports{ln.Addr().(*net.TCPAddr).Port: registrar.RoleOAuth},
		Logger:    log,
	})
	if err != nil {
		return err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sipoauth-example-registrar"))
	if err != nil {
		return err
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.OnRegister(reg.HandleRegister)

	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(oauth) }()
	fmt.Fprintln(stdout, "listening oauth tls", ln.Addr())
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "stopped with", store.Sweep(time.Now()), "bindings")
			return nil
		case err := <-served:
			return err
		case now := <-sweep.C:
			store.Sweep(now)
		}
	}
}

// newValidator returns the validator of the JWKS at url and of the
// cluster keys in the file clusterKeys, if any, and a function that stops
// refreshing the JWKS.
func newValidator(url, clusterKeys string, log *slog.Logger) (*sipoauth.Validator, func(), error) {
	jwks, err := sipoauth.NewJWKSURL(url, sipoauth.JWKSOptions{OnError: func(err error) {
		log.Warn("fetching the signing keys failed; the last good set stays", "jwks", url, "error", err)
	}})
	if err != nil {
		return nil, nil, err
	}
	cfg := sipoauth.Config{Keys: jwks}
	if clusterKeys != "" {
		data, err := keyfile.ReadFile(clusterKeys)
		if err == nil {
			var keys map[string][]byte
			if keys, err = keyfile.ParseClusterKeys(data, keyfile.ClusterKeySize); err == nil && keys[""] != nil {
				err = errors.New("a key without its kid: Unified CM names the key in each token")
			}
			if err == nil {
				cfg.DecryptionKeys, err = sipoauth.NewSymmetricKeys(keys)
			}
		}
		if err != nil {
			jwks.Close()
			return nil, nil, fmt.Errorf("-cluster-key: %w", err)
		}
	}
	v, err := sipoauth.New(cfg)
	if err != nil {
		jwks.Close()
		return nil, nil, err
	}
	return v, jwks.Close, nil
}
