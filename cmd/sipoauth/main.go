package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Exit statuses.
const (
	exitOK       = 0 // no finding of severity error
	exitFindings = 1 // a finding of severity error, or a refused token
	exitUsage    = 2 // a usage error or an input that cannot be read
)

// env is what a command runs with: its streams and its clock.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	// stdinIsTerminal reports whether stdin is a terminal: a command
	// that reads it then prints a hint first.
	stdinIsTerminal func() bool
}

// command is a subcommand: its usage text and what it runs.
type command struct {
	name  string // e.g. "cnf check"
	usage string // the synopsis and the flags' description
	run   func(e *env, args []string) int
}

// group is a command with subcommands, such as cnf.
type group struct {
	name    string
	summary string
	subs    []*command
}

var (
	cmdCNFCheck = &command{name: "cnf check", usage: `usage: sipoauth cnf check [--json] FILE|-

Checks a device configuration file (<DEVICE>.cnf.xml) for what stops or
weakens SIP OAuth registration and prints the findings with their fixes.
`}
	cmdCNFTargets = &command{name: "cnf targets", usage: `usage: sipoauth cnf targets [--mra] [--json] FILE|-

Prints the registration targets a client derives from a configuration file,
in the order it tries them: on premises (each node's sipOAuthPort), or with
--mra through the edge proxy (each node's sipMRAOAuthPort).
`}
	cmdCNFGen = &command{name: "cnf gen", usage: `usage: sipoauth cnf gen [--device CSFx] [--user U] --node host[:oauthPort[:mraPort]]...
                        [--mode 0|1] [-o FILE] [--json]

Writes a Cisco Jabber (CSF) configuration file: SIP OAuth mode, security
mode encrypted, one call manager per --node in priority order (ports 5090
and 5091 unless given). The device is CSF<user> unless --device names it.
Without -o the file goes to standard output; --json needs -o and prints the
check of the file written.
`}
	cmdCertCheck = &command{name: "cert check", usage: `usage: sipoauth cert check [--role node|edge] [--name HOST] [--json] FILE|-

Checks a PEM certificate chain, leaf first: validity, key, signature,
extended key usage for the role (node: serverAuth, the Tomcat certificate;
edge: clientAuth, the Expressway-C certificate), and the name.
`}
	cmdTokenInspect = &command{name: "token inspect", usage: `usage: sipoauth token inspect [--json] TOKEN|-

Decodes a token without verifying it: header, claims, expiry, shape (plain
JWS, Unified CM's nested JWS with a JWE, or JWE) and use (access or refresh).
`}
	cmdTokenVerify = &command{name: "token verify", usage: `usage: sipoauth token verify --keys FILE|URL [--iss ISS] [--aud AUD] [--device NAME]
                           [--decryption-key FILE] [--json] TOKEN|-

Verifies a token as a registrar does and prints whose it is. --keys is a
file of PEM public keys or certificates, a JWKS file, or the http(s) URL of
a JWKS. --decryption-key is the 32-byte key of Unified CM's nested tokens
(raw, hex, base64, a JWK of kty oct, a JWK set, or a JSON object of keys by
kid). A refused token prints the reason and its RFC 6750 error code, and
exits 1.
`}
	cmdTokenMint = &command{name: "token mint", usage: `usage: sipoauth token mint --key FILE --sub USER [--device NAME] [--ttl 1h] [--iss ISS]
                         [--aud AUD] [--scope S] [--kid KID] [--nested --enc-key FILE
                         [--enc-kid KID]] [--refresh [--client-id ID]] [--json]

Mints a token signed with the private key in FILE (PKCS#8, PKCS#1 or SEC1
PEM), for labs and load tests, and prints it alone. --nested makes Unified
CM's shape (an RS256 JWS whose private claim is a JWE encrypted with the
32-byte key of --enc-key, in any form --decryption-key of token verify
takes); --refresh makes a refresh token. A negative --ttl makes a token
that has already expired.
`}
	cmdHeaderParse = &command{name: "header parse", usage: `usage: sipoauth header parse [--json] 'HEADER'|-

Parses a Bearer challenge (WWW-Authenticate, Proxy-Authenticate) or
credentials (Authorization, Proxy-Authorization), with or without the
header name, in Cisco's and RFC 8898's forms. The token is never printed
whole.
`}
	cmdLogAnalyze = &command{name: "log analyze", usage: `usage: sipoauth log analyze [--json] FILE|-

Reads a soft client's log (Cisco Jabber's) of any size and prints the
timeline of the registration and the diagnosis.
`}
	cmdProbe = &command{name: "probe", usage: `usage: sipoauth probe [--ca FILE] [--cert FILE --key FILE] [--name SERVERNAME]
                      [--timeout 5s] [--device NAME] [--user USER] [--json] HOST:PORT

Connects to a registrar's SIP OAuth port over TLS, shows the certificate
chain it presents with its findings (verified against --ca, else the system
roots), explains a failed handshake, and sends one REGISTER without
credentials to show the answer: the Bearer challenge, or the port mismatch
with its causes. With --cert and --key the probe presents a client
certificate, as an edge proxy does on the MRA port (5091).
`}
)

