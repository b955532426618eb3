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
	"time"

	"github.com/sipoauth/sdk/edge"
	"github.com/sipoauth/sdk/internal/buildinfo"
	"github.com/sipoauth/sdk/internal/filekeys"
	"github.com/sipoauth/sdk/keyfile"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/sipoauth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		if errors.Is(err, errVersion) {
			fmt.Println(buildinfo.String("sipoauth-edge"))
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "expressway:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// errVersion is what parse returns for -version: the program prints its
// version and exits 0, and starts nothing.
var errVersion = errors.New("version asked")

// list is a flag that may be repeated and holds comma-separated values.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }

func (l *list) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

type options struct {
	listen, name, certFile, keyFile, serverName string
	nodeCA, upstreams, keyFiles, clusterKeys    list
	validate                                    bool
	jwksURL, issuer                             string
	tableURL, tableUser, tablePassword          string
	timeout                                     time.Duration
	verbose, version                            bool
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("expressway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", ":5061", "`address` of the TLS port for clients")
	fs.StringVar(&o.name, "name", "", "proxy `name` in Warning headers and in the table entry (default: the certificate's name)")
	fs.StringVar(&o.certFile, "cert", "", "PEM certificate chain of the proxy (`file`), with the clientAuth usage")
	fs.StringVar(&o.keyFile, "key", "", "PEM private key of the proxy (`file`)")
	fs.Var(&o.nodeCA, "node-ca", "trust store of the nodes' signers: PEM, DER or PKCS#12 `file` or directory (repeatable)")
	fs.Var(&o.upstreams, "upstream", "node MRA OAuth port, `host:port` (repeatable or comma-separated, tried in order)")
	fs.StringVar(&o.serverName, "server-name", "", "`name` the nodes' certificates must carry (default: each upstream's host)")
	fs.BoolVar(&o.validate, "validate", false, "check bearer tokens at the edge (needs -keys or -jwks)")
	fs.Var(&o.keyFiles, "keys", "token signing key: `[KID=]FILE`, a PEM public key or certificate (or a JWKS of one key) and the key id (kid) tokens name; without KID it verifies tokens that name none, and those that name its own id: its JWK kid or PEM Key-ID header, else its fingerprint as Unified CM's kid ends (repeatable)")
	fs.StringVar(&o.jwksURL, "jwks", "", "token signing keys: JWKS `URL`")
	fs.Var(&o.clusterKeys, "cluster-key", "key of Unified CM's nested tokens: `KID=HEX` (or base64) of 32 bytes, or a FILE of keys by kid (JSON {\"<kid>\": \"<key>\"}, a JWK or a JWK set) or of one key alone (raw, hex or base64), tried whatever kid a token names (repeatable)")
	fs.StringVar(&o.issuer, "issuer", "", "accepted token issuer `URL` (default: any)")
	fs.StringVar(&o.tableURL, "table-url", "", "HTTPS `URL` of the node's edge-proxy table, to push the proxy's names to at start")
	fs.StringVar(&o.tableUser, "table-user", "", "Basic `user` of the table")
	fs.StringVar(&o.tablePassword, "table-password", "", "Basic `password` of the table (default: $EXPRESSWAY_TABLE_PASSWORD)")
	fs.DurationVar(&o.timeout, "timeout", edge.DefaultTimeout, "how long a REGISTER waits for a node")
	fs.BoolVar(&o.verbose, "v", false, "log debug events")
	fs.BoolVar(&o.version, "version", false, "print the version (module version and VCS revision) and exit")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case o.version:
		return nil, errVersion
	case fs.NArg() > 0:
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case o.certFile == "" || o.keyFile == "":
		return nil, fmt.Errorf("%w: -cert and -key are required", errUsage)
	case len(o.nodeCA) == 0:
		return nil, fmt.Errorf("%w: -node-ca is required", errUsage)
	case len(o.upstreams) == 0:
		return nil, fmt.Errorf("%w: at least one -upstream is required", errUsage)
	case o.validate && len(o.keyFiles) == 0 && o.jwksURL == "":
		return nil, fmt.Errorf("%w: -validate needs -keys or -jwks", errUsage)
	case !o.validate && (len(o.keyFiles) > 0 || o.jwksURL != "" || len(o.clusterKeys) > 0):
		return nil, fmt.Errorf("%w: -keys, -jwks and -cluster-key need -validate", errUsage)
	case o.tableURL != "" && o.tableUser == "":
		return nil, fmt.Errorf("%w: -table-url needs -table-user", errUsage)
	}
	if o.tablePassword == "" {
		o.tablePassword = os.Getenv("EXPRESSWAY_TABLE_PASSWORD")
	}
	return o, nil
}

