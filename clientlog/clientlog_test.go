package clientlog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sipoauth/sdk/clientlog"
	"github.com/sipoauth/sdk/diag"
)

func analyzeFile(t *testing.T, name string, opts clientlog.Options) (*clientlog.Report, []byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := clientlog.Analyze(bytes.NewReader(b), opts)
	if err != nil {
		t.Fatalf("Analyze(%s): %v", name, err)
	}
	checkReport(t, rep, b)
	return rep, b
}

// checkReport checks what holds for every report: its counts, valid
// UTF-8 everywhere, a JSON form.
func checkReport(t testing.TB, rep *clientlog.Report, in []byte) {
	t.Helper()
	lines := bytes.Count(in, []byte("\n"))
	if len(in) > 0 && in[len(in)-1] != '\n' {
		lines++
	}
	if rep.Lines != lines || rep.Bytes != int64(len(in)) {
		t.Fatalf("Lines, Bytes = %d, %d; want %d, %d", rep.Lines, rep.Bytes, lines, len(in))
	}
	for _, s := range reportStrings(rep) {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 in the report: %q", s)
		}
	}
	if rep.Timeline == nil || rep.Findings == nil {
		t.Fatal("nil Timeline or Findings: they marshal as null")
	}
}

func reportStrings(rep *clientlog.Report) []string {
	var out []string
	for _, e := range rep.Timeline {
		out = append(out, string(e.Kind), e.Text, e.Device, e.Local, e.Remote, e.Method, e.CallID, e.Reason)
		for k, v := range e.Headers {
			out = append(out, k, v)
		}
		for _, n := range e.Nodes {
			out = append(out, n.Host)
		}
	}
	for _, f := range rep.Findings {
		out = append(out, f.Code, f.Path, f.Message, f.Fix)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05.000", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestSourceDocument reads the Jabber log of the source document, as the
// document prints it: records wrapped mid-line, SIP messages flattened onto
// lines, the angle-bracketed values gone, the comments of the document's
// author between the records, and the 403 of scenario 1 pasted alone.
func TestSourceDocument(t *testing.T) {
	t.Parallel()
	rep, _ := analyzeFile(t, "source-document.log", clientlog.Options{})
	const callID = "88232345-12340017-00001c0b-00000cfa@10.10.10.10"
	want := []clientlog.Event{
		{Kind: clientlog.EventConfigFetched, Line: 3, Time: at("2020-03-30 13:03:18.278"),
			Text: "configuration fetched for CSFrado", Device: "CSFrado"},
		{Kind: clientlog.EventOAuthMode, Line: 39, Time: at("2020-03-30 13:03:18.747"),
			Text: "SIP OAuth mode 1 (enabled)", OAuthMode: ptr(1)},
		// This record's header has no date ("13:03:19,013 INFO"): the previous one's is used.
		{Kind: clientlog.EventNodes, Line: 42, Time: at("2020-03-30 13:03:19.013"),
			Text: "ccm0=10.10.10.1:5090 (MRA 5091), ccm1=10.10.10.2:5090 (MRA 5091)",
			Nodes: []clientlog.Node{
				{Index: 0, Host: "10.10.10.1", OAuthPort: 5090, MRAPort: 5091},
				{Index: 1, Host: "10.10.10.2", OAuthPort: 5090, MRAPort: 5091},
			}},
		{Kind: clientlog.EventConnection, Line: 48, Time: at("2020-03-30 13:03:18.528"),
			Text:  "TLS connection 10.10.10.10:5061 → 10.10.10.1:5090 (the OAuth port announced for ccm0)",
			Local: "10.10.10.10:5061", Remote: "10.10.10.1:5090", ExpectedPort: ptr(true)},
		{Kind: clientlog.EventSent, Line: 50, Time: at("2020-03-30 13:03:19.200"),
			Text: "REGISTER sip:10.10.10.1 (CSeq 2270, no token)", Method: "REGISTER", CSeq: 2270, CallID: callID},
		{Kind: clientlog.EventReceived, Line: 65, Time: at("2020-03-30 13:03:19.310"),
			Text: "407 Proxy Authentication Required (CSeq 2270)", CSeq: 2270, CallID: callID,
			Status: 407, Reason: "Proxy Authentication Required",
			Headers: map[string]string{"Proxy-Authenticate": `Bearer realm="ccmsipline"`}},
		{Kind: clientlog.EventSent, Line: 75, Time: at("2020-03-30 13:03:19.310"),
			Text: "REGISTER sip:10.10.10.1 (CSeq 2271, token)", Method: "REGISTER", CSeq: 2271, CallID: callID, Token: true,
			Headers: map[string]string{"Expires": "3600"}},
		{Kind: clientlog.EventReceived, Line: 98, Time: at("2020-03-30 13:03:19.325"),
			Text: "200 OK (CSeq 2271)", CSeq: 2271, CallID: callID, Status: 200, Reason: "OK",
			Headers: map[string]string{"Expires": "120"}},
		// Pasted without a log header: no time.
		{Kind: clientlog.EventReceived, Line: 137,
			Text: "403 Forbidden (CSeq 363)", CSeq: 363, CallID: "00505686-7e660005-0000216b-0000366f@10.5.10.121",
			Status: 403, Reason: "Forbidden",
			Headers: map[string]string{"Retry-After": "35", "Warning": `399 UCM2-PUB "SIP OAuth Registration port Mismatch"`}},
	}
	if !reflect.DeepEqual(rep.Timeline, want) {
		for i := range max(len(want), len(rep.Timeline)) {
			var g, w clientlog.Event
			if i < len(rep.Timeline) {
				g = rep.Timeline[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	}
	wantFindings := diag.Findings{
		{Code: clientlog.CodeRegistered, Severity: diag.Info, Path: "line 98",
			Message: "REGISTER CSeq 2271 answered 200 OK: registered for 120 s (the client asked for 3600 s)"},
		{Code: clientlog.CodePortMismatch, Severity: diag.Error, Path: "line 137",
			Message: `the node UCM2-PUB refused REGISTER CSeq 363 with 403 Forbidden, Warning: 399 UCM2-PUB "SIP OAuth Registration port Mismatch", Retry-After: 35 (troubleshooting scenario 1). ` +
				"The node takes a registration on an OAuth port only when (1) SIP OAuth is enabled cluster-wide, (2) the device's phone security profile enables OAuth, " +
				"and (3) the request comes over the right kind of connection: TLS without a client certificate on the OAuth port (5090), mutual TLS from a registered Expressway-C on the MRA OAuth port (5091)",
			Fix: "(1) enable SIP OAuth cluster-wide: System > Enterprise Parameters > SIP OAuth Mode, or `utils sipOAuth-mode enable` on the publisher (ClusterSIPOAuthMode 1); " +
				"(2) in System > Security > Phone Security Profile, check Enable OAuth Authentication on the device's profile, save and reset the device; " +
				"(3) connect on premises to sipOAuthPort over TLS without a client certificate, and over MRA through Expressway-C to sipMRAOAuthPort"},
	}
	if !reflect.DeepEqual(rep.Findings, wantFindings) {
		t.Errorf("findings:\n got %#v\nwant %#v", rep.Findings, wantFindings)
	}
	if rep.Messages != 5 || rep.Lines != 144 || rep.Bytes != 5899 || rep.Dropped != 0 {
		t.Errorf("Messages, Lines, Bytes, Dropped = %d, %d, %d, %d", rep.Messages, rep.Lines, rep.Bytes, rep.Dropped)
	}
}

// summary is an event on one line, for the scenario tables.
func summary(e clientlog.Event) string {
	s := fmt.Sprintf("%d %s %s", e.Line, e.Kind, e.Text)
	if e.ExpectedPort != nil {
		s += fmt.Sprintf(" expected=%v", *e.ExpectedPort)
	}
	keys := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s += " | " + k + ": " + e.Headers[k]
	}
	return s
}

func summaries(rep *clientlog.Report) []string {
	out := make([]string, len(rep.Timeline))
	for i, e := range rep.Timeline {
		out[i] = summary(e)
	}
	return out
}

// prelude is the start every scenario log shares.
var prelude = []string{
	"2 config-fetched configuration fetched for CSFalice",
	"4 oauth-mode SIP OAuth mode 1 (enabled)",
	"5 nodes ccm0=10.10.10.1:5090 (MRA 5091), ccm1=10.10.10.2:5090 (MRA 5091)",
}

func with(head []string, rest ...string) []string { return append(slices.Clone(head), rest...) }

const (
	conn5090 = "7 connection TLS connection 10.10.10.20:5061 → 10.10.10.1:5090 (the OAuth port announced for ccm0) expected=true"
	register = "8 sent REGISTER sip:10.10.10.1 (CSeq 101, no token) | Expires: 3600"
	got407   = "40 received 407 Proxy Authentication Required (CSeq 101) | Proxy-Authenticate: Bearer realm=\"ccmsipline\""
)

// TestScenarios reads one log per failure: the timeline and the findings
// (code, severity, line) must be exactly these.
func TestScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		timeline []string
		findings []string // "severity code path"
	}{
		{"port-mismatch.log",
			with(prelude, conn5090, register, got407,
				"52 sent REGISTER sip:10.10.10.1 (CSeq 102, token) | Expires: 3600",
				`85 received 403 Forbidden (CSeq 102) | Retry-After: 35 | Warning: 399 CUCM1-PUB "SIP OAuth Registration port Mismatch"`),
			[]string{"error log-port-mismatch line 85"}},
		{"mode-off.log",
			with([]string{prelude[0], "4 oauth-mode SIP OAuth mode 0 (disabled)", prelude[2]}, conn5090, register, got407),
			[]string{"error log-oauth-mode-off line 7", "error log-no-token-retry line 40"}},
		{"mode-on-legacy-port.log",
			with(prelude, "7 connection TLS connection 10.10.10.20:51234 → 10.10.10.1:5061 (not the OAuth port announced for ccm0, 5090) expected=false",
				register, "40 received 200 OK (CSeq 101) | Expires: 120"),
			[]string{"error log-oauth-mode-off line 7", "info log-registered line 40"}},
		{"wrong-port.log",
			with([]string{prelude[0], prelude[1], "5 nodes ccm0=10.10.10.1:5190 (MRA 5091), ccm1=10.10.10.2:5090 (MRA 5091)"},
				"7 connection TLS connection 10.10.10.20:5061 → 10.10.10.1:5090 (not the OAuth port announced for ccm0, 5190) expected=false",
				register),
			[]string{"error log-unexpected-port line 7", "warning log-no-response line 8"}},
		{"invalid-token.log",
			with(prelude, conn5090, "8 sent REGISTER sip:10.10.10.1 (CSeq 101, token) | Expires: 3600",
				`41 received 401 Unauthorized (CSeq 101) | WWW-Authenticate: Bearer realm="ccmsipline", error="invalid_token", error_description="the access token expired"`),
			[]string{"error log-invalid-token line 41"}},
		{"no-retry.log",
			with(prelude, conn5090, register, got407),
			[]string{"error log-no-token-retry line 40"}},
		{"tls-unknown-ca.log",
			with(prelude, "7 connection TLS connection 10.10.20.5:40122 → 10.10.10.1:5091 (not the OAuth port announced for ccm0, 5090) expected=false"),
			[]string{"error log-unexpected-port line 7", "error log-tls-failure line 8"}},
		{"tls-untrusted-node.log",
			with(prelude, conn5090),
			[]string{"error log-tls-failure line 8"}},
		{"truncated.log",
			with(prelude, conn5090, "8 sent REGISTER sip:10.10.10.1 (no CSeq, no token)"),
			[]string{"warning log-truncated-message line 8"}},
		{"non-utf8.log",
			with([]string{"2 config-fetched configuration fetched for CSFj\ufffdrgen", prelude[1], prelude[2]}, conn5090, register,
				`40 received 403 Verboten `+"\ufffd"+` (CSeq 101) | Warning: 399 CUCM1-PUB "Ger`+"\ufffd"+`t unbekannt"`),
			[]string{"error log-register-rejected line 40"}},
		{"crlf.log",
			with(prelude, conn5090, register, got407,
				"51 sent REGISTER sip:10.10.10.1 (CSeq 102, token) | Expires: 3600",
				"84 received 200 OK (CSeq 102) | Expires: 120"),
			[]string{"info log-registered line 84"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rep, _ := analyzeFile(t, tt.file, clientlog.Options{})
			if got := summaries(rep); !slices.Equal(got, tt.timeline) {
				t.Errorf("timeline:\n got %q\nwant %q", got, tt.timeline)
			}
			var got []string
			for _, f := range rep.Findings {
				got = append(got, f.Severity.String()+" "+f.Code+" "+f.Path)
			}
			if !slices.Equal(got, tt.findings) {
				t.Errorf("findings:\n got %q\nwant %q", got, tt.findings)
			}
		})
	}
}

// TestFindingTexts pins the message and fix of each kind of finding.
func TestFindingTexts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, code, message, fix string
	}{
		{"mode-off.log", clientlog.CodeOAuthModeOff,
			"the log says SIP OAuth mode 0 (line 4) while the client connects to 10.10.10.1:5090, an OAuth port: the node refuses OAuth registrations from a device that is not in OAuth mode",
			"enable SIP OAuth cluster-wide (utils sipOAuth-mode enable, ClusterSIPOAuthMode 1) and Enable OAuth Authentication in the device's phone security profile, then reset the device so that its configuration file carries sipOAuthMode 1"},
		{"mode-on-legacy-port.log", clientlog.CodeOAuthModeOff,
			"the log says SIP OAuth mode 1 (line 4) but the client connects to 10.10.10.1:5061, a legacy SIP port (5060 non-secure, 5061 secure), not an OAuth port",
			"in SIP OAuth mode the client connects to the node's sipOAuthPort (5090 by default) over TLS: check that it supports SIP OAuth (Jabber 12.5 or later), that the configuration file lists sipOAuthPort for each node, and reset the device"},
		{"wrong-port.log", clientlog.CodeUnexpectedPort,
			"the client connects to 10.10.10.1:5090, but the log announced sip_oauth_port_0=5190 for ccm0 (10.10.10.1)",
			"the client takes the port from sipOAuthPort in the configuration file: make the node listen on the announced port (System > Cisco Unified CM > SIP OAuth Port; check with show open ports regexp 5190), or correct the configuration and reset the device"},
		{"wrong-port.log", clientlog.CodeNoResponse,
			"REGISTER CSeq 101 (line 8) got no final response in the log",
			"check that the node listens on the port the client connected to (show open ports regexp 5090), that nothing between drops the connection, and that the log covers enough time after the REGISTER"},
		{"tls-unknown-ca.log", clientlog.CodeUnexpectedPort,
			"the connection goes to 10.10.10.1:5091, the MRA OAuth port of ccm0, which takes only mutual TLS from a registered Expressway-C; a client on premises uses sip_oauth_port_0=5090",
			"on premises, connect to sipOAuthPort (5090) without a client certificate; only an Expressway-C connects to sipMRAOAuthPort, with its certificate"},
		{"tls-unknown-ca.log", clientlog.CodeTLSFailure,
			"TLS handshake failed: the peer answered with alert unknown_ca, it does not trust the signer of this side's certificate. " +
				"On the node's MRA OAuth port (5091) this is troubleshooting scenario 3: the node's tomcat-trust lacks the CA that signed the Expressway-C certificate " +
				`("SIP_TLS_ERROR: TLS handshake with 10.10.10.1:5091 failed: error:14094418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca")`,
			"upload the CA that signed the Expressway-C certificate to the node's tomcat-trust (Cisco Unified OS Administration > Security > Certificate Management)"},
		{"tls-untrusted-node.log", clientlog.CodeTLSFailure,
			"TLS handshake failed: the client does not trust the signer of the node's certificate (the node presents its Tomcat certificate on the OAuth port), the client's side of troubleshooting scenario 2 " +
				`("SIP_TLS_ERROR: TLS handshake with 10.10.10.1:5090 failed: certificate verify failed: unable to get local issuer certificate")`,
			"install the CA that signed the node's Tomcat certificate in the client's trust store, or have the Tomcat certificate signed by a CA the client trusts"},
		{"invalid-token.log", clientlog.CodeInvalidToken,
			`the node refused the token of REGISTER CSeq 101: 401 Unauthorized with error="invalid_token" (the access token expired)`,
			"the token is expired, revoked, signed with a key the node does not have, or issued for another user or device: sign in again or refresh the access token with the refresh token, check the clocks of the client and the node, and check that the node has the authorization server's current keys"},
		{"no-retry.log", clientlog.CodeNoTokenRetry,
			`the node challenged the REGISTER with 407 Proxy Authentication Required (CSeq 101), Proxy-Authenticate: Bearer realm="ccmsipline", and the client never sent a REGISTER with a bearer token after it`,
			`the client must answer with Proxy-Authorization: Bearer token="…" (Authorization: Bearer … to a 401): check that it signed in with OAuth and holds an access token (on Unified CM: OAuth with Refresh Login Flow enabled, and the user signed in again since)`},
		{"truncated.log", clientlog.CodeTruncatedMessage,
			"the SIP message at line 8 has no CSeq header: the log cut it",
			"collect the log again, whole, or raise the bound on a message's size"},
		{"non-utf8.log", clientlog.CodeRegisterRejected,
			"REGISTER CSeq 101 refused: 403 Verboten \ufffd, Warning: 399 CUCM1-PUB \"Ger\ufffdt unbekannt\"",
			"read the status and the Warning: the node refuses this registration for a reason other than the OAuth port or the token"},
		{"port-mismatch.log", clientlog.CodePortMismatch,
			`the node CUCM1-PUB refused REGISTER CSeq 102 with 403 Forbidden, Warning: 399 CUCM1-PUB "SIP OAuth Registration port Mismatch", Retry-After: 35 (troubleshooting scenario 1). ` +
				"The node takes a registration on an OAuth port only when (1) SIP OAuth is enabled cluster-wide, (2) the device's phone security profile enables OAuth, " +
				"and (3) the request comes over the right kind of connection: TLS without a client certificate on the OAuth port (5090), mutual TLS from a registered Expressway-C on the MRA OAuth port (5091). " +
				"The client connected to 10.10.10.1:5090, the OAuth port announced for ccm0, so (1) and (2) are the likely causes",
			"(1) enable SIP OAuth cluster-wide: System > Enterprise Parameters > SIP OAuth Mode, or `utils sipOAuth-mode enable` on the publisher (ClusterSIPOAuthMode 1); " +
				"(2) in System > Security > Phone Security Profile, check Enable OAuth Authentication on the device's profile, save and reset the device; " +
				"(3) connect on premises to sipOAuthPort over TLS without a client certificate, and over MRA through Expressway-C to sipMRAOAuthPort"},
	}
	for _, tt := range tests {
		rep, _ := analyzeFile(t, tt.file, clientlog.Options{})
		i := slices.IndexFunc(rep.Findings, func(f diag.Finding) bool { return f.Code == tt.code })
		if i < 0 {
			t.Errorf("%s: no %s finding in %v", tt.file, tt.code, rep.Findings.Codes())
			continue
		}
		if f := rep.Findings[i]; f.Message != tt.message || f.Fix != tt.fix {
			t.Errorf("%s %s:\n got message %q\nwant message %q\n got fix %q\nwant fix %q", tt.file, tt.code, f.Message, tt.message, f.Fix, tt.fix)
		}
	}
}