var groups = []*group{
	{name: "cnf", summary: "device configuration files", subs: []*command{cmdCNFCheck, cmdCNFTargets, cmdCNFGen}},
	{name: "cert", summary: "certificate chains", subs: []*command{cmdCertCheck}},
	{name: "token", summary: "bearer tokens", subs: []*command{cmdTokenInspect, cmdTokenVerify, cmdTokenMint}},
	{name: "header", summary: "SIP Bearer headers", subs: []*command{cmdHeaderParse}},
	{name: "log", summary: "soft-client logs", subs: []*command{cmdLogAnalyze}},
}

func init() {
	cmdCNFCheck.run = (*env).cnfCheck
	cmdCNFTargets.run = (*env).cnfTargets
	cmdCNFGen.run = (*env).cnfGen
	cmdCertCheck.run = (*env).certCheck
	cmdTokenInspect.run = (*env).tokenInspect
	cmdTokenVerify.run = (*env).tokenVerify
	cmdTokenMint.run = (*env).tokenMint
	cmdHeaderParse.run = (*env).headerParse
	cmdLogAnalyze.run = (*env).logAnalyze
	cmdProbe.run = (*env).probe
}

const usageText = `usage: sipoauth <command> [flags] [input]

Checks the parts of a SIP OAuth deployment and prints findings with fixes,
the same as the library and the browser inspector give.

commands:
  cnf check FILE|-            check a device configuration file
  cnf targets [--mra] FILE|-  the registration targets of a configuration file
  cnf gen --node HOST ...     write a Jabber configuration file
  cert check FILE|-           check a PEM certificate chain
  token inspect TOKEN|-       decode a token without verifying it
  token verify --keys K TOKEN verify a token and print whose it is
  token mint --key K --sub U  mint a token for labs and load tests
  header parse 'HEADER'|-     parse a Bearer challenge or credentials header
  log analyze FILE|-          timeline and diagnosis of a soft client's log
  probe HOST:PORT             TLS handshake and REGISTER against a registrar
  init DIR                    write a local deployment to run and register with
  help [command]              this text, or a command's
  version                     the version and the revision it was built from

Every command takes --json. "-" or no argument reads standard input.
Exit status: 0 no error finding, 1 an error finding or a refused token,
2 a usage error or an input that cannot be read.
`

// run runs the command line args (without the program name) and returns
// the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now,
		stdinIsTerminal: func() bool { return isTerminal(stdin) }}
	return e.dispatch(args)
}

