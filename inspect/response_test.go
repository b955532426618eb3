package inspect

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/ucm"
)

func checkResponse1(t *testing.T, in string, opts Options) Result {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = issued
	}
	r, err := Check(KindResponse, []byte(in), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sourceHeaders are the headers of interest of the source document's 403.
var sourceHeaders = map[string]string{
	"Call-ID":     "00505686-7e660005-0000216b-0000366f@10.5.10.121",
	"CSeq":        "363 REGISTER",
	"Retry-After": "35",
	"Server":      "Cisco-CUCM12.5",
	"Warning":     `399 UCM2-PUB "SIP OAuth Registration port Mismatch"`,
}

func TestCheckResponsePortMismatch(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"testdata/response.input", "testdata/response-source-flattened.txt"} {
		t.Run(file, func(t *testing.T) {
			r := checkResponse1(t, string(readFile(t, file)), Options{})
			want := &ResponseView{Status: 403, Reason: "Forbidden", Scenario: 1, Headers: sourceHeaders}
			if !reflect.DeepEqual(r.Response, want) {
				t.Fatalf("view %+v\nwant %+v", r.Response, want)
			}
			// One refusal, an error, and its three possible causes, info.
			var sev []string
			for _, f := range r.Findings {
				sev = append(sev, f.Severity.String())
			}
			if !reflect.DeepEqual(r.Findings.Codes(), []string{CodePortMismatch, CodeProfileWithoutOAuth, CodeOAuthDisabled, CodeWrongConnectionKind}) ||
				!reflect.DeepEqual(sev, []string{"error", "info", "info", "info"}) ||
				r.Findings[0].Message != "the registrar refused the REGISTER on port 5090: SIP OAuth registration port mismatch (troubleshooting scenario 1); 3 possible causes follow, the likeliest first" ||
				r.Findings[1].Message != "possible cause: the device's security profile does not enable OAuth, so the device may not register on port 5090" ||
				r.Findings[1].Path != "Warning" || r.Worst() != diag.Error {
				t.Fatalf("findings %v", r.Findings)
			}
		})
	}
	r := checkResponse1(t, string(readFile(t, "testdata/response.input")), Options{Port: 5190})
	if r.Findings[1].Message != "possible cause: the device's security profile does not enable OAuth, so the device may not register on port 5190" {
		t.Fatalf("port: %q", r.Findings[1].Message)
	}
	// A 403 without the warning is not a port mismatch.
	r = checkResponse1(t, "SIP/2.0 403 Forbidden\r\nCSeq: 1 REGISTER\r\nWarning: 399 UCM2-PUB \"Device not found\"\r\n\r\n", Options{})
	if len(r.Findings) != 0 || r.Response.Scenario != 0 {
		t.Fatalf("other 403: %+v", r)
	}
}

// TestParseResponseSource reads the source document's 403 as the page
// flattened it: one line of header fields, wrapped, with the contents of
// the angle brackets lost.
func TestParseResponseSource(t *testing.T) {
	t.Parallel()
	resp, err := parseResponse(readFile(t, "testdata/response-source-flattened.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := &sipResponse{Status: 403, Reason: "Forbidden", Headers: []sipHeader{
		{"Via", "SIP/2.0/TLS 10.5.10.121:50347;branch=z9hG4bK00005163"},
		{"From", ";tag=005056867e66010a00006698-00002a32"},
		{"To", ";tag=1946377502"},
		{"Date", "Fri, 03 Aug 2018 05:00:18 GMT"},
		{"Call-ID", "00505686-7e660005-0000216b-0000366f@10.5.10.121"},
		{"Server", "Cisco-CUCM12.5"},
		{"CSeq", "363 REGISTER"},
		{"Retry-After", "35"},
		{"Warning", `399 UCM2-PUB "SIP OAuth Registration port Mismatch"`},
		{"Content-Length", "0"},
	}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("got %+v\nwant %+v", resp, want)
	}
}

func TestParseResponse(t *testing.T) {
	t.Parallel()
	in := "SIP/2.0 200 OK\n" +
		"v: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00004a82\n" +
		"Contact: <sip:rado@10.10.10.10:62162;transport=tls>\n" +
		"\t;+u.sip!devicename.ccm.cisco.com=\"CSFrado\";x-cisco-newreg\n" +
		"   \n" +
		"EXPIRES : 120\n" +
		"X-Custom: a: b\n" +
		"\n" +
		"body: not a header\n"
	resp, err := parseResponse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &sipResponse{Status: 200, Reason: "OK", Headers: []sipHeader{
		{"Via", "SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00004a82"},
		{"Contact", `<sip:rado@10.10.10.10:62162;transport=tls> ;+u.sip!devicename.ccm.cisco.com="CSFrado";x-cisco-newreg`},
		{"Expires", "120"},
		{"X-Custom", "a: b"},
	}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("got %+v\nwant %+v", resp, want)
	}
}

func TestParseResponseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		line int
		msg  string
	}{
		{"", 1, `"" is not a SIP status line (SIP/2.0 NNN Reason)`},
		{"SIP/2.0 OK\r\n", 1, `"SIP/2.0 OK" is not a SIP status line (SIP/2.0 NNN Reason)`},
		{"SIP/2.0 099 Low\r\n", 1, "status 099 is not a response code (100-699)"},
		{"SIP/2.0 200 OK\r\n continued\r\n", 2, "a continuation line before any header field"},
		{"SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\nno colon here\r\n", 3, `"no colon here" is not a header field (name: value)`},
		{"SIP/2.0 200 OK\r\nbad name: x\r\n", 2, `"bad name: x" is not a header field (name: value)`},
		{"SIP/2.0 200 OK\r\n" + strings.Repeat("A: 1\r\n", maxResponseHeaders+1), maxResponseHeaders + 2, "more than 256 header fields"},
		{"SIP/2.0 200 OK Via: x" + strings.Repeat(" To: 1", maxResponseHeaders), 1, "more than 256 header fields"},
	}
	for _, tc := range cases {
		_, err := parseResponse([]byte(tc.in))
		var re *responseError
		if !errors.As(err, &re) || re.Line != tc.line || re.Msg != tc.msg {
			t.Errorf("parseResponse(%q) = %v, want line %d: %s", clip(tc.in, 40), err, tc.line, tc.msg)
		}
	}
	r := checkResponse1(t, "SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\nno colon here\r\n", Options{})
	want := diag.Findings{{Code: CodeResponseUnreadable, Severity: diag.Error, Path: "line 3",
		Message: `inspect: line 3: "no colon here" is not a header field (name: value)`,
		Fix:     "paste the response from its status line (SIP/2.0 NNN Reason) through its header fields"}}
	if !reflect.DeepEqual(r.Findings, want) || r.Response != nil {
		t.Fatalf("got %+v", r)
	}
	if r := checkResponse1(t, "SIP/2.0 2", Options{}); r.Findings[0].Path != "status-line" {
		t.Fatalf("status line: %+v", r.Findings)
	}
}

func TestCheckResponseChallenges(t *testing.T) {
	t.Parallel()
	// The source document's 407, as the page flattened it.
	const source407 = `SIP/2.0 407 Proxy Authentication Required Via: SIP/2.0/TLS 
10.10.10.10:62162;branch=z9hG4bK00001188 From: 
  
                 ;tag=882323451234089000003bdd-00005eff To: 
  
                  ;tag=441122775 Date: Mon, 30 Mar 2020 11:03:31 GMT Call-ID: 88232345-12340017-
00001c0b-00000cfa@10.10.10.10 Server: Cisco-CUCM12.5 CSeq: 2270 REGISTER Proxy-Authenticate: 
Bearer realm="ccmsipline" Content-Length: 0 `
	r := checkResponse1(t, source407, Options{})
	if r.Response.Status != 407 || r.Response.Reason != "Proxy Authentication Required" ||
		r.Response.Headers["Proxy-Authenticate"] != `Bearer realm="ccmsipline"` || r.Response.Headers["Call-ID"] != "88232345-12340017-00001c0b-00000cfa@10.10.10.10" {
		t.Fatalf("view %+v", r.Response)
	}
	if !reflect.DeepEqual(r.Findings.Codes(), []string{CodeChallenge}) || r.Findings[0].Path != "Proxy-Authenticate" ||
		!reflect.DeepEqual(r.Header, &HeaderView{Name: "Proxy-Authenticate", Type: TypeChallenge, Realm: "ccmsipline"}) {
		t.Fatalf("findings %v, header %+v", r.Findings, r.Header)
	}

	cases := []struct {
		name  string
		in    string
		codes []string
		paths []string
	}{
		{"401 invalid_token", "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"sip.example.org\", error=\"invalid_token\"\r\n\r\n",
			[]string{CodeHeaderInvalidToken}, []string{"WWW-Authenticate"}},
		{"407 insufficient_scope", "SIP/2.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Bearer error=\"insufficient_scope\", scope=\"sip:register\"\r\n\r\n",
			[]string{CodeHeaderInsufficientScope}, []string{"Proxy-Authenticate"}},
		{"digest only", "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"ccmsipline\", nonce=\"x\"\r\n\r\n",
			[]string{CodeHeaderNotBearer}, []string{"WWW-Authenticate"}},
		{"digest and bearer", "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"ccmsipline\", nonce=\"x\"\r\nWWW-Authenticate: Bearer realm=\"ccmsipline\"\r\n\r\n",
			[]string{CodeChallenge}, []string{"WWW-Authenticate"}},
		{"no challenge", "SIP/2.0 407 Proxy Authentication Required\r\nCSeq: 1 REGISTER\r\n\r\n",
			[]string{CodeChallengeMissing}, []string{"Proxy-Authenticate"}},
		{"malformed challenge", "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"x\r\n\r\n",
			[]string{CodeHeaderUnreadable}, []string{"WWW-Authenticate@13"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := checkResponse1(t, tc.in, Options{})
			paths := []string{}
			for _, f := range r.Findings {
				paths = append(paths, f.Path)
			}
			if !reflect.DeepEqual(r.Findings.Codes(), tc.codes) || !reflect.DeepEqual(paths, tc.paths) {
				t.Fatalf("codes %v paths %v\n%v", r.Findings.Codes(), paths, r.Findings)
			}
		})
	}
	r = checkResponse1(t, "SIP/2.0 407 Proxy Authentication Required\r\n\r\n", Options{})
	want := diag.Findings{{Code: CodeChallengeMissing, Severity: diag.Error, Path: "Proxy-Authenticate",
		Message: "a 407 without a Proxy-Authenticate header: the client cannot tell how to authenticate",
		Fix:     `the registrar must challenge with Proxy-Authenticate: Bearer realm="ccmsipline"`}}
	if !reflect.DeepEqual(r.Findings, want) {
		t.Fatalf("missing: %v", r.Findings)
	}
}