// run starts the proxy and serves until ctx ends. ready, if set, is told
// the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cert, err := mtlstrust.LoadCertSource(o.certFile, o.keyFile)
	if err != nil {
		return err
	}
	trust, err := mtlstrust.LoadTrustStore(o.nodeCA...)
	if err != nil {
		return err
	}
	// Renewed certificates and trust stores are picked up without a restart.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	onReloadError := func(err error) { logger.Error("reload failed", "error", err.Error()) }
	go cert.Watch(watchCtx, 30*time.Second, onReloadError)
	go trust.Watch(watchCtx, 30*time.Second, onReloadError)

	cfg := edge.Config{
		Name: o.name, Certificate: cert, NodeTrust: trust, Upstreams: o.upstreams, ServerName: o.serverName,
		Logger: logger, Timeout: o.timeout,
		OnFailure: func(f edge.Failure) {
			for _, fd := range f.Findings {
				logger.Error("finding", "upstream", f.Upstream, "scenario", f.Scenario, "finding", fd.String(), "fix", fd.Fix)
			}
		},
	}
	if o.validate {
		v, closeKeys, err := validator(o)
		if err != nil {
			return err
		}
		defer closeKeys()
		cfg.Validator = v
	}
	if o.tableURL != "" {
		cfg.Table = &edge.TableConfig{URL: o.tableURL, User: o.tableUser, Password: o.tablePassword}
	}
	px, err := edge.New(cfg)
	if err != nil {
		return err
	}
	ln, err := px.Listen(o.listen)
	if err != nil {
		px.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- px.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-served:
		px.Close()
		return err
	case <-ctx.Done():
	}
	logger.Info("stopping")
	if err := px.Close(); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, edge.ErrClosed) {
		return err
	}
	st := px.Stats()
	logger.Info("stopped", "received", st.Received, "forwarded", st.Forwarded, "relayed", st.Relayed,
		"rejected_at_edge", st.RejectedAtEdge, "upstream_failures", st.UpstreamFailures)
	return nil
}

// validator builds the token validator of the -keys, -jwks and
// -cluster-key flags.
func validator(o *options) (*sipoauth.Validator, func(), error) {
	cfg := sipoauth.Config{}
	closeKeys := func() {}
	if o.issuer != "" {
		cfg.Issuers = []string{o.issuer}
	}
	switch {
	case o.jwksURL != "":
		j, err := sipoauth.NewJWKSURL(o.jwksURL, sipoauth.JWKSOptions{})
		if err != nil {
			return nil, nil, err
		}
		cfg.Keys, closeKeys = j, j.Close
	default:
		var keys []keyfile.Key
		given := map[string]bool{}
		for _, spec := range o.keyFiles {
			kid, file, named := strings.Cut(spec, "=")
			if !named {
				kid, file = "", spec
			}
			if given[kid] {
				return nil, nil, fmt.Errorf("key id %q given twice", kid)
			}
			given[kid] = true
			data, err := keyfile.ReadFile(file)
			if err != nil {
				return nil, nil, err
			}
			read, err := keyfile.ParsePublicKeys(data)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", file, err)
			}
			if len(read) != 1 {
				return nil, nil, fmt.Errorf("%s: holds %d keys; give one key per file with its key id", file, len(read))
			}
			k := read[0]
			if named {
				k.ID = kid
				keys = append(keys, k)
				continue
			}
			// Without KID, the key verifies the tokens that name no key,
			// and by keyfile's rule those that name the key's own id
			// (Unified CM's "<cluster-uuid>:<fingerprint>").
			unnamed := k
			unnamed.ID = ""
			keys = append(keys, unnamed, k)
		}
		set, err := filekeys.NewSet(keys)
		if err != nil {
			return nil, nil, err
		}
		src := new(filekeys.Source)
		src.Set(set)
		cfg.Keys = src
	}
	if len(o.clusterKeys) > 0 {
		sym := map[string][]byte{}
		for _, spec := range o.clusterKeys {
			keys, err := clusterKeys(spec)
			if err != nil {
				return nil, nil, err
			}
			for kid, k := range keys {
				if _, dup := sym[kid]; dup {
					return nil, nil, fmt.Errorf("-cluster-key: key id %q given twice", kid)
				}
				sym[kid] = k
			}
		}
		s, err := sipoauth.NewSymmetricKeys(sym)
		if err != nil {
			return nil, nil, err
		}
		cfg.DecryptionKeys = s
	}
	v, err := sipoauth.New(cfg)
	if err != nil {
		closeKeys()
		return nil, nil, err
	}
	return v, closeKeys, nil
}

// clusterKeys reads a -cluster-key: KID=KEY, the key in hex or base64, or
// a FILE of cluster keys in any form keyfile reads, each with its kid.
func clusterKeys(spec string) (map[string][]byte, error) {
	if kid, text, ok := strings.Cut(spec, "="); ok && kid != "" {
		// The newline keeps a key of 32 characters from being taken for
		// 32 raw bytes: a key on the command line is text.
		keys, err := keyfile.ParseClusterKeys([]byte(text+"\n"), keyfile.ClusterKeySize)
		if err != nil {
			return nil, fmt.Errorf("%w: -cluster-key %s=: %w", errUsage, kid, err)
		}
		if len(keys) != 1 || keys[""] == nil {
			return nil, fmt.Errorf("%w: -cluster-key %s= wants the key in hex or base64", errUsage, kid)
		}
		return map[string][]byte{kid: keys[""]}, nil
	}
	data, err := keyfile.ReadFile(spec)
	if err != nil {
		return nil, fmt.Errorf("-cluster-key: %w", err)
	}
	// A key without its kid (raw, hex, base64) is tried for every token,
	// whatever kid it names, when it is the only cluster key.
	keys, err := keyfile.ParseClusterKeys(data, keyfile.ClusterKeySize)
	if err != nil {
		return nil, fmt.Errorf("-cluster-key %s: %w", spec, err)
	}
	return keys, nil
}