// TestCRLF: the same log with CRLF and with LF line ends gives the same
// report, but for the byte count.
func TestCRLF(t *testing.T) {
	t.Parallel()
	crlf, raw := analyzeFile(t, "crlf.log", clientlog.Options{})
	if !bytes.Contains(raw, []byte("\r\n")) {
		t.Fatal("crlf.log has no CRLF")
	}
	lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	rep, err := clientlog.Analyze(bytes.NewReader(lf), clientlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != crlf.Bytes-int64(crlf.Lines) {
		t.Errorf("Bytes %d with LF, %d with CRLF over %d lines", rep.Bytes, crlf.Bytes, crlf.Lines)
	}
	rep.Bytes = crlf.Bytes
	if !reflect.DeepEqual(rep, crlf) {
		t.Errorf("LF report differs:\n%+v\n%+v", rep, crlf)
	}
}

// wrapLikeDocument prints a log as the source document does: each record
// on one line, headers of a SIP message separated by a space, records one
// after the other, then the text broken into lines of at most width bytes
// after a space or a hyphen (the space stays at the end of the line), or
// anywhere when there is none.
func wrapLikeDocument(log string, width int) string {
	var flat strings.Builder
	for i, line := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		if i > 0 {
			flat.WriteByte(' ')
		}
		flat.WriteString(line)
	}
	s := flat.String()
	var out strings.Builder
	for len(s) > width {
		cut := strings.LastIndexAny(s[:width], " -") + 1
		if cut <= 0 {
			cut = width
		}
		out.WriteString(s[:cut])
		out.WriteByte('\n')
		s = s[cut:]
	}
	out.WriteString(s)
	out.WriteByte('\n')
	return out.String()
}

