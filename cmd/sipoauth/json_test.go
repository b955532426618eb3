package main

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/inspect"
	"github.com/sipoauth/sdk/issuer"
)

// TestJSONIsInspect: for the same input, --json prints what inspect.Check
// returns: the same findings (codes, severities, paths, messages, fixes)
// and, where nothing depends on the clock, the same bytes.
func TestJSONIsInspect(t *testing.T) {
	type input struct {
		name  string
		kind  inspect.Kind
		in    []byte
		args  []string // the command, its flags; the input goes last
		opts  inspect.Options
		exact bool // the whole JSON is compared
	}
	var inputs []input

	cnfs, _ := filepath.Glob(cnfData + "*.cnf.xml")
	if len(cnfs) < 8 {
		t.Fatalf("configuration files: %q", cnfs)
	}
	for _, f := range cnfs {
		inputs = append(inputs, input{name: filepath.Base(f), kind: inspect.KindCNF, in: mustRead(t, f), args: []string{"cnf", "check"}, exact: true})
		inputs = append(inputs, input{name: filepath.Base(f) + " mra", kind: inspect.KindCNF, in: mustRead(t, f), args: []string{"cnf", "targets", "--mra"}, opts: inspect.Options{Deployment: cnfxml.MRA}, exact: true})
	}
	certs := certFiles(t)
	for _, c := range []struct {
		file, role, host string
	}{
		{"node-good.pem", "node", "ucm-pub.example.com"},
		{"node-good.pem", "node", "other.example.com"},
		{"node-expired.pem", "node", ""},
		{"node-expiring.pem", "node", "ucm-pub.example.com"},
		{"node-wrong-eku.pem", "node", ""},
		{"edge-good.pem", "edge", "expc1.example.com"},
		{"edge-server-only.pem", "edge", ""},
		{"not-pem.pem", "node", ""},
	} {
		inputs = append(inputs, input{name: c.file + " " + c.role + " " + c.host, kind: inspect.KindCert, in: mustRead(t, certs[c.file]),
			args: []string{"cert", "check", "--role", c.role, "--name", c.host}, opts: inspect.Options{Role: c.role, Host: c.host}, exact: true})
	}
	l := newTokenLab(t)
	refresh, _ := l.issuer.MintRefresh("rado", "jabber")
	for name, tok := range map[string]string{
		"plain":   l.mint(t, issuer.TokenRequest{User: "rado", Device: "CSFrado", Scopes: []string{"sip:register"}}),
		"nested":  l.mint(t, issuer.TokenRequest{User: "rado", Device: "CSFrado", Nested: ptr(true)}),
		"expired": l.mint(t, issuer.TokenRequest{User: "rado", TTL: -2 * time.Hour}),
		"refresh": refresh,
		"garbage": "not-a-token",
	} {
		inputs = append(inputs, input{name: "token " + name, kind: inspect.KindToken, in: []byte(tok), args: []string{"token", "inspect"}})
	}
	for _, h := range []string{
		`Proxy-Authenticate: Bearer realm="ccmsipline"`,
		`WWW-Authenticate: Bearer realm="example.com", scope="sip:register", authz_server="https://as.example.com", error="insufficient_scope"`,
		`Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln`,
		`Proxy-Authorization: Bearer token="abc", realm="other"`,
		`Authorization: Digest username="rado"`,
		`Bearer realm=`,
	} {
		inputs = append(inputs, input{name: h, kind: inspect.KindHeader, in: []byte(h), args: []string{"header", "parse"}, exact: true})
	}
	inputs = append(inputs, input{name: "source log", kind: inspect.KindLog, in: mustRead(t, sourceLog), args: []string{"log", "analyze"}, exact: true})

	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			want, err := inspect.Check(in.kind, in.in, in.opts)
			if err != nil {
				t.Fatal(err)
			}
			wantCode := exitOK
			if want.Findings.HasErrors() {
				wantCode = exitFindings
			}
			if isUnreadable(want.Findings) {
				wantCode = exitUsage
			}
			args := append(append([]string{}, in.args...), "--json", "-")
			r := cli(t, string(in.in), args...).want(t, wantCode)
			if got := r.result(t); !reflect.DeepEqual(got.Findings, want.Findings) {
				t.Errorf("findings\n%+v\nwant\n%+v", got.Findings, want.Findings)
			}
			if in.exact {
				var b bytes.Buffer
				writeJSON(&b, want)
				if r.stdout != b.String() {
					t.Errorf("JSON\n%s\nwant\n%s", r.stdout, b.String())
				}
			}
		})
	}
}
