package main

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/inspect"
)

func TestCNFCheck(t *testing.T) {
	cases := []struct {
		file  string
		code  int
		codes []string
	}{
		{"CSFrado.cnf.xml", exitOK, []string{}},
		{"SEP00562BA1C2D3.cnf.xml", exitOK, []string{}},
		{"warn-oauth-with-digest.cnf.xml", exitFindings, []string{"warning too-many-nodes", "warning duplicate-priority", "warning oauth-port-missing",
			"warning legacy-port-name", "warning digest-with-oauth", "error encrypted-config-with-oauth", "error security-mode-not-encrypted"}},
		{"warn-port-conflict.cnf.xml", exitFindings, []string{"error port-conflict", "error oauth-port-range"}},
		{"bad-not-xml.cnf.xml", exitUsage, []string{"error cnf-unreadable"}},
		{"bad-port-not-a-number.cnf.xml", exitFindings, []string{"error bad-port", "error security-mode-not-encrypted"}},
		{"bad-root-not-device.cnf.xml", exitUsage, []string{"error cnf-unreadable"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r := cli(t, "", "cnf", "check", "--json", cnfData+tc.file).want(t, tc.code)
			if got := codes(r.result(t).Findings); !reflect.DeepEqual(got, tc.codes) {
				t.Errorf("findings %q, want %q", got, tc.codes)
			}
			// The flag may follow the file, and "-" reads standard input.
			b, _ := os.ReadFile(cnfData + tc.file)
			if s := cli(t, string(b), "cnf", "check", "-", "--json").want(t, tc.code); s.stdout != r.stdout {
				t.Errorf("from standard input:\n%s\nfrom the file:\n%s", s.stdout, r.stdout)
			}
		})
	}
}

