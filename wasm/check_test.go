package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/inspect"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		in   string
		want inspect.Options
	}{
		{"", inspect.Options{}},
		{"  null ", inspect.Options{}},
		{"{}", inspect.Options{}},
		{`{"role":"edge","host":" expc.example.com ","side":"node"}`, inspect.Options{Role: "edge", Host: "expc.example.com", Side: "node"}},
		{`{"now":"2026-03-30T13:03:18Z","deployment":"mra"}`, inspect.Options{Now: time.Date(2026, 3, 30, 13, 3, 18, 0, time.UTC), Deployment: cnfxml.MRA}},
		{`{"now":"2026-03-30T13:03:18.500Z","deployment":"on-premises","role":"node"}`, inspect.Options{Now: time.Date(2026, 3, 30, 13, 3, 18, 5e8, time.UTC), Deployment: cnfxml.OnPremises, Role: "node"}},
	}
	for _, tt := range tests {
		got, err := parseOptions(tt.in)
		if err != nil {
			t.Errorf("parseOptions(%q): %v", tt.in, err)
			continue
		}
		if !got.Now.Equal(tt.want.Now) || got.Role != tt.want.Role || got.Host != tt.want.Host || got.Side != tt.want.Side || got.Deployment != tt.want.Deployment {
			t.Errorf("parseOptions(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseOptionsErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[]`, "wasm: bad options: json: cannot unmarshal array into Go value of type main.pageOptions"},
		{`{"role":"proxy"}`, `wasm: bad options: role "proxy" is neither node nor edge`},
		{`{"side":"proxy"}`, `wasm: bad options: side "proxy" is not node, edge or client`},
		{`{"deployment":"remote"}`, `wasm: bad options: deployment "remote" is neither on-premises nor mra`},
		{`{"now":"yesterday"}`, `wasm: bad options: now "yesterday" is not an RFC 3339 time`},
		{`{"host":"a"} {}`, "wasm: bad options: text after the JSON object"},
		{`{"hots":"a"}`, `wasm: bad options: json: unknown field "hots"`},
		{`{"role":`, "wasm: bad options: unexpected EOF"},
		{`{"host":"` + strings.Repeat("a", MaxOptions) + `"}`, "wasm: bad options: longer than 4096 bytes"},
	}
	for _, tt := range tests {
		_, err := parseOptions(tt.in)
		if err == nil || err.Error() != tt.want || !errors.Is(err, ErrBadOptions) {
			t.Errorf("parseOptions(%.40q) = %v, want %s", tt.in, err, tt.want)
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]inspect.Kind{
		"": "", "auto": "", " AUTO ": "", "cnf": inspect.KindCNF, "Cert": inspect.KindCert,
		"token": inspect.KindToken, "header": inspect.KindHeader, "response": inspect.KindResponse,
		"tls": inspect.KindTLS, "log": inspect.KindLog,
	} {
		if got, err := parseKind(in); err != nil || got != want {
			t.Errorf("parseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"xml", "pem", "cnf.xml", "logs"} {
		_, err := parseKind(in)
		if want := `wasm: unknown kind "` + in + `"`; err == nil || err.Error() != want || !errors.Is(err, ErrUnknownKind) {
			t.Errorf("parseKind(%q) = %v, want %s", in, err, want)
		}
	}
}

// check answers the page with {"error": ...} when it cannot check.
func TestCheckErrors(t *testing.T) {
	tests := []struct{ kind, text, options, want string }{
		{"xml", "<device/>", "", `{"error":"wasm: unknown kind \"xml\""}`},
		{"cnf", "<device/>", `{"role":"proxy"}`, `{"error":"wasm: bad options: role \"proxy\" is neither node nor edge"}`},
		{"cnf", strings.Repeat(" ", MaxInput+1), "", `{"error":"wasm: input larger than 33554432 bytes"}`},
		{"cnf", "", "", `{"error":"` + inspect.ErrEmpty.Error() + `"}`},
		{"", "", "", `{"error":"` + inspect.ErrEmpty.Error() + `"}`},
		{"", "<a & b>", "", `{"error":"` + inspect.ErrUnknownKind.Error() + `"}`},
	}
	for _, tt := range tests {
		if got := check(tt.kind, tt.text, tt.options); got != tt.want {
			t.Errorf("check(%q, %.20q, %q) = %s, want %s", tt.kind, tt.text, tt.options, got, tt.want)
		}
	}
}

// check returns inspect's result as JSON, the same as the library's.
func TestCheckMatchesLibrary(t *testing.T) {
	const cnf = `<?xml version="1.0" encoding="UTF-8"?>
<device  xsi:type="axl:XIPPhone">
<devicePool><callManagerGroup><members>
<member  priority="0"><callManager><name>10.10.10.1</name><ports><sipOAuthPort>80</sipOAuthPort><sipMRAOAuthPort>5091</sipMRAOAuthPort></ports></callManager></member>
</members></callManagerGroup></devicePool>
<deviceSecurityMode>3</deviceSecurityMode>
<sipOAuthMode>1</sipOAuthMode>
</device>`
	now := time.Date(2026, 3, 30, 13, 3, 18, 0, time.UTC)
	for _, kind := range []string{"cnf", ""} {
		got := check(kind, cnf, `{"now":"2026-03-30T13:03:18Z"}`)
		res, err := inspect.Check(inspect.KindCNF, []byte(cnf), inspect.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(res)
		if got != string(want) {
			t.Errorf("check(%q) = %s\nwant %s", kind, got, want)
		}
		if !strings.Contains(got, `"code":"oauth-port-range"`) {
			t.Errorf("check(%q) = %s, want an oauth-port-range finding", kind, got)
		}
	}
	if got := detect(cnf); got != "cnf" {
		t.Errorf("detect = %q, want cnf", got)
	}
	if got := detect("<a & b>"); got != "" {
		t.Errorf("detect of nothing known = %q, want empty", got)
	}
}

func TestVersionString(t *testing.T) {
	// A test binary carries build information: its module and Go release.
	if got := versionString(); !strings.HasPrefix(got, "(devel) go1.") {
		t.Errorf("versionString() = %q, want (devel) go1.…", got)
	}
}

// check never panics and always returns a JSON object: a result with
// findings, or an error.
func FuzzCheck(f *testing.F) {
	f.Add("cnf", "<device><sipOAuthMode>1</sipOAuthMode></device>", "")
	f.Add("", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", `{"role":"edge","host":"x"}`)
	f.Add("token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0.c2ln", `{"now":"2026-01-01T00:00:00Z"}`)
	f.Add("header", `Proxy-Authenticate: Bearer realm="ccmsipline"`, "")
	f.Add("response", "SIP/2.0 403 Forbidden\r\nWarning: 399 UCM2-PUB \"SIP OAuth Registration port Mismatch\"\r\n", "")
	f.Add("tls", "remote error: tls: unknown certificate authority", `{"side":"edge"}`)
	f.Add("log", "sipio-recv<--- SIP/2.0 200 OK Expires: 120", `{"deployment":"mra"}`)
	f.Add("bogus", "", `{"now":1}`)
	f.Fuzz(func(t *testing.T, kind, text, options string) {
		out := check(kind, text, options)
		var v struct {
			Kind     string          `json:"kind"`
			Findings json.RawMessage `json:"findings"`
			Error    *string         `json:"error"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("check(%q, %q, %q) = %q: %v", kind, text, options, out, err)
		}
		if (v.Error == nil) == (v.Kind == "") {
			t.Fatalf("check(%q, %q, %q) = %s: want either a kind or an error", kind, text, options, out)
		}
		if v.Error != nil && strings.Contains(*v.Error, "internal error") {
			t.Fatalf("check(%q, %q, %q) panicked: %s", kind, text, options, *v.Error)
		}
	})
}

// parseOptions reads any text without panicking, and what it accepts it
// reads the same way twice.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{"", "{}", `{"role":"edge","host":"h","side":"node","deployment":"mra","now":"2026-03-30T13:03:18+02:00"}`, `{"now":""}`, `[`, `{"role":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseOptions(s)
		if err != nil {
			if !errors.Is(err, ErrBadOptions) {
				t.Fatalf("parseOptions(%q): %v does not wrap ErrBadOptions", s, err)
			}
			return
		}
		b, err := parseOptions(s)
		if err != nil || !a.Now.Equal(b.Now) || a.Role != b.Role || a.Side != b.Side || a.Host != b.Host || a.Deployment != b.Deployment {
			t.Fatalf("parseOptions(%q) differs between two calls: %+v, %+v, %v", s, a, b, err)
		}
		if a.Role != "" && a.Role != "node" && a.Role != "edge" {
			t.Fatalf("parseOptions(%q) accepted role %q", s, a.Role)
		}
	})
}