// TestWrapped: scenario logs printed as the source document prints its
// log give the same events and findings at every width.
func TestWrapped(t *testing.T) {
	t.Parallel()
	texts := func(rep *clientlog.Report) []string {
		var out []string
		for _, e := range rep.Timeline {
			out = append(out, fmt.Sprintf("%s %s %d %v %v", e.Kind, e.Text, e.CSeq, e.Token, e.Headers))
		}
		return out
	}
	for _, file := range []string{"port-mismatch.log", "crlf.log", "invalid-token.log", "wrong-port.log"} {
		raw, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		ref, _ := clientlog.Analyze(bytes.NewReader(raw), clientlog.Options{})
		for _, width := range []int{60, 77, 100, 133, 200} {
			in := wrapLikeDocument(string(raw), width)
			rep, err := clientlog.Analyze(strings.NewReader(in), clientlog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, rep, []byte(in))
			if g, w := texts(rep), texts(ref); !slices.Equal(g, w) {
				t.Errorf("%s at width %d:\n got %q\nwant %q", file, width, g, w)
			}
			if g, w := rep.Findings.Codes(), ref.Findings.Codes(); !slices.Equal(g, w) {
				t.Errorf("%s at width %d: findings %q, want %q", file, width, g, w)
			}
		}
	}
}