func TestCheckResponseRegistered(t *testing.T) {
	t.Parallel()
	r := checkResponse1(t, "SIP/2.0 200 OK\r\nCSeq: 2271 REGISTER\r\nExpires: 120\r\nContact: <sip:rado@10.10.10.10:62162;transport=tls>;x-cisco-newreg\r\n\r\n", Options{})
	want := diag.Findings{{Code: CodeRegistered, Severity: diag.Info, Path: "status-line", Message: "the registrar accepted the registration for 120 seconds (Expires)"}}
	if !reflect.DeepEqual(r.Findings, want) || r.Response.Headers["Contact"] != "<sip:rado@10.10.10.10:62162;transport=tls>;x-cisco-newreg" {
		t.Fatalf("got %v %+v", r.Findings, r.Response)
	}
	if r := checkResponse1(t, "SIP/2.0 200 OK\r\nCSeq: 5 OPTIONS\r\n\r\n", Options{}); len(r.Findings) != 0 {
		t.Fatalf("OPTIONS: %v", r.Findings)
	}
}

func TestCheckResponseEdge(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text     string
		code     string
		scenario int
		msg      string
	}{
		{"Edge proxy does not trust the registrar certificate", CodeUnknownCAAtEdge, 2,
			`scenario 2: the edge proxy does not trust the signer of the node's certificate (expc1 says "Edge proxy does not trust the registrar certificate")`},
		{"Registrar refused the edge proxy certificate", CodeNodeRefusedEdgeProxy, 3,
			`scenario 3: the node refused the edge proxy's certificate (expc1 says "Registrar refused the edge proxy certificate"): its signer is not in the node's tomcat-trust, or none of its names is in the edge-proxy table`},
		{"Expired certificate between edge proxy and registrar", CodeCertificateExpired, 0,
			`a certificate on the hop between the edge proxy and the node is expired (expc1 says "Expired certificate between edge proxy and registrar")`},
		{"Registrar certificate does not match its name", CodeNodeNameMismatch, 0,
			`the node's certificate does not carry the name the edge proxy dialed (expc1 says "Registrar certificate does not match its name")`},
		{"Registrar unreachable", CodeEdgeUpstreamFailed, 0,
			`the edge proxy could not get an answer from the node (expc1 says "Registrar unreachable")`},
		{"remote error: tls: unknown certificate authority", CodeUnknownCAAtNode, 3,
			`the node refused the edge proxy's certificate: unknown certificate authority (expc1 says "remote error: tls: unknown certificate authority")`},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			r := checkResponse1(t, "SIP/2.0 503 Service Unavailable\r\nRetry-After: 30\r\nWarning: 399 expc1 \""+tc.text+"\"\r\n\r\n", Options{})
			if len(r.Findings) != 1 || r.Findings[0].Code != tc.code || r.Findings[0].Message != tc.msg || r.Findings[0].Path != "Warning" ||
				r.Findings[0].Fix == "" || r.Response.Scenario != tc.scenario {
				t.Fatalf("got %+v, scenario %d", r.Findings, r.Response.Scenario)
			}
		})
	}
	if r := checkResponse1(t, "SIP/2.0 503 Service Unavailable\r\nWarning: 399 node \"Overloaded\"\r\n\r\n", Options{}); len(r.Findings) != 0 {
		t.Fatalf("other 503: %v", r.Findings)
	}
}

// TestParseWarnings: the response's warnings are ucm's, those read before
// a malformed value kept.
func TestParseWarnings(t *testing.T) {
	t.Parallel()
	got, _ := ucm.ParseWarnings(`399 UCM2-PUB "SIP OAuth Registration port Mismatch", 301 isi.edu "Incompatible \"network\" protocol", 3x9 bad "x"`)
	want := []ucm.Warning{{Code: 399, Agent: "UCM2-PUB", Text: ucm.PortMismatchText}, {Code: 301, Agent: "isi.edu", Text: `Incompatible "network" protocol`}}
	if !reflect.DeepEqual(got, want) || !hasPortMismatch(got) {
		t.Fatalf("got %+v", got)
	}
	for _, in := range []string{"", "399", `399 "x"`, `399 a b`, `399 a "unterminated`} {
		if got, _ := ucm.ParseWarnings(in); len(got) != 0 {
			t.Errorf("ParseWarnings(%q) = %+v", in, got)
		}
	}
}
