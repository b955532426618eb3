package main

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/inspect"
	"github.com/sipoauth/sdk/issuer"
)

func TestHeaderParse(t *testing.T) {
	cases := []struct {
		in    string
		code  int
		codes []string
		view  inspect.HeaderView
	}{
		{`Proxy-Authenticate: Bearer realm="ccmsipline"`, exitOK, []string{"info challenge"},
			inspect.HeaderView{Name: "Proxy-Authenticate", Type: "challenge", Realm: "ccmsipline"}},
		{`WWW-Authenticate: Bearer realm="ccmsipline", error="invalid_token"`, exitFindings, []string{"error header-invalid-token"},
			inspect.HeaderView{Name: "WWW-Authenticate", Type: "challenge", Realm: "ccmsipline", Error: "invalid_token"}},
		{`Proxy-Authorization: Digest username="rado"`, exitFindings, []string{"error header-not-bearer"},
			inspect.HeaderView{Name: "Proxy-Authorization", Type: "credentials"}},
		{`Proxy-Authorization: Bearer token="abc`, exitUsage, []string{"error header-unreadable"},
			inspect.HeaderView{Name: "Proxy-Authorization", Type: "credentials"}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			r := cli(t, "", "header", "parse", "--json", tc.in).want(t, tc.code)
			res := r.result(t)
			if got := codes(res.Findings); !reflect.DeepEqual(got, tc.codes) {
				t.Errorf("findings %q, want %q", got, tc.codes)
			}
			if res.Header == nil || res.Header.Name != tc.view.Name || res.Header.Type != tc.view.Type || res.Header.Realm != tc.view.Realm || res.Header.Error != tc.view.Error {
				t.Errorf("view %+v, want %+v", res.Header, tc.view)
			}
			// The same from standard input.
			if s := cli(t, tc.in+"\n", "header", "parse", "--json").want(t, tc.code); !reflect.DeepEqual(s.result(t).Findings, res.Findings) {
				t.Errorf("from standard input: %s", s.stdout)
			}
		})
	}
	tok := newTokenLab(t).mint(t, issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	r := cli(t, "", "header", "parse", `Proxy-Authorization: Bearer token="`+tok+`"`).want(t, exitOK)
	if strings.Contains(r.stdout, tok) {
		t.Errorf("the whole token is printed:\n%s", r.stdout)
	}
	for _, want := range []string{"header  Proxy-Authorization\n", "type    Bearer credentials, cisco form\n", "token   " + tok[:12] + "…(" + strconv.Itoa(len(tok)) + " bytes)\n",
		"1 finding: 1 info\ninfo header-form Proxy-Authorization: credentials in Cisco's form"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

// sourceLog is the Jabber log of the source document: a registration on
// port 5090, 407 then 200.
const sourceLog = "testdata/jabber-register-5090.log"

func TestLogAnalyze(t *testing.T) {
	res := cli(t, "", "log", "analyze", "--json", sourceLog).want(t, exitOK).result(t)
	rep := res.Log
	if res.Kind != inspect.KindLog || rep == nil {
		t.Fatalf("no report: %+v", res)
	}
	var kinds []string
	for _, ev := range rep.Timeline {
		kinds = append(kinds, string(ev.Kind))
	}
	want := []string{"config-fetched", "oauth-mode", "nodes", "connection", "sent", "received", "sent", "received"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("timeline %q, want %q", kinds, want)
	}
	if got := rep.Timeline[5]; got.Status != 407 || got.Headers["Proxy-Authenticate"] != `Bearer realm="ccmsipline"` {
		t.Errorf("407 event %+v", got)
	}
	if got := rep.Timeline[7]; got.Status != 200 || got.Headers["Expires"] != "120" {
		t.Errorf("200 event %+v", got)
	}
	st, _ := os.Stat(sourceLog)
	if rep.Bytes != st.Size() || rep.Lines != 128 {
		t.Errorf("read %d lines, %d bytes", rep.Lines, rep.Bytes)
	}

	r := cli(t, "", "log", "analyze", sourceLog).want(t, exitOK)
	for _, want := range []string{
		"128 lines, " + strconv.FormatInt(st.Size(), 10) + " bytes read; timeline of 8 events:\n",
		"  LINE  TIME          EVENT           WHAT\n",
		"  3     13:03:18.278  config-fetched  configuration fetched for CSFrado\n",
		"  65    13:03:19.310  received        407 Proxy Authentication Required (CSeq 2270)\n",
		"  98    13:03:19.325  received        200 OK (CSeq 2271)\n",
		"info log-registered line 98: REGISTER CSeq 2271 answered 200 OK: registered for 120 s (the client asked for 3600 s)\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	// Standard input streams alike.
	b, _ := os.ReadFile(sourceLog)
	if s := cli(t, string(b), "log", "analyze"); s.stdout != r.stdout || s.code != r.code {
		t.Errorf("from standard input:\n%s", s.stdout)
	}
}

// TestLogPortMismatch: a log that ends with Unified CM's 403 is scenario 1.
func TestLogPortMismatch(t *testing.T) {
	log := `2018-08-03 05:00:18,100 DEBUG [0x00000e2c] [sipstack] - [SIP][CONN][0] create TLS connection 10.5.10.121:50347-----10.5.10.1:5090.
2018-08-03 05:00:18,200 DEBUG [0x00000e2c] [platform_print_sip_msg] - sipio-sent---> REGISTER sip:10.5.10.1 SIP/2.0 Via: SIP/2.0/TLS 10.5.10.121:50347;branch=z9hG4bK00005163 Call-ID: 00505686-7e660005-0000216b-0000366f@10.5.10.121 CSeq: 363 REGISTER Expires: 3600 Content-Length: 0
2018-08-03 05:00:18,300 DEBUG [0x00000e2c] [platform_print_sip_msg] - sipio-recv<--- SIP/2.0 403 Forbidden Via: SIP/2.0/TLS 10.5.10.121:50347;branch=z9hG4bK00005163 Call-ID: 00505686-7e660005-0000216b-0000366f@10.5.10.121 Server: Cisco-CUCM12.5 CSeq: 363 REGISTER Retry-After: 35 Warning: 399 UCM2-PUB "SIP OAuth Registration port Mismatch" Content-Length: 0
`
	r := cli(t, log, "log", "analyze", "--json", "-").want(t, exitFindings)
	fs := r.result(t).Findings
	want, _ := inspect.Check(inspect.KindLog, []byte(log), inspect.Options{})
	if !reflect.DeepEqual(fs, want.Findings) || len(fs) == 0 {
		t.Errorf("findings %+v\nwant %+v", fs, want.Findings)
	}
	if got := codes(fs); !reflect.DeepEqual(got, []string{"warning log-oauth-mode-off", "error log-port-mismatch"}) {
		t.Errorf("findings %q", got)
	}
	r = cli(t, log, "log", "analyze").want(t, exitFindings)
	r.contains(t, "  3     05:00:18.300  received    403 Forbidden (CSeq 363)\n", "\n2 findings: 1 error, 1 warning\n", "error log-port-mismatch line 3: the node UCM2-PUB refused REGISTER CSeq 363")
}

// TestHeaderParseDigest: a header of another scheme says so first, not
// "Bearer credentials" and then "not Bearer".
func TestHeaderParseDigest(t *testing.T) {
	r := cli(t, "", "header", "parse", `Authorization: Digest username="rado", realm="ccmsipline"`).want(t, exitFindings).
		contains(t, "type    Digest credentials: not a Bearer header\n", "error header-not-bearer")
	if strings.Contains(r.stdout, "Bearer credentials") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	res := cli(t, "", "header", "parse", "--json", `WWW-Authenticate: Digest realm="x"`).want(t, exitFindings).result(t)
	if res.Header == nil || res.Header.Scheme != "Digest" || res.Header.Type != "challenge" {
		t.Errorf("view %+v", res.Header)
	}
	cli(t, "", "header", "parse", `Proxy-Authenticate: Bearer realm="ccmsipline"`).want(t, exitOK).contains(t, "type    Bearer challenge\n")
}