// TestTokensNeverReported: the scenario logs carry real-looking tokens in
// both forms; no part of them reaches the report.
func TestTokensNeverReported(t *testing.T) {
	t.Parallel()
	secrets := []string{
		"eyJhbGciOiJSUzI1NiIsImtpZCI6ImNsdXN0ZXIxIn0.eyJwcml2YXRlIjoiZXlKaGJHY2lPaUprYVhJaWZRLi4ifQ.c2lnbmF0dXJlLW9mLXRoZS1jbHVzdGVy",
		"dGhpcy1pcy1hbi1vcGFxdWUtYWNjZXNzLXRva2VuLWZvci1hbGljZQ==",
	}
	for _, file := range []string{"port-mismatch.log", "invalid-token.log", "crlf.log"} {
		rep, raw := analyzeFile(t, file, clientlog.Options{})
		j, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range secrets {
			if !bytes.Contains(raw, []byte(s)) {
				continue
			}
			found = true
			for i := 0; i+8 <= len(s); i++ {
				if bytes.Contains(j, []byte(s[i:i+8])) {
					t.Errorf("%s: the report holds %q, part of a token", file, s[i:i+8])
					break
				}
			}
		}
		if !found {
			t.Errorf("%s holds no token: the test proves nothing", file)
		}
		if i := slices.IndexFunc(rep.Timeline, func(e clientlog.Event) bool { return e.Token }); i < 0 {
			t.Errorf("%s: no event with Token set", file)
		}
	}
}

