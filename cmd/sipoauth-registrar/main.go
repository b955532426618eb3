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

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/buildinfo"
	"github.com/sipoauth/sdk/internal/logs"
)

func main() {
	// The few messages of the SIP stack that do not go through the
	// registrar's logger (connection bookkeeping) keep its format.
	sip.SetDefaultLogger(slog.New(logs.SIPStack(bearer.RedactHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))))
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if versionAsked(args) {
		fmt.Fprintln(stdout, buildinfo.String("sipoauth-registrar"))
		return 0
	}
	s, err := loadConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "registrar: bad configuration:\n  %s\nregistrar -h lists the settings.\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return 2
	}
	s.logOut = stderr

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if s.clusterAction() {
		if err := clusterAction(ctx, s, stdout); err != nil {
			fmt.Fprintln(stderr, "registrar:", err)
			return 1
		}
		return 0
	}
	r, err := start(ctx, s)
	if err != nil {
		fmt.Fprintln(stderr, "registrar:", err)
		var se *settingError
		if errors.As(err, &se) {
			return 2
		}
		return 1
	}
	for _, a := range r.addrs {
		fmt.Fprintf(stdout, "listening %-24s %-5s %s\n", a.Setting, a.Transport, a.Addr)
	}

	status := 0
	select {
	case <-ctx.Done():
		r.log.Info("stopping")
	case err := <-r.Failed():
		r.log.Error("a listener failed; stopping", "error", err)
		status = 1
	}
	cctx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout())
	defer cancel()
	if err := r.Close(cctx); err != nil {
		r.log.Error("stopping", "error", err)
		status = 1
	}
	r.log.Info("stopped")
	return status
}

// versionAsked reports whether args hold -version (the other flags parse
// too, and no configuration is read).
func versionAsked(args []string) bool {
	var config string
	scratch := defaults()
	fs := flagSet(&scratch, &config)
	fs.SetOutput(io.Discard)
	return fs.Parse(args) == nil && fs.Lookup("version").Value.String() == "true"
}

func usage(w io.Writer) {
	var config string
	s := defaults()
	fs := flagSet(&s, &config)
	fs.SetOutput(w)
	fmt.Fprint(w, `Usage: registrar [flags]

A SIP OAuth registrar: clients register over TLS with a bearer token on
-oauth, edge proxies over mutual TLS on -edge. Settings may also come from
a JSON file (-config) named as the flags; flags override it.

`)
	fs.PrintDefaults()
}
