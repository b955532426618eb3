package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sipoauth/sdk/edge"
	"github.com/sipoauth/sdk/mtlstrust"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":5061", "`address` of the TLS port for clients")
	certFile := fs.String("cert", "", "PEM certificate chain of the proxy (`file`), with the clientAuth usage")
	keyFile := fs.String("key", "", "PEM private key of the proxy (`file`)")
	nodeCA := fs.String("node-ca", "", "trust store of the nodes' signers: PEM, DER or PKCS#12 `file` or directory")
	upstreams := fs.String("upstream", "", "the nodes' MRA OAuth ports, `host:port,...`, tried in order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *certFile == "" || *keyFile == "" || *nodeCA == "" || *upstreams == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-cert, -key, -node-ca and -upstream are required")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	cert, err := mtlstrust.LoadCertSource(*certFile, *keyFile)
	if err != nil {
		return err
	}
	trust, err := mtlstrust.LoadTrustStore(*nodeCA)
	if err != nil {
		return err
	}
	px, err := edge.New(edge.Config{
		Certificate: cert,
		NodeTrust:   trust,
		Upstreams:   strings.Split(*upstreams, ","),
		Logger:      log,
		OnFailure: func(f edge.Failure) {
			for _, fd := range f.Findings {
				log.Error("finding", "upstream", f.Upstream, "scenario", f.Scenario, "finding", fd.String(), "fix", fd.Fix)
			}
		},
	})
	if err != nil {
		return err
	}
	// Listen bounds the client connections with package siplimit and
	// presents the proxy's certificate.
	ln, err := px.Listen(*listen)
	if err != nil {
		px.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- px.Serve(ln) }()
	fmt.Fprintln(stdout, "listening tls", ln.Addr())

	select {
	case err := <-served:
		px.Close()
		return err
	case <-ctx.Done():
	}
	if err := px.Close(); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, edge.ErrClosed) {
		return err
	}
	st := px.Stats()
	fmt.Fprintf(stdout, "stopped: %d REGISTERs received, %d forwarded, %d answers relayed, %d upstream failures\n",
		st.Received, st.Forwarded, st.Relayed, st.UpstreamFailures)
	return nil
}