func (e *env) dispatch(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usageText)
		return exitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if text, ok := helpFor(args[1:]); ok {
				fmt.Fprint(e.stdout, text)
				return exitOK
			}
			fmt.Fprintf(e.stderr, "sipoauth: no help for %q\n\n%s", strings.Join(args[1:], " "), usageText)
			return exitUsage
		}
		fmt.Fprint(e.stdout, usageText)
		return exitOK
	case "probe":
		return cmdProbe.run(e, args[1:])
	case "init":
		return cmdInit.run(e, args[1:])
	case "version", "-version", "--version":
		return e.version(args[1:])
	default:
		for _, g := range groups {
			if g.name == name {
				return e.runGroup(g, args[1:])
			}
		}
		fmt.Fprintf(e.stderr, "sipoauth: unknown command %q\n\n%s", name, usageText)
		return exitUsage
	}
}

func (e *env) runGroup(g *group, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(e.stderr, "sipoauth %s: missing subcommand\n\n%s", g.name, g.usage())
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, g.usage())
		return exitOK
	}
	for _, c := range g.subs {
		if c.name == g.name+" "+args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "sipoauth %s: unknown subcommand %q\n\n%s", g.name, args[0], g.usage())
	return exitUsage
}

// usage lists the subcommands of g.
func (g *group) usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sipoauth %s: %s\n\n", g.name, g.summary)
	for i, c := range g.subs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(c.usage)
	}
	return b.String()
}

// helpFor returns the usage of the command named by words.
func helpFor(words []string) (string, bool) {
	name := strings.Join(words, " ")
	if name == "probe" {
		return cmdProbe.usage, true
	}
	if name == "init" {
		return cmdInit.usage, true
	}
	for _, g := range groups {
		if name == g.name {
			return g.usage(), true
		}
		for _, c := range g.subs {
			if name == c.name {
				return c.usage, true
			}
		}
	}
	return "", false
}

// parse parses the flags of c in args, which may come before, between and
// after the positional arguments; "--" ends the flags. It returns the
// positional arguments, or ok false with the exit status: help printed
// (0) or a usage error (2).
func (e *env) parse(c *command, fs *flag.FlagSet, args []string) (pos []string, status int, ok bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, c.usage)
			return nil, exitOK, false
		}
		if err != nil {
			return nil, e.usageError(c, "%s", flagError(fs, err)), false
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), 0, true
		}
		if len(rest) == 0 {
			return pos, 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flags returns c's flag set, whose parse errors are returned rather
// than fatal, with the --json flag every command takes.
func (c *command) flags() (fs *flag.FlagSet, asJSON *bool) {
	fs = flag.NewFlagSet(c.name, flag.ContinueOnError)
	return fs, fs.Bool("json", false, "")
}

// parseNoArgs is parse for a command that takes flags only: a positional
// argument is a usage error.
func (e *env) parseNoArgs(c *command, fs *flag.FlagSet, args []string) (status int, ok bool) {
	pos, st, ok := e.parse(c, fs, args)
	switch {
	case !ok:
		return st, false
	case len(pos) > 0:
		return e.usageError(c, "unexpected argument %q", pos[0]), false
	}
	return 0, true
}

// usageError prints a usage error of c and returns exitUsage.
func (e *env) usageError(c *command, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "sipoauth %s: %s\n\n%s", c.name, fmt.Sprintf(format, a...), c.usage)
	return exitUsage
}

// inputError prints why an input cannot be used and returns exitUsage.
func (e *env) inputError(c *command, err error) int {
	fmt.Fprintf(e.stderr, "sipoauth %s: %v\n", c.name, err)
	return exitUsage
}

// onePositional returns the only positional argument, "-" when there is
// none, or a usage error when there are several.
func (e *env) onePositional(c *command, pos []string, what string) (string, int, bool) {
	switch len(pos) {
	case 0:
		return "-", 0, true
	case 1:
		return pos[0], 0, true
	}
	return "", e.usageError(c, "one %s expected, got %d arguments", what, len(pos)), false
}