// TestMessageSizeBound: a SIP message longer than MaxMessageSize is cut
// and reported, and what precedes the cut is still read.
func TestMessageSizeBound(t *testing.T) {
	t.Parallel()
	in := "2024-05-06 09:15:02,901 DEBUG [0x1] [a.c(1)] [csf.sip-call-control] [platform_print_sip_msg] - sipio-sent---> REGISTER sip:10.10.10.1 SIP/2.0\n" +
		"Call-ID: c1@10.10.10.20\nCSeq: 5 REGISTER\nSupported: " + strings.Repeat("X-cisco-x,", 2000) + "\nExpires: 3600\nContent-Length: 0\n\n" +
		"2024-05-06 09:15:02,950 DEBUG [0x1] [a.c(1)] [csf.sip-call-control] [platform_print_sip_msg] - sipio-recv<--- SIP/2.0 200 OK\n" +
		"Call-ID: c1@10.10.10.20\nCSeq: 5 REGISTER\nExpires: 120\nContent-Length: 0\n\n"
	rep, err := clientlog.Analyze(strings.NewReader(in), clientlog.Options{MaxMessageSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, []byte(in))
	want := []string{"1 sent REGISTER sip:10.10.10.1 (CSeq 5, no token)", "8 received 200 OK (CSeq 5) | Expires: 120"}
	if got := summaries(rep); !slices.Equal(got, want) {
		t.Errorf("timeline %q, want %q", got, want)
	}
	want = []string{"warning log-truncated-message line 1: the SIP message at line 1 is longer than 4096 bytes (Options.MaxMessageSize) and was cut",
		"info log-registered line 8: REGISTER CSeq 5 answered 200 OK: registered for 120 s"}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
}

// TestMaxEvents: events beyond the bound are counted, not kept, and the
// diagnosis still sees them.
func TestMaxEvents(t *testing.T) {
	t.Parallel()
	rep, _ := analyzeFile(t, "port-mismatch.log", clientlog.Options{MaxEvents: 3})
	if len(rep.Timeline) != 3 || rep.Dropped != 5 {
		t.Errorf("%d events kept, %d dropped; want 3, 5", len(rep.Timeline), rep.Dropped)
	}
	if got := rep.Findings.Codes(); !slices.Equal(got, []string{clientlog.CodePortMismatch}) {
		t.Errorf("findings %q", got)
	}
}

// TestLongLines: a line longer than the read buffer is read in pieces;
// the records around it are unaffected.
func TestLongLines(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/port-mismatch.log")
	if err != nil {
		t.Fatal(err)
	}
	long := "2024-05-06 09:15:01,000 DEBUG [0x1] [x.c(1)] [csf.jcf] [dump] - " + strings.Repeat("0123456789abcdef", 20000) + "\n"
	in := append([]byte(long), raw...)
	rep, err := clientlog.Analyze(bytes.NewReader(in), clientlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, in)
	ref, _ := analyzeFile(t, "port-mismatch.log", clientlog.Options{})
	if len(rep.Timeline) != len(ref.Timeline) || rep.Timeline[0].Line != ref.Timeline[0].Line+1 {
		t.Errorf("timeline %q, want %q shifted by one line", summaries(rep), summaries(ref))
	}
	if !slices.Equal(rep.Findings.Codes(), ref.Findings.Codes()) {
		t.Errorf("findings %q, want %q", rep.Findings.Codes(), ref.Findings.Codes())
	}
}

func TestNoSIP(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, message string
	}{
		{"", "the log holds no SIP message (no sipio-sent or sipio-recv line, no SIP start line) in its 0 lines"},
		{"just some text\nwith no log records\n", "the log holds no SIP message (no sipio-sent or sipio-recv line, no SIP start line) in its 2 lines"},
		{"2024-05-06 09:15:02,114 DEBUG [0x1] [s.cpp(1)] [csf.ecc] [fetchDeviceConfig] - fetchDeviceConfig() retrieved config for CSFbob\n",
			"the log holds no SIP message (no sipio-sent or sipio-recv line, no SIP start line) in its 1 lines: the client did not get as far as registering, or its SIP logging is off"},
	} {
		rep, err := clientlog.Analyze(strings.NewReader(tt.in), clientlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep, []byte(tt.in))
		if len(rep.Findings) != 1 || rep.Findings[0].Code != clientlog.CodeNoSIP || rep.Findings[0].Severity != diag.Warning ||
			rep.Findings[0].Path != "line 1" || rep.Findings[0].Message != tt.message {
			t.Errorf("%q: findings %+v", tt.in, rep.Findings)
		}
	}
	j, _ := json.Marshal(must(clientlog.Analyze(strings.NewReader(""), clientlog.Options{})))
	if !bytes.HasPrefix(j, []byte(`{"timeline":[],"findings":[{"code":"log-no-sip"`)) {
		t.Errorf("JSON of an empty log: %s", j)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestMissingSections: without the configuration fetch and the mode
// line, the connection's port is judged when the nodes are known, and the
// registration without a mode line that fails is reported.
func TestMissingSections(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/no-retry.log")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.SplitAfter(string(raw), "\n") {
		if !strings.Contains(l, "fetchDeviceConfig") && !strings.Contains(l, "setSipOauthMode") && !strings.Contains(l, "ccm_properties") {
			kept = append(kept, l)
		}
	}
	in := strings.Join(kept, "")
	rep, err := clientlog.Analyze(strings.NewReader(in), clientlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, []byte(in))
	want := []string{
		"3 connection TLS connection 10.10.10.20:5061 → 10.10.10.1:5090",
		"4 sent REGISTER sip:10.10.10.1 (CSeq 101, no token) | Expires: 3600",
		`36 received 407 Proxy Authentication Required (CSeq 101) | Proxy-Authenticate: Bearer realm="ccmsipline"`,
	}
	if got := summaries(rep); !slices.Equal(got, want) {
		t.Errorf("timeline:\n got %q\nwant %q", got, want)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Severity.String()+" "+f.Code+" "+f.Path)
	}
	if w := []string{"warning log-oauth-mode-off line 3", "error log-no-token-retry line 36"}; !slices.Equal(got, w) {
		t.Errorf("findings %q, want %q", got, w)
	}
}

