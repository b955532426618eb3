package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/sipoauth/sdk/clientlog"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/inspect"
)

// check runs inspect.Check; an input it cannot use is reported as such.
func (e *env) check(c *command, kind inspect.Kind, input []byte, opts inspect.Options) (inspect.Result, int, bool) {
	res, err := inspect.Check(kind, input, opts)
	if err != nil {
		return res, e.checkError(c, "", err), false
	}
	return res, 0, true
}

// checkError reports an error of inspect: an option it refuses is a usage
// error, anything else an input that cannot be used.
func (e *env) checkError(c *command, label string, err error) int {
	if errors.Is(err, inspect.ErrBadOption) {
		return e.usageError(c, "%v", err)
	}
	if label != "" {
		err = fmt.Errorf("%s: %w", label, err)
	}
	return e.inputError(c, err)
}

// checkPositional parses c's flags, opens its one FILE|- argument and
// checks it as kind with inspect.CheckReader, which streams a log and
// reads other inputs up to their limit.
func (e *env) checkPositional(c *command, fs *flag.FlagSet, args []string, kind inspect.Kind, opts func() inspect.Options) (inspect.Result, string, int, bool) {
	pos, st, ok := e.parse(c, fs, args)
	if !ok {
		return inspect.Result{}, "", st, false
	}
	name, st, ok := e.onePositional(c, pos, "file")
	if !ok {
		return inspect.Result{}, "", st, false
	}
	rc, label, err := e.open(c, name)
	if err != nil {
		return inspect.Result{}, "", e.inputError(c, err), false
	}
	defer rc.Close()
	o := opts()
	if kind == inspect.KindLog {
		// A log file is streamed in bounded memory whatever its size; what
		// is pasted on standard input keeps a cap.
		o.MaxLogSize = math.MaxInt64
		if name == "-" {
			o.MaxLogSize = maxPastedLog
		}
	}
	res, err := inspect.CheckReader(kind, rc, o)
	if err != nil {
		return res, "", e.checkError(c, label, err), false
	}
	return res, name, 0, true
}

// report prints res as JSON, or calls human, and returns the exit status:
// exitUsage for an input that could not be parsed at all, as for one that
// could not be read.
func (e *env) report(asJSON bool, res inspect.Result, human func(w io.Writer)) int {
	if asJSON {
		writeJSON(e.stdout, res)
	} else {
		human(e.stdout)
	}
	if isUnreadable(res.Findings) {
		return exitUsage
	}
	return status(res.Findings)
}

func (e *env) cnfCheck(args []string) int {
	c := cmdCNFCheck
	fs, asJSON := c.flags()
	res, name, st, ok := e.checkPositional(c, fs, args, inspect.KindCNF, func() inspect.Options { return inspect.Options{} })
	if !ok {
		return st
	}
	return e.report(*asJSON, res, func(w io.Writer) {
		if res.CNF != nil {
			fmt.Fprintln(w, describeCNF(res.CNF, name))
		}
		printFindings(w, res.Findings)
	})
}

