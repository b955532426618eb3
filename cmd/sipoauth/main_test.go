package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestHelpAndUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := cli(t, "", args...).want(t, exitOK)
		if r.stdout != usageText || r.stderr != "" {
			t.Errorf("%v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
	// Each command's -h prints its usage on standard output, exit 0.
	for _, c := range []*command{cmdCNFCheck, cmdCNFTargets, cmdCNFGen, cmdCertCheck, cmdTokenInspect,
		cmdTokenVerify, cmdTokenMint, cmdHeaderParse, cmdLogAnalyze, cmdProbe} {
		args := append(strings.Fields(c.name), "-h")
		if r := cli(t, "", args...).want(t, exitOK); r.stdout != c.usage || r.stderr != "" {
			t.Errorf("%v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
		help := append([]string{"help"}, strings.Fields(c.name)...)
		if r := cli(t, "", help...).want(t, exitOK); r.stdout != c.usage {
			t.Errorf("%v: stdout %q", help, r.stdout)
		}
	}
	if r := cli(t, "", "cnf", "-h").want(t, exitOK); !strings.HasPrefix(r.stdout, "sipoauth cnf: device configuration files\n\nusage: sipoauth cnf check") {
		t.Errorf("cnf -h: %q", r.stdout)
	}

	cases := []struct {
		args   []string
		stderr string
	}{
		{nil, usageText},
		{[]string{"frobnicate"}, "sipoauth: unknown command \"frobnicate\"\n\n" + usageText},
		{[]string{"help", "frobnicate"}, "sipoauth: no help for \"frobnicate\"\n\n" + usageText},
		{[]string{"cnf"}, "sipoauth cnf: missing subcommand\n\nsipoauth cnf: device configuration files\n\n" + cmdCNFCheck.usage + "\n" + cmdCNFTargets.usage + "\n" + cmdCNFGen.usage},
		{[]string{"token", "eat"}, "sipoauth token: unknown subcommand \"eat\"\n\nsipoauth token: bearer tokens\n\n" + cmdTokenInspect.usage + "\n" + cmdTokenVerify.usage + "\n" + cmdTokenMint.usage},
		{[]string{"cnf", "check", "--bogus", "x"}, "sipoauth cnf check: unknown flag --bogus\n\n" + cmdCNFCheck.usage},
		{[]string{"cnf", "check", "a", "b"}, "sipoauth cnf check: one file expected, got 2 arguments\n\n" + cmdCNFCheck.usage},
		{[]string{"cert", "check", "--role", "tomcat", cnfData + "CSFrado.cnf.xml"}, "sipoauth cert check: inspect: invalid option: role \"tomcat\": want node or edge\n\n" + cmdCertCheck.usage},
		{[]string{"token", "verify", "abc"}, "sipoauth token verify: --keys is required\n\n" + cmdTokenVerify.usage},
		{[]string{"token", "mint", "--sub", "rado"}, "sipoauth token mint: --key is required\n\n" + cmdTokenMint.usage},
		{[]string{"token", "mint", "--key", "k.pem", "--sub", "rado", "--nested"}, "sipoauth token mint: --nested needs --enc-key: the private claims are encrypted with it\n\n" + cmdTokenMint.usage},
		{[]string{"token", "mint", "--key", "k.pem", "--sub", "rado", "--ttl", "soon"}, "sipoauth token mint: --ttl: \"soon\" is not a duration, e.g. 1h\n\n" + cmdTokenMint.usage},
		{[]string{"probe"}, "sipoauth probe: one HOST:PORT expected, got 0 arguments\n\n" + cmdProbe.usage},
		{[]string{"probe", "localhost"}, "sipoauth probe: \"localhost\" is not HOST:PORT\n\n" + cmdProbe.usage},
		{[]string{"probe", "--cert", "c.pem", "127.0.0.1:5091"}, "sipoauth probe: --cert and --key go together\n\n" + cmdProbe.usage},
		{[]string{"header", "parse", "a", "b"}, "sipoauth header parse: one header expected, got 2 arguments\n\n" + cmdHeaderParse.usage},
	}
	for _, tc := range cases {
		r := cli(t, "", tc.args...).want(t, exitUsage)
		if r.stderr != tc.stderr || r.stdout != "" {
			t.Errorf("%v:\nstderr %q\nwant   %q\nstdout %q", tc.args, r.stderr, tc.stderr, r.stdout)
		}
	}
}

// TestUnreadableInput: a missing file, a directory and empty input are
// exit 2 with the reason, for every command that reads a file.
func TestUnreadableInput(t *testing.T) {
	for _, cmd := range [][]string{{"cnf", "check"}, {"cnf", "targets"}, {"cert", "check"}, {"log", "analyze"}} {
		name := strings.Join(cmd, " ")
		cli(t, "", append(cmd, "testdata/no-such-file")...).want(t, exitUsage).
			errContains(t, "sipoauth "+name+": open testdata/no-such-file: no such file or directory\n")
		cli(t, "", append(cmd, "testdata")...).want(t, exitUsage).
			errContains(t, "sipoauth "+name+": testdata is a directory\n")
		cli(t, " \n\t\n", append(cmd, "-")...).want(t, exitUsage).
			errContains(t, "sipoauth "+name+": standard input: inspect: empty input\n")
		cli(t, "", cmd...).want(t, exitUsage).
			errContains(t, "sipoauth "+name+": standard input: inspect: empty input\n")
	}
	cli(t, "\n", "token", "inspect").want(t, exitUsage).errContains(t, "sipoauth token inspect: standard input: empty input\n")
	cli(t, "", "token", "inspect", "  ").want(t, exitUsage).errContains(t, "sipoauth token inspect: token: empty input\n")
	cli(t, "", "header", "parse", "-").want(t, exitUsage).errContains(t, "sipoauth header parse: standard input: empty input\n")
	cli(t, "", "token", "verify", "--keys", "testdata/no-such-key.pem", "a.b.c").want(t, exitUsage).
		errContains(t, "sipoauth token verify: open testdata/no-such-key.pem: no such file or directory\n")
	cli(t, "", "token", "mint", "--key", "testdata/no-such-key.pem", "--sub", "rado").want(t, exitUsage).
		errContains(t, "sipoauth token mint: open testdata/no-such-key.pem: no such file or directory\n")
	cli(t, "", "probe", "--ca", "testdata/no-such-ca.pem", "127.0.0.1:5090").want(t, exitUsage).
		errContains(t, "sipoauth probe: open testdata/no-such-ca.pem: no such file or directory\n")
	// Over the limit of its kind (1 MiB), an input is refused unread.
	big := strings.Repeat("x", 1<<20+1)
	cli(t, big, "cnf", "check").want(t, exitUsage).
		errContains(t, "sipoauth cnf check: standard input: inspect: input larger than the limit: a cnf input may have at most 1048576 bytes\n")
}

// TestUsageListsEveryFlag walks every command's flag set: each flag is in
// the command's usage text, with its default when it has one.
func TestUsageListsEveryFlag(t *testing.T) {
	cmds := []*command{cmdProbe, cmdInit}
	for _, g := range groups {
		cmds = append(cmds, g.subs...)
	}
	for _, c := range cmds {
		var seen *flag.FlagSet
		e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, now: time.Now,
			sawFlags: func(_ *command, fs *flag.FlagSet) { seen = fs }}
		if code := e.dispatch(append(strings.Fields(c.name), "-h")); code != exitOK || seen == nil {
			t.Errorf("%s -h: exit %d, flag set seen %v", c.name, code, seen != nil)
			continue
		}
		n := 0
		seen.VisitAll(func(f *flag.Flag) {
			n++
			name := "--" + f.Name
			if len(f.Name) == 1 {
				name = "-" + f.Name
			}
			if !strings.Contains(c.usage, name+" ") && !strings.Contains(c.usage, name+"]") && !strings.Contains(c.usage, name+"\n") {
				t.Errorf("%s: usage lacks %s", c.name, name)
				return
			}
			if _, ok := f.Value.(flag.Getter); !ok {
				return // a repeated flag, empty at first
			}
			def := shortDuration(f.DefValue)
			if g, _ := f.Value.(flag.Getter); def == "" || def == "false" && g.Get() == false {
				return // empty, or a switch that is off unless given
			}
			// "(default 5s)" in the flags' list, or "[--timeout 5s]" in the
			// synopsis.
			if !strings.Contains(c.usage, "(default "+def) && !strings.Contains(c.usage, name+" "+def) {
				t.Errorf("%s: usage lacks the default of %s, %s", c.name, name, def)
			}
		})
		if n == 0 {
			t.Errorf("%s: no flags", c.name)
		}
	}
}