type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestReadError: a read error is returned, wrapped, with the report of
// what was read.
func TestReadError(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/port-mismatch.log")
	if err != nil {
		t.Fatal(err)
	}
	cut := raw[:bytes.Index(raw, []byte("sipio-recv"))]
	boom := errors.New("disk gone")
	rep, err := clientlog.Analyze(&failingReader{bytes.NewReader(cut), boom}, clientlog.Options{})
	if !errors.Is(err, boom) || err.Error() != "clientlog: reading the log at line 40: disk gone" {
		t.Fatalf("err = %v", err)
	}
	if rep == nil || len(rep.Timeline) != 5 || rep.Timeline[4].Kind != clientlog.EventSent {
		t.Fatalf("report %+v", rep)
	}
}

// sipRecord prints a SIP message as Jabber logs it, one header per line.
func sipRecord(sent bool, clock string, lines ...string) string {
	marker := "sipio-recv<--- "
	if sent {
		marker = "sipio-sent---> "
	}
	return "2024-05-06 " + clock + " DEBUG [0x00000e2c] [\\sipcc\\core\\sipstack\\ccsip_debug.c(1041)] [csf.sip-call-control] [platform_print_sip_msg] - " +
		marker + strings.Join(lines, "\n") + "\nContent-Length: 0\n\n"
}