func TestCNFCheckHuman(t *testing.T) {
	r := cli(t, "", "cnf", "check", cnfData+"CSFrado.cnf.xml").want(t, exitOK)
	if want := "device CSFrado: SIP OAuth mode 1 (enabled), security mode 3 (encrypted), user rado\nno findings\n"; r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = cli(t, "", "cnf", "check", cnfData+"warn-port-conflict.cnf.xml").want(t, exitFindings)
	res, _ := inspect.Check(inspect.KindCNF, mustRead(t, cnfData+"warn-port-conflict.cnf.xml"), inspect.Options{})
	f, g := res.Findings[0], res.Findings[1]
	want := "2 findings: 2 errors\n" + f.String() + "\n  fix: " + f.Fix + "\n" + g.String() + "\n  fix: " + g.Fix + "\n"
	if !strings.HasSuffix(r.stdout, want) {
		t.Errorf("stdout:\n%s\nwant suffix:\n%s", r.stdout, want)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCNFTargets(t *testing.T) {
	r := cli(t, "", "cnf", "targets", cnfData+"CSFrado.cnf.xml").want(t, exitOK)
	want := `device CSFrado: SIP OAuth mode 1 (enabled), security mode 3 (encrypted), user rado
on-premises targets, in the order a client tries them:
  PRIORITY  HOST        PORT  TRANSPORT  OAUTH  NODE
  0         10.10.10.1  5090  TLS        yes    ccm12pub
  1         10.10.10.2  5090  TLS        yes    ccm12sub
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = cli(t, "", "cnf", "targets", "--mra", cnfData+"CSFrado.cnf.xml").want(t, exitOK)
	want = `device CSFrado: SIP OAuth mode 1 (enabled), security mode 3 (encrypted), user rado
MRA (through the edge proxy) targets, in the order a client tries them:
  PRIORITY  HOST        PORT  TRANSPORT  OAUTH  NODE
  0         10.10.10.1  5091  TLS        yes    ccm12pub
  1         10.10.10.2  5091  TLS        yes    ccm12sub
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	res := cli(t, "", "cnf", "targets", "--json", "--mra", cnfData+"CSFrado.cnf.xml").want(t, exitOK).result(t)
	if res.Kind != inspect.KindCNF || len(res.CNF.MRA) != 2 || res.CNF.MRA[1] != (inspect.Target{Host: "10.10.10.2", Port: 5091, Transport: "TLS", OAuth: true, Priority: 1, ProcessNode: "ccm12sub"}) {
		t.Errorf("JSON: %+v", res.CNF)
	}
	// A bad port is reported with its path and value, and the rest of the
	// file is still read.
	cli(t, "", "cnf", "targets", cnfData+"bad-port-not-a-number.cnf.xml").want(t, exitFindings).
		contains(t, "10.10.10.1", `error bad-port /device/devicePool/callManagerGroup/members/member/callManager/ports/sipOAuthPort: "50x0" is not a port number`)
	// A file that does not parse has no targets: the finding says why.
	cli(t, "", "cnf", "targets", cnfData+"bad-unclosed.cnf.xml").want(t, exitUsage).contains(t, "error cnf-unreadable")
}

func TestCNFGen(t *testing.T) {
	dir := t.TempDir()
	out := dir + "/CSFrado.cnf.xml"
	r := cli(t, "", "cnf", "gen", "--user", "rado", "--node", "10.10.10.1", "--node", "ucm-sub.example.com:5190:5191", "-o", out).want(t, exitOK)
	if want := "wrote " + out + " (" + strconv.Itoa(len(mustRead(t, out))) + " bytes)\ndevice CSFrado: SIP OAuth mode 1 (enabled), security mode 3 (encrypted), user rado\nno findings\n"; r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	// The file written checks clean, and lists the nodes as given.
	cli(t, "", "cnf", "check", out).want(t, exitOK).contains(t, "no findings")
	r = cli(t, "", "cnf", "targets", out).want(t, exitOK)
	for _, row := range []string{
		"  0         10.10.10.1           5090  TLS        yes    10.10.10.1\n",
		"  1         ucm-sub.example.com  5190  TLS        yes    ucm-sub.example.com\n",
	} {
		if !strings.Contains(r.stdout, row) {
			t.Errorf("targets lack %q:\n%s", row, r.stdout)
		}
	}
	cli(t, "", "cnf", "targets", "--mra", out).want(t, exitOK).contains(t, "  1         ucm-sub.example.com  5191  TLS        yes")

	// Without -o the file goes to standard output.
	r = cli(t, "", "cnf", "gen", "--device", "CSFalice", "--node", "[2001:db8::1]:5090").want(t, exitOK)
	if !strings.HasPrefix(r.stdout, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<device ") || !strings.Contains(r.stdout, "<name>2001:db8::1</name>") || r.stderr != "" {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	cli(t, r.stdout, "cnf", "check").want(t, exitOK)

	// --json prints the check of the file written.
	res := cli(t, "", "cnf", "gen", "--user", "bob", "--mode", "0", "--node", "10.0.0.1", "-o", dir+"/b.xml", "--json").want(t, exitOK).result(t)
	if res.CNF.SIPOAuthMode != 0 || res.CNF.UserID != "bob" || len(res.Findings) != 0 || res.CNF.OnPremises[0].Port != 5061 {
		t.Errorf("JSON: %+v %+v", res.CNF, res.Findings)
	}

	// A port conflict is written, and reported on standard error.
	r = cli(t, "", "cnf", "gen", "--user", "rado", "--node", "10.10.10.1:5060").want(t, exitFindings)
	if !strings.HasPrefix(r.stderr, "1 finding: 1 error\nerror port-conflict ") {
		t.Errorf("stderr:\n%s", r.stderr)
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--user", "rado"}, "at least one --node is required"},
		{[]string{"--node", "h"}, "--device or --user is required"},
		{[]string{"--user", "rado", "--node", "h", "--mode", "2"}, "--mode is 0 (disabled) or 1 (enabled), not 2"},
		{[]string{"--user", "rado", "--node", "h:abc"}, `--node: "h:abc": port "abc" is not a number in 1-65535: want host[:oauthPort[:mraPort]]`},
		{[]string{"--user", "rado", "--node", "h:1:2:3"}, `--node: "h:1:2:3": want host[:oauthPort[:mraPort]]`},
		{[]string{"--user", "rado", "--node", "a", "--node", "b", "--node", "c", "--node", "d"}, "at most 3 --node: clients read ccm0..ccm2"},
		{[]string{"--user", "rado", "--node", "h", "--json"}, "--json needs -o FILE: standard output carries the JSON"},
		{[]string{"--device", "CSF/x", "--node", "h"}, `"CSF/x" is not a device name (1-64 letters, digits, '-', '_', '.')`},
		{[]string{"--user", "rado", "--node", "h", "extra"}, `unexpected argument "extra"`},
	} {
		r := cli(t, "", append([]string{"cnf", "gen"}, tc.args...)...).want(t, exitUsage)
		if want := "sipoauth cnf gen: " + tc.msg + "\n\n" + cmdCNFGen.usage; r.stderr != want {
			t.Errorf("%v: stderr\n%s\nwant\n%s", tc.args, r.stderr, want)
		}
	}
}

func TestParseNode(t *testing.T) {
	cm, err := parseNode("[2001:db8::1]:5190:5191")
	if err != nil || cm.Name != "2001:db8::1" || cm.Ports.SIPOAuth != 5190 || cm.Ports.SIPMRAOAuth != 5191 || cm.Ports.SIP != 5060 {
		t.Fatalf("%+v %v", cm, err)
	}
	cm, err = parseNode("ucm.example.com")
	if err != nil || cm.Name != "ucm.example.com" || cm.ProcessNodeName != "ucm.example.com" || cm.Ports.SIPOAuth != 5090 || cm.Ports.SIPMRAOAuth != 5091 {
		t.Fatalf("%+v %v", cm, err)
	}
	for _, bad := range []string{"", ":5090", "h:", "h:0", "h:65536", "h:+5", "[::1", "[::1]x", "h/x", "h:5090:"} {
		if _, err := parseNode(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseNode(f *testing.F) {
	for _, s := range []string{"10.10.10.1", "h:5090", "h:5190:5191", "[2001:db8::1]:5090:5091", "[::1", "h:1:2:3", "h:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cm, err := parseNode(s)
		if err != nil {
			return
		}
		if !validHost(cm.Name) || cm.Ports.SIPOAuth < 1 || cm.Ports.SIPOAuth > 65535 || cm.Ports.SIPMRAOAuth < 1 || cm.Ports.SIPMRAOAuth > 65535 {
			t.Fatalf("%q: accepted %+v", s, cm)
		}
	})
}
