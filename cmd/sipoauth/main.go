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
	// sawFlags, when set, is given each command's flag set as it is
	// parsed: the tests hold the usage texts to it.
	sawFlags func(c *command, fs *flag.FlagSet)
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
A field that does not parse is a finding of its own and the rest of the
file is still checked; XML that is not well-formed is located by line and
column (exit 2).

flags:
  --json           print the result as JSON (default false)
`}
	cmdCNFTargets = &command{name: "cnf targets", usage: `usage: sipoauth cnf targets [--mra] [--json] FILE|-

Prints the registration targets a client derives from a configuration file,
in the order it tries them: on premises (each node's sipOAuthPort), or with
--mra through the edge proxy (each node's sipMRAOAuthPort).

flags:
  --mra            the targets through the edge proxy (default false:
                   on premises)
  --json           print the result as JSON (default false)
`}
	cmdCNFGen = &command{name: "cnf gen", usage: `usage: sipoauth cnf gen [--device CSFx] [--user U] --node host[:oauthPort[:mraPort]]...
                        [--mode 0|1] [-o FILE] [--json]

Writes a Cisco Jabber (CSF) configuration file: SIP OAuth mode, security
mode encrypted, one call manager per --node in priority order (ports 5090
and 5091 unless given). The device is CSF<user> unless --device names it.
Without -o the file goes to standard output; --json needs -o and prints the
check of the file written.

flags:
  --node host[:oauthPort[:mraPort]]
                   a node, in priority order; repeat for each (required;
                   ports default to 5090 and 5091)
  --device NAME    the device name (default CSF<user>)
  --user U         the user id and owner id (default none; --device or
                   --user is required)
  --mode 0|1       the SIP OAuth mode (default 1)
  -o FILE          the file to write (default standard output)
  --json           print the result as JSON (default false)
`}
	cmdCertCheck = &command{name: "cert check", usage: `usage: sipoauth cert check [--role node|edge] [--name HOST] [--json] FILE|-

Checks a PEM certificate chain, leaf first: validity, key, signature,
extended key usage for the role (node: serverAuth, the Tomcat certificate;
edge: clientAuth, the Expressway-C certificate), and the name. DER
(.cer, .der) is read as well as PEM.

flags:
  --role node|edge the certificate's role (default node)
  --name HOST      the name the certificate must carry (default none: the
                   name is not checked)
  --json           print the result as JSON (default false)
`}
	cmdTokenInspect = &command{name: "token inspect", usage: `usage: sipoauth token inspect [--json] TOKEN|FILE|-

Decodes a token without verifying it: header, claims, expiry, shape (plain
JWS, Unified CM's nested JWS with a JWE, or JWE) and use (access or refresh).
An argument that names an existing file is read from the file (the file
wins over a token of the same text).

flags:
  --json           print the result as JSON (default false)
`}
	cmdTokenVerify = &command{name: "token verify", usage: `usage: sipoauth token verify --keys FILE|URL [--iss ISS] [--aud AUD] [--device NAME]
                           [--decryption-key FILE] [--json] TOKEN|FILE|-

Verifies a token as a registrar does and prints whose it is. --keys is a
file of PEM public keys or certificates, a JWKS file, or the http(s) URL of
a JWKS. --decryption-key is the 32-byte key of Unified CM's nested tokens
(raw, hex, base64, a JWK of kty oct, a JWK set, or a JSON object of keys by
kid). A refused token prints the reason and its RFC 6750 error code, and
exits 1. A TOKEN argument that names an existing file is read from it.

flags:
  --keys FILE|URL  the issuer's public keys (required)
  --iss ISS        the issuer the token must name (default none: any)
  --aud AUD        the audience the token must name (default none: any)
  --device NAME    the device the token must be for (default none: any)
  --decryption-key FILE
                   the key of nested tokens (default none: their private
                   claims are not read)
  --json           print the result as JSON (default false)
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

flags:
  --key FILE       the signing key (required)
  --sub USER       the user (required)
  --device NAME    the device claim (default none)
  --ttl DURATION   the lifetime (default 1h)
  --iss ISS        the issuer (default https://issuer.example.test)
  --aud AUD        the audience (default none)
  --scope S        the scopes, space-separated (default none)
  --kid KID        the key id (default Unified CM's form: a UUID and the
                   key's fingerprint)
  --nested         Unified CM's nested shape (default false)
  --enc-key FILE   the key of the nested token's JWE (default none;
                   required with --nested)
  --enc-kid KID    the kid of that key (default its kid in the file)
  --refresh        a refresh token (default false)
  --client-id ID   the client id (default none)
  --json           print the result as JSON (default false)
`}
	cmdHeaderParse = &command{name: "header parse", usage: `usage: sipoauth header parse [--json] 'HEADER'|FILE|-

Parses a Bearer challenge (WWW-Authenticate, Proxy-Authenticate) or
credentials (Authorization, Proxy-Authorization), with or without the
header name, in Cisco's and RFC 8898's forms. The token is never printed
whole. An argument that names an existing file is read from the file.

flags:
  --json           print the result as JSON (default false)
`}
	cmdLogAnalyze = &command{name: "log analyze", usage: `usage: sipoauth log analyze [--json] FILE|-

Reads a soft client's log (Cisco Jabber's) and prints the timeline of the
registration and the diagnosis. A log file of any size is streamed in
bounded memory; a log on standard input is read up to 64 MiB.

flags:
  --json           print the result as JSON (default false)
`}
	cmdProbe = &command{name: "probe", usage: `usage: sipoauth probe [--ca FILE] [--cert FILE --key FILE] [--name SERVERNAME]
                      [--timeout 5s] [--device NAME] [--user USER] [--json] HOST:PORT

Connects to a registrar's SIP OAuth port over TLS, shows the certificate
chain it presents with its findings (verified against --ca, else the system
roots), explains a failed handshake, and sends one REGISTER without
credentials to show the answer: the Bearer challenge, or the port mismatch
with its causes. With --cert and --key the probe presents a client
certificate, as an edge proxy does on the MRA port (5091).

flags:
  --ca FILE        the CAs to verify the chain against, PEM or DER
                   (default the system roots)
  --cert FILE      a client certificate to present (default none)
  --key FILE       its private key (default none; goes with --cert)
  --name NAME      the TLS server name (default the HOST of HOST:PORT)
  --timeout D      the time for the whole probe (default 5s)
  --device NAME    the device of the REGISTER (default CSFprobe)
  --user USER      the user of the REGISTER (default probe)
  --json           print the result as JSON (default false)
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

Every command takes --json. "-" or no argument reads standard input (a
hint is printed when it is a terminal); a TOKEN or HEADER argument that
names an existing file is read from the file.
Exit status: 0 no error finding, 1 an error finding or a refused token,
2 a usage error or an input that cannot be read or parsed at all.
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
	if e.sawFlags != nil {
		e.sawFlags(c, fs)
	}
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
