package clientlog

import (
	"strings"
	"testing"
)

func TestFindHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		start, end int
		ok         bool
		st         stamp
	}{
		{"2020-03-30 13:03:18,278 DEBUG [0x000012d8] [src]", 0, 29, true,
			stamp{hasDate: true, year: 2020, month: 3, day: 30, hour: 13, min: 3, sec: 18, millis: 278}},
		// The document's wrapped form: the header follows the end of the previous record.
		{"retrieved config for CSFrado 2020-03-30 13:03:18,278 DEBUG [0x000012d8] ", 29, 58, true,
			stamp{hasDate: true, year: 2020, month: 3, day: 30, hour: 13, min: 3, sec: 18, millis: 278}},
		// No date, and a no-break space after the level.
		{"for each UCM server 13:03:19,013 INFO\u00a0 [0x00002484] ", 20, 37, true,
			stamp{hour: 13, min: 3, sec: 19, millis: 13}},
		// The level ends the line: the '[' is on the next one.
		{"2024-05-06 09:15:02.114 WARN  ", 0, 28, true,
			stamp{hasDate: true, year: 2024, month: 5, day: 6, hour: 9, min: 15, sec: 2, millis: 114}},
		// The line ends after the time.
		{"sip_mra_oauth_port_2=5091 2024-05-06 09:15:02,850 ", 26, 50, true,
			stamp{hasDate: true, year: 2024, month: 5, day: 6, hour: 9, min: 15, sec: 2, millis: 850}},
		{"09:15:02,850", 0, 0, false, stamp{}}, // no blank after the time
		{"Date: Mon, 30 Mar 2020 11:03:19 GMT CSeq: 2270 REGISTER", 0, 0, false, stamp{}},
		{"13:03:19,013 info [0x1]", 0, 0, false, stamp{}},          // lower-case level
		{"13:03:19,013 DEBUG text", 0, 0, false, stamp{}},          // no '['
		{"x13:03:19,013 DEBUG [0x1]", 0, 0, false, stamp{}},        // glued to a word
		{"13:03:19,01 DEBUG [0x1]", 0, 0, false, stamp{}},          // two-digit milliseconds
		{"13:03:19,013 VERYLONGLEVEL [0x1]", 0, 0, false, stamp{}}, // not a level
		{"", 0, 0, false, stamp{}},
		{":", 0, 0, false, stamp{}},
		{"1:2", 0, 0, false, stamp{}},
	}
	for _, tt := range tests {
		start, end, st, ok := findHeader([]byte(tt.in))
		if start != tt.start || end != tt.end || ok != tt.ok || st != tt.st {
			t.Errorf("findHeader(%q) = %d, %d, %+v, %v; want %d, %d, %+v, %v", tt.in, start, end, st, ok, tt.start, tt.end, tt.st, tt.ok)
		}
	}
}

func TestBareStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		req, ok  bool
		describe string
	}{
		{"SIP/2.0 403 Forbidden Via: SIP/2.0/TLS 10.5.10.121:50347", false, true, "flattened response"},
		{"SIP/2.0 200", false, true, "status without reason"},
		{"  SIP/2.0 407 Proxy Authentication Required", false, true, "indented"},
		{"REGISTER sip:10.10.10.1 SIP/2.0", true, true, "request"},
		{"REGISTER sip:10.10.10.1 SIP/2.0 Via: SIP/2.0/TLS 10.10.10.10:62162", true, true, "flattened request"},
		{"SIP/2.0 700 Nope", false, false, "status out of range"},
		{"SIP/2.0 20 OK", false, false, "short status"},
		{"Via: SIP/2.0/TLS 10.10.10.10", false, false, "a header"},
		{"REGISTER sip:10.10.10.1 SIP/2.0x", false, false, "bad version"},
		{"REGISTER  SIP/2.0", false, false, "no URI"},
		{"Register sip:x SIP/2.0", false, false, "lower-case method"},
		{"2020-03-30 13:03:18,278 DEBUG", false, false, "a log header"},
		{"", false, false, "empty"},
	}
	for _, tt := range tests {
		req, ok := bareStart([]byte(tt.in))
		if req != tt.req || ok != tt.ok {
			t.Errorf("%s: bareStart(%q) = %v, %v; want %v, %v", tt.describe, tt.in, req, ok, tt.req, tt.ok)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`Proxy-Authorization: Bearer token="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0.c2ln" Supported: x`,
			`Proxy-Authorization: Bearer token="*********************************************" Supported: x`},
		{`Authorization: Bearer dGhpcy1pcy1hLXRva2Vu== Expires: 3600`,
			`Authorization: Bearer ********************** Expires: 3600`},
		{`Authorization: BEARER opaque-token-1234, x`, `Authorization: BEARER *****************, x`},
		{`Authorization: Bearer access_token=abcdefgh;x`, `Authorization: Bearer access_token=********;x`},
		// The document's form: the token was removed, blanks are kept.
		{"Proxy-Authorization: Bearer token=\"   \" Supported", "Proxy-Authorization: Bearer token=\"   \" Supported"},
		// An unterminated quote is masked to the end of the line only.
		{"Bearer token=\"abc def\nVia: x", "Bearer token=\"*** ***\nVia: x"},
		// Challenges are kept.
		{`Proxy-Authenticate: Bearer realm="ccmsipline"`, `Proxy-Authenticate: Bearer realm="ccmsipline"`},
		{`WWW-Authenticate: Bearer realm="x", error="invalid_token"`, `WWW-Authenticate: Bearer realm="x", error="invalid_token"`},
		// Prose: a short word after "bearer" is not a token.
		{`the bearer token was refused`, `the bearer token was refused`},
		// A JWT anywhere.
		{`got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig from the store`, `got ` + strings.Repeat("*", 40) + ` from the store`},
		{`eyJshort.x`, `eyJshort.x`},
		{`Bearer`, `Bearer`},
		{`Bearer `, `Bearer `},
		{`xBearer abcdefghij`, `xBearer **********`},
	}
	for _, tt := range tests {
		b := []byte(tt.in)
		redact(b)
		if string(b) != tt.want {
			t.Errorf("redact(%q)\n got %q\nwant %q", tt.in, b, tt.want)
		}
	}
}

func TestParseMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want message
	}{
		{"flattened, as in the document",
			"REGISTER sip:10.10.10.1 SIP/2.0 Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00004a82 From: ;tag=1 To: " +
				"Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10 CSeq: 2271 REGISTER Contact: ;+sip.instance=\" \";video " +
				"Proxy-Authorization: Bearer token=\" \" Expires: 3600 Content-Length: 1271 --uniqueBoundary Content-Type: text/plain Expires: 9",
			message{request: true, startOK: true, method: "REGISTER", uri: "sip:10.10.10.1", callID: "88232345-12340017-00001c0b-00000cfa@10.10.10.10",
				cseq: 2271, cseqMeth: "REGISTER", hasCSeq: true, expires: 3600, hasExp: true, viaHost: "10.10.10.10:62162", token: true, ended: true}},
		{"one header per line, body after a blank line",
			"SIP/2.0 200 OK\nVia: SIP/2.0/TLS [2001:db8::5]:5061;branch=z9\nCall-ID: abc\nCSeq: 7 REGISTER\n" +
				"Contact: <sip:a@b;transport=tls>;expires=120;x-cisco-newreg\n\nExpires: 99",
			message{startOK: true, status: 200, reason: "OK", callID: "abc", cseq: 7, cseqMeth: "REGISTER", hasCSeq: true,
				contactEx: 120, hasConEx: true, viaHost: "[2001:db8::5]:5061", ended: true}},
		{"a header name inside a quoted string does not start a header",
			`SIP/2.0 401 Unauthorized WWW-Authenticate: Bearer realm="x", error_description="Note: expired" i: c1 CSeq: 1 REGISTER`,
			message{startOK: true, status: 401, reason: "Unauthorized", challenge: `Bearer realm="x", error_description="Note: expired"`,
				chName: "WWW-Authenticate", callID: "c1", cseq: 1, cseqMeth: "REGISTER", hasCSeq: true}},
		{"two Warning headers are joined",
			"SIP/2.0 403 Forbidden Warning: 399 A \"one\" Warning: 399 B \"two\" Retry-After: 35 CSeq: 2 REGISTER",
			message{startOK: true, status: 403, reason: "Forbidden", warning: `399 A "one", 399 B "two"`, retry: "35", cseq: 2, cseqMeth: "REGISTER", hasCSeq: true}},
		{"cut start line", "REGISTER sip:10.10.10.1", message{request: true, method: "REGISTER", uri: "sip:10.10.10.1"}},
		{"not SIP", "hello: world", message{}},
		{"empty", "", message{}},
	}
	for _, tt := range tests {
		var m message
		parseMessage([]byte(tt.in), &m, &interner{m: map[string]string{}})
		if m != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, m, tt.want)
		}
	}
}

func TestCleanString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"  a \t b\r\n c  ", 100, "a b c"},
		{"a\u00a0\u00a0b", 100, "a b"},
		{"Ger\xe4t", 100, "Ger\ufffdt"},
		{"abcdef", 3, "abc…"},
		{"ab\u00e9", 3, "ab…"},
		{"", 10, ""},
	}
	for _, tt := range tests {
		if got := cleanString([]byte(tt.in), tt.limit); got != tt.want {
			t.Errorf("cleanString(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestParam(t *testing.T) {
	t.Parallel()
	v := `Bearer realm="ccmsipline", error="invalid_token", error_description="expired", scope=sip:register`
	for name, want := range map[string]string{
		"realm": "ccmsipline", "error": "invalid_token", "error_description": "expired", "scope": "sip:register", "x": "",
	} {
		if got := param(v, name); got != want {
			t.Errorf("param(%q) = %q, want %q", name, got, want)
		}
	}
	if got := param(`Bearer xerror="a", error=b`, "error"); got != "b" {
		t.Errorf("param found %q inside another name", got)
	}
}

func TestStartsHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, line string
		want       bool
	}{
		{"Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK1", "From: <sip:a@b>", true},
		{"Mime-Version: 1.0 Content-", "Length: 1271 # 200 OK", false}, // the document's wrap
		{"Call-ID: abc-", "CSeq: 1 REGISTER", true},                    // a value ending in a hyphen
		{"X-cisco-", "serviceuri,X-cisco-escapecodes", false},          // not a header
		{"Date: Mon, 30 ", "Mar 2020 11:03:19 GMT", false},
		{"foo-", "Bar: x", false}, // neither name is known: joined, as wrapped
		{"", "Via: x", true},
		{"To: ", "", false},
	}
	for _, tt := range tests {
		if got := startsHeader([]byte(tt.text), []byte(tt.line)); got != tt.want {
			t.Errorf("startsHeader(%q, %q) = %v, want %v", tt.text, tt.line, got, tt.want)
		}
	}
}