// describeCNF says what a configuration file is, on one line.
func describeCNF(v *inspect.CNFView, name string) string {
	var b strings.Builder
	device := v.DeviceName
	if device == "" && name != "-" {
		base := name[strings.LastIndexAny(name, `/\`)+1:]
		device = strings.TrimSuffix(base, cnfxml.Suffix)
	}
	if device != "" {
		b.WriteString("device " + device + ": ")
	}
	mode := "disabled"
	switch v.SIPOAuthMode {
	case 0:
	case 1:
		mode = "enabled"
	default:
		mode = "invalid"
	}
	fmt.Fprintf(&b, "SIP OAuth mode %d (%s), security mode %d (%s)", v.SIPOAuthMode, mode, v.SecurityMode, cnfxml.SecurityMode(v.SecurityMode))
	if v.UserID != "" {
		b.WriteString(", user " + v.UserID)
	}
	return b.String()
}

func (e *env) cnfTargets(args []string) int {
	c := cmdCNFTargets
	fs, asJSON := c.flags()
	mra := fs.Bool("mra", false, "")
	res, name, st, ok := e.checkPositional(c, fs, args, inspect.KindCNF, func() inspect.Options {
		opts := inspect.Options{Deployment: cnfxml.OnPremises}
		if *mra {
			opts.Deployment = cnfxml.MRA
		}
		return opts
	})
	if !ok {
		return st
	}
	return e.report(*asJSON, res, func(w io.Writer) {
		if res.CNF == nil {
			printFindings(w, res.Findings)
			return
		}
		fmt.Fprintln(w, describeCNF(res.CNF, name))
		targets, where := res.CNF.OnPremises, "on-premises"
		if *mra {
			targets, where = res.CNF.MRA, "MRA (through the edge proxy)"
		}
		if len(targets) == 0 {
			fmt.Fprintf(w, "no %s targets\n", where)
		} else {
			fmt.Fprintf(w, "%s targets, in the order a client tries them:\n", where)
			printTargets(w, targets)
		}
		if len(res.Findings) > 0 {
			printFindings(w, res.Findings)
		}
	})
}

// printTargets prints targets as a table.
func printTargets(w io.Writer, targets []inspect.Target) {
	t := newTable(w, "  ", "PRIORITY", "HOST", "PORT", "TRANSPORT", "OAUTH", "NODE")
	for _, tg := range targets {
		port := strconv.Itoa(tg.Port)
		if tg.DefaultPort {
			port += " (default)"
		}
		t.row("  ", strconv.Itoa(tg.Priority), tg.Host, port, tg.Transport, yesNo(tg.OAuth), tg.ProcessNode)
	}
	t.flush()
}

// nodeList is the repeated --node flag.
type nodeList []cnfxml.CallManager

func (n *nodeList) String() string { return fmt.Sprint(len(*n), " nodes") }

func (n *nodeList) Set(s string) error {
	cm, err := parseNode(s)
	if err != nil {
		return err
	}
	cm.Priority = len(*n)
	*n = append(*n, cm)
	return nil
}

// errNodeSyntax is the error of a --node value that is not
// host[:oauthPort[:mraPort]].
var errNodeSyntax = errors.New("want host[:oauthPort[:mraPort]]")

// parseNode reads host[:oauthPort[:mraPort]] (an IPv6 host in brackets)
// into a call manager with the default ports for those not given.
func parseNode(s string) (cnfxml.CallManager, error) {
	cm := cnfxml.CallManager{Ports: cnfxml.Ports{
		EthernetPhone: cnfxml.DefaultEthernetPhonePort,
		SIP:           cnfxml.DefaultSIPPort,
		SecuredSIP:    cnfxml.DefaultSecuredSIPPort,
		SIPOAuth:      cnfxml.DefaultSIPOAuthPort,
		SIPMRAOAuth:   cnfxml.DefaultSIPMRAOAuthPort,
	}}
	var host, rest string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return cm, fmt.Errorf("%q: unclosed [: %w", s, errNodeSyntax)
		}
		host, rest = s[1:end], s[end+1:]
		if rest != "" && rest[0] != ':' {
			return cm, fmt.Errorf("%q: %w", s, errNodeSyntax)
		}
	} else {
		host, rest, _ = strings.Cut(s, ":")
		if rest != "" || strings.HasSuffix(s, ":") {
			rest = ":" + rest
		}
	}
	if !validHost(host) {
		return cm, fmt.Errorf("%q: bad host %q: %w", s, host, errNodeSyntax)
	}
	cm.Name, cm.ProcessNodeName = host, host
	if rest == "" {
		return cm, nil
	}
	ports := strings.Split(rest[1:], ":")
	if len(ports) > 2 {
		return cm, fmt.Errorf("%q: %w", s, errNodeSyntax)
	}
	for i, p := range ports {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p[0] == '+' {
			return cm, fmt.Errorf("%q: port %q is not a number in 1-65535: %w", s, p, errNodeSyntax)
		}
		if i == 0 {
			cm.Ports.SIPOAuth = n
		} else {
			cm.Ports.SIPMRAOAuth = n
		}
	}
	return cm, nil
}

// validHost accepts host names and addresses: letters, digits, '.', '-',
// '_' and, for IPv6, ':', at most 253 bytes.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':') {
			return false
		}
	}
	return true
}

func (e *env) cnfGen(args []string) int {
	c := cmdCNFGen
	fs, asJSON := c.flags()
	device := fs.String("device", "", "")
	user := fs.String("user", "", "")
	mode := fs.Int("mode", 1, "")
	out := fs.String("o", "", "")
	var nodes nodeList
	fs.Var(&nodes, "node", "")
	if st, ok := e.parseNoArgs(c, fs, args); !ok {
		return st
	}
	switch {
	case len(nodes) == 0:
		return e.usageError(c, "at least one --node is required")
	case len(nodes) > cnfxml.MaxCallManagers:
		return e.usageError(c, "at most %d --node: clients read ccm0..ccm2", cnfxml.MaxCallManagers)
	case *mode != 0 && *mode != 1:
		return e.usageError(c, "--mode is 0 (disabled) or 1 (enabled), not %d", *mode)
	case *device == "" && *user == "":
		return e.usageError(c, "--device or --user is required")
	case *asJSON && *out == "":
		return e.usageError(c, "--json needs -o FILE: standard output carries the JSON")
	}
	if *device == "" {
		*device = "CSF" + *user
	}
	if !cnfxml.ValidDeviceName(*device) {
		return e.usageError(c, "%q is not a device name (1-64 letters, digits, '-', '_', '.')", *device)
	}
	cfg := cnfxml.NewCSF(*device)
	cfg.SIPOAuthMode = *mode
	cfg.UserID, cfg.OwnerID = *user, *user
	cfg.CallManagers = nodes
	b := cfg.Bytes()
	res, st, ok := e.check(c, inspect.KindCNF, b, inspect.Options{})
	if !ok {
		return st
	}
	if *out == "" {
		e.stdout.Write(b)
		if len(res.Findings) > 0 {
			printFindings(e.stderr, res.Findings)
		}
		return status(res.Findings)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintf(e.stderr, "sipoauth %s: %v\n", c.name, err)
		return exitUsage
	}
	return e.report(*asJSON, res, func(w io.Writer) {
		fmt.Fprintf(w, "wrote %s (%d bytes)\n", *out, len(b))
		fmt.Fprintln(w, describeCNF(res.CNF, *out))
		printFindings(w, res.Findings)
	})
}

func (e *env) certCheck(args []string) int {
	c := cmdCertCheck
	fs, asJSON := c.flags()
	role := fs.String("role", "node", "")
	host := fs.String("name", "", "")
	res, _, st, ok := e.checkPositional(c, fs, args, inspect.KindCert, func() inspect.Options {
		return inspect.Options{Role: *role, Host: *host}
	})
	if !ok {
		return st
	}
	return e.report(*asJSON, res, func(w io.Writer) {
		printCerts(w, res.Certs)
		printFindings(w, res.Findings)
	})
}

// printCerts prints each certificate of a chain.
func printCerts(w io.Writer, certs []inspect.CertView) {
	for i, v := range certs {
		fmt.Fprintf(w, "certificate %d of %d: %s\n", i+1, len(certs), v.Subject)
		key := v.KeyAlgorithm
		if v.KeyBits > 0 {
			key += " " + strconv.Itoa(v.KeyBits) + " bits"
		}
		fields(w, "  ",
			"issuer", v.Issuer,
			"serial", v.Serial,
			"valid", v.NotBefore.UTC().Format("2006-01-02 15:04:05")+" to "+v.NotAfter.UTC().Format("2006-01-02 15:04:05 UTC"),
			"names", strings.Join(append(append([]string(nil), v.DNSNames...), v.IPAddresses...), ", "),
			"key", key,
			"signature", v.SignatureAlgorithm,
			"usage", strings.Join(v.ExtKeyUsage, ", "),
			"CA", yesNo(v.IsCA),
		)
	}
}

func (e *env) tokenInspect(args []string) int {
	c := cmdTokenInspect
	fs, asJSON := c.flags()
	pos, st, ok := e.parse(c, fs, args)
	if !ok {
		return st
	}
	tok, st, ok := e.tokenArg(c, pos)
	if !ok {
		return st
	}
	res, st, ok := e.check(c, inspect.KindToken, []byte(tok), inspect.Options{Now: e.now()})
	if !ok {
		return st
	}
	return e.report(*asJSON, res, func(w io.Writer) {
		if v := res.Token; v != nil {
			printToken(w, v)
		}
		printFindings(w, res.Findings)
	})
}

// inlineArg returns the one argument, which is the input itself (a
// token, a header), or standard input for "-" or none. An argument that
// names an existing file is read from that file: the file wins over a
// token or header of the same text.
func (e *env) inlineArg(c *command, pos []string, what string) (string, int, bool) {
	arg, st, ok := e.onePositional(c, pos, what)
	if !ok || arg != "-" && !isFile(arg) {
		return arg, st, ok
	}
	b, err := e.readInput(c, arg, maxInput)
	if err != nil {
		return "", e.inputError(c, err), false
	}
	return string(b), 0, true
}

// tokenArg returns the token given as the argument, or read from
// standard input for "-" or none.
func (e *env) tokenArg(c *command, pos []string) (string, int, bool) {
	arg, st, ok := e.inlineArg(c, pos, "token")
	if !ok {
		return "", st, false
	}
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return "", e.inputError(c, fmt.Errorf("token: %w", errEmptyInput)), false
	}
	return arg, 0, true
}

// printToken prints a decoded token.
func printToken(w io.Writer, v *inspect.TokenView) {
	shape := v.Shape
	switch v.Shape {
	case "jws":
		shape += " (a signed JWT)"
	case "nested":
		shape += " (Unified CM: a JWS whose private claim is an encrypted JWE)"
	case "jwe":
		shape += " (encrypted)"
	}
	const layout = "2006-01-02 15:04:05 UTC"
	var issued, expires string
	if v.IssuedAt != nil {
		issued = v.IssuedAt.UTC().Format(layout)
	}
	if v.ExpiresAt != nil {
		expires = v.ExpiresAt.UTC().Format(layout)
		switch {
		case v.Expired && v.ExpiresIn != "":
			expires += " (expired " + strings.TrimPrefix(v.ExpiresIn, "-") + " ago)"
		case v.Expired:
			expires += " (expired)"
		case v.ExpiresIn != "":
			expires += " (in " + v.ExpiresIn + ")"
		}
	}
	fields(w, "",
		"shape", shape,
		"use", v.Use,
		"header", compactJSON(v.Header),
		"encrypted", compactJSON(v.EncryptedHeader),
		"issuer", v.Issuer,
		"subject", v.Subject,
		"device", v.Device,
		"scope", v.Scope,
		"issued", issued,
		"expires", expires,
	)
	if len(v.Claims) > 0 {
		fmt.Fprintln(w, "claims:")
		keys := make([]string, 0, len(v.Claims))
		for k := range v.Claims {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t := newTable(w, "  ")
		for _, k := range keys {
			t.row("  ", k, compactJSON(v.Claims[k]))
		}
		t.flush()
	}
}

// compactJSON returns v as one line of JSON, keys sorted.
func compactJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if string(b) == "null" {
		return ""
	}
	return string(b)
}

func (e *env) headerParse(args []string) int {
	c := cmdHeaderParse
	fs, asJSON := c.flags()
	pos, st, ok := e.parse(c, fs, args)
	if !ok {
		return st
	}
	arg, st, ok := e.inlineArg(c, pos, "header")
	if !ok {
		return st
	}
	res, st, ok := e.check(c, inspect.KindHeader, []byte(arg), inspect.Options{})
	if !ok {
		return st
	}
	return e.report(*asJSON, res, func(w io.Writer) {
		if v := res.Header; v != nil {
			printHeader(w, v)
		}
		printFindings(w, res.Findings)
	})
}

// printHeader prints a decoded Bearer header.
func printHeader(w io.Writer, v *inspect.HeaderView) {
	what := "Bearer " + v.Type
	if v.Scheme != "" {
		// The scheme first: the rest of the view is Bearer's.
		what = v.Scheme + " " + v.Type + ": not a Bearer header"
		if v.Type == "" {
			what = v.Scheme + ": not a Bearer header"
		}
	}
	if v.Form != "" {
		what += ", " + v.Form + " form"
	}
	var params []string
	for k, val := range v.Params {
		params = append(params, k+"="+strconv.Quote(val))
	}
	sort.Strings(params)
	fields(w, "",
		"header", v.Name,
		"type", what,
		"realm", v.Realm,
		"token", v.Token,
		"error", v.Error,
		"params", strings.Join(params, ", "),
	)
}

func (e *env) logAnalyze(args []string) int {
	c := cmdLogAnalyze
	fs, asJSON := c.flags()
	// The log is streamed: its analysis keeps memory bounded whatever its
	// size.
	res, _, st, ok := e.checkPositional(c, fs, args, inspect.KindLog, func() inspect.Options { return inspect.Options{} })
	if !ok {
		return st
	}
	rep := res.Log
	if rep == nil {
		rep = &clientlog.Report{}
	}
	return e.report(*asJSON, res, func(w io.Writer) {
		printTimeline(w, rep)
		printFindings(w, res.Findings)
	})
}

// printTimeline prints a log's timeline, one event a line.
func printTimeline(w io.Writer, rep *clientlog.Report) {
	fmt.Fprintf(w, "%s, %s read; timeline of %s:\n", plural(rep.Lines, "line"), plural(int(rep.Bytes), "byte"), plural(len(rep.Timeline), "event"))
	t := newTable(w, "  ", "LINE", "TIME", "EVENT", "WHAT")
	for _, ev := range rep.Timeline {
		at := ""
		if !ev.Time.IsZero() {
			at = ev.Time.Format("15:04:05.000")
		}
		t.row("  ", strconv.Itoa(ev.Line), at, string(ev.Kind), ev.Text)
	}
	t.flush()
	if rep.Dropped > 0 {
		fmt.Fprintf(w, "  … and %s not kept\n", plural(rep.Dropped, "more event"))
	}
}
