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
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/buildinfo"
	"github.com/sipoauth/sdk/internal/logs"
)

func main() {
	// The SIP stack's few messages outside the parts' own loggers
	// (connection bookkeeping): errors only, credentials withheld.
	sip.SetDefaultLogger(slog.New(logs.SIPStack(bearer.RedactHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	serve   bool
	cluster bool
	ports   ports
	proxy   int
	timeout time.Duration
	verbose bool
	version bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.serve, "serve", false, "keep every part running after the story, until interrupted")
	fs.BoolVar(&o.cluster, "cluster", false, "tell the cluster's story instead: three registrar nodes on a redis-server the lab starts (it must be installed), failing over")
	fs.IntVar(&o.ports.Config, "config-port", 0, "configuration server port (Unified CM's 6970); 0 picks one")
	fs.IntVar(&o.ports.Issuer, "issuer-port", 0, "token issuer port; 0 picks one")
	fs.IntVar(&o.ports.Table, "table-port", 0, "edge-proxy table API port; 0 picks one")
	fs.IntVar(&o.ports.OAuth, "oauth-port", 0, "registrar OAuth port (5090 role); 0 picks one")
	fs.IntVar(&o.ports.Edge, "edge-port", 0, "registrar edge port (5091 role); 0 picks one")
	fs.IntVar(&o.proxy, "proxy-port", 0, "edge proxy's client port; 0 picks one")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit of the story")
	fs.BoolVar(&o.verbose, "v", false, "log every part's events on standard error")
	fs.BoolVar(&o.version, "version", false, "print the version (module version and VCS revision) and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, p := range []int{o.ports.Config, o.ports.Issuer, o.ports.Table, o.ports.OAuth, o.ports.Edge, o.proxy} {
		if p < 0 || p > 65535 {
			return o, fmt.Errorf("port %d out of range", p)
		}
	}
	if o.timeout <= 0 {
		return o, errors.New("-timeout must be positive")
	}
	return o, nil
}

// run is the command: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "lab:", err)
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, buildinfo.String("lab"))
		return 0
	}
	logLevel := slog.LevelError + 1 // quiet
	if o.verbose {
		logLevel = slog.LevelInfo
	}
	// Credentials are withheld from every log, the SIP stack's included.
	log := slog.New(bearer.RedactHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel})))

	if o.cluster {
		return runCluster(ctx, o, stdout, stderr, log)
	}
	tl := newTimeline(stdout)
	l, err := startLab(o, log)
	if err != nil {
		fmt.Fprintln(stderr, "lab: start:", err)
		return 1
	}
	defer l.close()
	l.describe(tl)

	storyCtx, cancel := context.WithTimeout(ctx, o.timeout)
	err = l.story(storyCtx, tl)
	cancel()
	if err != nil {
		tl.check(false, "story ended early: %v", err)
	}

	if tl.finish() != 0 {
		return 1
	}
	if o.serve {
		if err := l.serve(ctx, stdout); err != nil {
			fmt.Fprintln(stderr, "lab:", err)
			return 1
		}
	}
	return 0
}

func since(t time.Time) string {
	return time.Since(t).Round(time.Millisecond).String()
}