func logRecord(clock, level, text string) string {
	return "2024-05-06 " + clock + " " + level + " [0x00000e2c] [sipstack\\sip_tls.c(598)] [csf.sip-call-control] [sip_tls_do_handshake] - " + text + "\n"
}

// TestDiagnosisVariants covers the findings the scenario logs do not.
func TestDiagnosisVariants(t *testing.T) {
	t.Parallel()
	reg := func(cseq string, extra ...string) string {
		return sipRecord(true, "09:15:02,901", append([]string{"REGISTER sip:10.10.10.1 SIP/2.0", "Call-ID: v1@10.10.10.20", "CSeq: " + cseq + " REGISTER"}, extra...)...)
	}
	resp := func(status, cseq string, extra ...string) string {
		return sipRecord(false, "09:15:02,950", append([]string{"SIP/2.0 " + status, "Call-ID: v1@10.10.10.20", "CSeq: " + cseq + " REGISTER"}, extra...)...)
	}
	tests := []struct {
		name, log, want string // want: "severity code path: message"
	}{
		{"digest challenge", reg("1") + resp("407 Proxy Authentication Required", "1", `Proxy-Authenticate: Digest realm="ccmsipline", nonce="x"`),
			`error log-no-token-retry line 6: the node challenged the REGISTER with 407 Proxy Authentication Required (CSeq 1), Proxy-Authenticate: Digest realm="ccmsipline", nonce="x", not with Bearer: it does not treat this device as an OAuth device, and the client sent no bearer token`},
		{"token refused without an error parameter", reg("1", "Proxy-Authorization: Bearer token=\"abcdefghijkl\"") + resp("407 Proxy Authentication Required", "1", `Proxy-Authenticate: Bearer realm="ccmsipline"`),
			"error log-token-refused line 7: the node challenged again REGISTER CSeq 1, which carried a bearer token: it refused the token"},
		{"insufficient scope", reg("1", "Authorization: Bearer abcdefghijkl") + resp("401 Unauthorized", "1", `WWW-Authenticate: Bearer realm="r", scope="sip:register", error="insufficient_scope"`),
			`error log-token-refused line 7: the node refused the token of REGISTER CSeq 1: 401 Unauthorized with error="insufficient_scope"`},
		{"retry with a token clears the challenge", reg("1") + resp("401 Unauthorized", "1", `WWW-Authenticate: Bearer realm="r"`) + reg("2", "Authorization: Bearer abcdefghijkl") +
			resp("200 OK", "2", "Contact: <sip:a@b>;expires=60"),
			"info log-registered line 18: REGISTER CSeq 2 answered 200 OK: registered for 60 s"},
		{"an unregistration is not a registration", reg("1", "Expires: 0") + resp("200 OK", "1") + logRecord("09:15:03,000", "INFO", "unregistered"),
			""},
		{"404", reg("1") + resp("404 Not Found", "1"),
			"error log-register-rejected line 6: REGISTER CSeq 1 refused: 404 Not Found"},
		{"503", reg("1") + resp("503 Service Unavailable", "1", `Warning: 399 expc "hop failed"`),
			`error log-register-rejected line 6: REGISTER CSeq 1 refused: 503 Service Unavailable, Warning: 399 expc "hop failed"`},
		{"a provisional response is not an answer", reg("1") + resp("100 Trying", "1"),
			"warning log-no-response line 1: REGISTER CSeq 1 (line 1) got no final response in the log"},
		{"cut start line", "2024-05-06 09:15:02,901 DEBUG [0x1] [a] - sipio-sent---> REGISTER sip:10.10.10.1\n",
			"warning log-truncated-message line 1: the SIP message at line 1 is cut before its start line is complete"},
		{"log ends in a message", "2024-05-06 09:15:02,901 DEBUG [0x1] [a] - sipio-recv<--- SIP/2.0 100 Trying\nCSeq: 1 REGISTER\nVia: SIP/2.0/TLS x",
			"warning log-truncated-message line 1: the SIP message at line 1 is cut: the log ends inside it"},
		{"bad certificate alert", logRecord("09:15:02,870", "ERROR", "SSL_connect failed: sslv3 alert bad certificate"),
			`error log-tls-failure line 1: TLS handshake failed: the peer refused this side's certificate with alert bad_certificate. On the node's MRA OAuth port (5091) this is troubleshooting scenario 3: the Expressway-C certificate's CN or SAN is not in the node's Expressway-C table, or its signer is not in tomcat-trust ("SSL_connect failed: sslv3 alert bad certificate")`},
		{"edge does not trust the node", logRecord("09:15:02,870", "ERROR", "x509: certificate signed by unknown authority"),
			`error log-tls-failure line 1: TLS handshake failed: this side does not trust the signer of the peer's certificate. Seen by Expressway-C connecting to the node's MRA OAuth port, this is troubleshooting scenario 2: Expressway-C does not trust the signer of the node's Tomcat certificate ("x509: certificate signed by unknown authority")`},
		{"expired", logRecord("09:15:02,870", "ERROR", "TLS: the certificate has expired"),
			`error log-tls-failure line 1: TLS handshake failed: a certificate is expired or not yet valid ("TLS: the certificate has expired")`},
		{"other handshake failure", logRecord("09:15:02,870", "ERROR", "TLS handshake failed: connection reset by peer"),
			`error log-tls-failure line 1: TLS handshake failed ("TLS handshake failed: connection reset by peer")`},
		{"a helper's name is not a failure", logRecord("09:15:02,870", "DEBUG", "[csf::ecc::CertificateVerificationHelper::setSipOauthMode] handshake done") + reg("1") + resp("200 OK", "1"),
			"info log-registered line 7: REGISTER CSeq 1 answered 200 OK: registered"},
		{"a start line in a body is the body's", reg("1") + resp("200 OK", "1") +
			sipRecord(false, "09:15:04,000", "NOTIFY sip:alice@10.10.10.20 SIP/2.0", "Call-ID: n1", "CSeq: 9 NOTIFY", "Content-Type: message/sipfrag", "Content-Length: 16", "", "SIP/2.0 200 OK"),
			"info log-registered line 6: REGISTER CSeq 1 answered 200 OK: registered"},
		{"repeated findings are counted", reg("1") + resp("404 Not Found", "1") + reg("1") + resp("404 Not Found", "1"),
			"error log-register-rejected line 6: REGISTER CSeq 1 refused: 404 Not Found (seen 2 times; the last at line 16)"},
	}
	for _, tt := range tests {
		rep, err := clientlog.Analyze(strings.NewReader(tt.log), clientlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep, []byte(tt.log))
		var got []string
		for _, f := range rep.Findings {
			got = append(got, f.String())
		}
		var want []string
		if tt.want != "" {
			want = []string{tt.want}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, want)
		}
	}
}

