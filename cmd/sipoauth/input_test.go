package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/issuer"
)

// TestInlineArgFile: a token or header argument that names an existing
// file is read from the file, the file winning over the text.
func TestInlineArgFile(t *testing.T) {
	l := newTokenLab(t)
	tok := l.mint(t, issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	p := write(t, t.TempDir(), "rado.tok", []byte(tok+"\n"))
	cli(t, "", "token", "inspect", p).want(t, exitOK).contains(t, "subject  rado", "device   CSFrado")
	cli(t, "", "token", "verify", "--keys", l.pub, p).want(t, exitOK).contains(t, "valid token", "user      rado")

	h := write(t, t.TempDir(), "challenge.txt", []byte(`Proxy-Authenticate: Bearer realm="ccmsipline"`+"\n"))
	cli(t, "", "header", "parse", h).want(t, exitOK).contains(t, "header  Proxy-Authenticate", "realm   ccmsipline")

	// A file named like a token is read as a file.
	dir := t.TempDir()
	t.Chdir(dir)
	write(t, dir, "a.b.c", []byte(tok))
	cli(t, "", "token", "inspect", "a.b.c").want(t, exitOK).contains(t, "subject  rado")
	// A directory is not a file: the argument stays the token.
	os.Mkdir(filepath.Join(dir, "x.y.z"), 0o700)
	cli(t, "", "token", "inspect", "x.y.z").want(t, exitUsage).contains(t, "error token-unreadable")
}

// TestStdinHint: a command reading a terminal says so on standard error;
// reading a pipe or a file it says nothing.
func TestStdinHint(t *testing.T) {
	l := newTokenLab(t)
	tok := l.mint(t, issuer.TokenRequest{User: "rado"})
	runTerm := func(term bool, stdin string, args ...string) (string, int) {
		var out, errOut bytes.Buffer
		e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, now: time.Now,
			stdinIsTerminal: func() bool { return term }}
		code := e.dispatch(args)
		return errOut.String(), code
	}
	hint := "reading from standard input; paste, then "
	for _, args := range [][]string{{"token", "inspect"}, {"token", "inspect", "-"}} {
		if stderr, code := runTerm(true, tok, args...); code != exitOK || !strings.HasPrefix(stderr, "sipoauth token inspect: "+hint) {
			t.Errorf("%v on a terminal: exit %d, stderr %q", args, code, stderr)
		}
		if stderr, _ := runTerm(false, tok, args...); stderr != "" {
			t.Errorf("%v on a pipe: stderr %q", args, stderr)
		}
	}
	if stderr, _ := runTerm(true, "", "cnf", "check"); !strings.HasPrefix(stderr, "sipoauth cnf check: "+hint) {
		t.Errorf("cnf check on a terminal: stderr %q", stderr)
	}
	if stderr, code := runTerm(true, "", "cnf", "check", cnfData+"CSFrado.cnf.xml"); code != exitOK || stderr != "" {
		t.Errorf("cnf check FILE: exit %d, stderr %q", code, stderr)
	}
	if isTerminal(strings.NewReader("")) {
		t.Error("a strings.Reader is a terminal")
	}
}

// TestFlagErrors: a flag's error names it as the usage does (--name) and
// says what it wants.
func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"token", "mint", "--key", "k.pem", "--sub", "rado", "--ttl", "banana"}, `--ttl: "banana" is not a duration, e.g. 1h`},
		{[]string{"probe", "--timeout", "soon", "127.0.0.1:5090"}, `--timeout: "soon" is not a duration, e.g. 5s`},
		{[]string{"cnf", "gen", "--user", "rado", "--node", "h", "--mode", "on"}, `--mode: "on" is not a whole number`},
		{[]string{"cnf", "check", "--json=maybe", "x"}, `--json: "maybe" is not true or false`},
		{[]string{"cnf", "gen", "--user", "rado", "--node", "[h"}, `--node: "[h": unclosed [: want host[:oauthPort[:mraPort]]`},
		{[]string{"cnf", "gen", "--user", "rado", "--node"}, `--node needs a value`},
		{[]string{"cert", "check", "--frob"}, `unknown flag --frob`},
	} {
		r := cli(t, "", tc.args...).want(t, exitUsage)
		first, _, _ := strings.Cut(r.stderr, "\n")
		if want := "sipoauth " + strings.Join(tc.args[:2], " ") + ": " + tc.msg; tc.args[0] == "probe" && first != "sipoauth probe: "+tc.msg || tc.args[0] != "probe" && first != want {
			t.Errorf("%v: %q, want %q", tc.args, first, tc.msg)
		}
		if strings.Contains(r.stderr, " -"+strings.TrimPrefix(strings.Fields(tc.msg)[0], "--")) {
			t.Errorf("%v: a flag spelt with one dash: %q", tc.args, first)
		}
	}
	for in, want := range map[string]string{"1h0m0s": "1h", "5s": "5s", "1h30m0s": "1h30m", "5m0s": "5m", "0s": "0s"} {
		if got := shortDuration(in); got != want {
			t.Errorf("shortDuration(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLogFileUnbounded: a log file of any size is analyzed; only a log
// pasted on standard input has a cap.
func TestLogFileUnbounded(t *testing.T) {
	saved := maxPastedLog
	maxPastedLog = 4 << 10
	t.Cleanup(func() { maxPastedLog = saved })
	log, err := os.ReadFile("testdata/jabber-register-5090.log")
	if err != nil {
		t.Fatal(err)
	}
	// Over the cap of a pasted log, and over inspect's default for a
	// reader (64 MiB) when padded: the padding is what a long log holds
	// between the records that matter.
	var b bytes.Buffer
	for b.Len() <= int(maxPastedLog) {
		b.WriteString("2020-03-30 13:03:18,000 DEBUG [0x00000e2c] [x(1)] [idle] [f] - nothing to see\n")
	}
	b.Write(log)
	p := write(t, t.TempDir(), "big.log", b.Bytes())
	cli(t, "", "log", "analyze", p).want(t, exitOK).contains(t, "info log-registered")
	cli(t, b.String(), "log", "analyze").want(t, exitUsage).
		errContains(t, "sipoauth log analyze: standard input: inspect: input larger than the limit: a log input may have at most 4096 bytes")
	cli(t, b.String(), "log", "analyze", "-").want(t, exitUsage)
}