// TestAdversarialInputs: inputs built to make the analyzer slow or big
// are read in linear time and bounded memory.
func TestAdversarialInputs(t *testing.T) {
	t.Parallel()
	head := "2024-05-06 09:15:02,901 DEBUG [0x1] [a] - sipio-recv<--- NOTIFY sip:a SIP/2.0\nCSeq: 1 NOTIFY\nContent-Length: 5\n\n"
	tests := []struct {
		name string
		in   string
	}{
		{"start lines in a body", head + strings.Repeat("SIP/2.0 200 OK\n", 200000)},
		{"start lines, no body", strings.Repeat("SIP/2.0 200 OK\nCSeq: 1 REGISTER\n", 100000)},
		{"colons", strings.Repeat(strings.Repeat("12:34:", 1000)+"\n", 500)},
		{"empty lines in a message", head + strings.Repeat("\n", 1000000)},
		{"header names", "2024-05-06 09:15:02,901 DEBUG [0x1] [a] - sipio-sent---> REGISTER sip:a SIP/2.0 " + strings.Repeat("a: ", 1000000)},
		{"bearer", strings.Repeat("2024-05-06 09:15:02,901 DEBUG [0x1] [a] - Bearer Bearer Bearer token=\"eyJ eyJ.eyJ\n", 50000)},
		{"ccm", strings.Repeat("2024-05-06 09:15:02,901 INFO [0x1] [a] - ccm0=h ccm1=h sip_oauth_port_0=1 sip_mar_oauth_port_0=2 create TLS connection a:1-----h:1\n", 50000)},
		{"many Call-IDs", func() string {
			var b strings.Builder
			for i := range 20000 {
				fmt.Fprintf(&b, "2024-05-06 09:15:02,901 DEBUG [0x1] [a] - sipio-sent---> REGISTER sip:a SIP/2.0\nCall-ID: %d\nCSeq: 1 REGISTER\nContent-Length: 0\n", i)
				fmt.Fprintf(&b, "2024-05-06 09:15:02,902 DEBUG [0x1] [a] - sipio-recv<--- SIP/2.0 407 P\nCall-ID: %d\nCSeq: 1 REGISTER\nProxy-Authenticate: Bearer realm=\"r\", error=\"e%d\"\nContent-Length: 0\n", i, i)
			}
			return b.String()
		}()},
	}
	for _, tt := range tests {
		start := time.Now()
		rep, err := clientlog.Analyze(strings.NewReader(tt.in), clientlog.Options{MaxEvents: 1000})
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep, []byte(tt.in))
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s: %v for %d bytes", tt.name, d, len(tt.in))
		}
		if len(rep.Timeline) > 1000 || len(rep.Findings) > 20 {
			t.Errorf("%s: %d events, %d findings", tt.name, len(rep.Timeline), len(rep.Findings))
		}
	}
}
