package ucm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/ucm"
)

// TestParseWarnings reads RFC 3261 Warning values.
func TestParseWarnings(t *testing.T) {
	t.Parallel()
	ws, err := ucm.ParseWarnings(`399 UCM2-PUB "SIP OAuth Registration port Mismatch"`)
	if err != nil || len(ws) != 1 || ws[0] != (ucm.Warning{Code: 399, Agent: "UCM2-PUB", Text: "SIP OAuth Registration port Mismatch"}) {
		t.Fatalf("%+v %v", ws, err)
	}
	ws, err = ucm.ParseWarnings(`307 isi.edu "Session parameter 'foo' not understood", 301 [::1]:5060 "a \"quoted\" word"`)
	if err != nil || len(ws) != 2 || ws[1].Agent != "[::1]:5060" || ws[1].Text != `a "quoted" word` || ws[0].Code != 307 {
		t.Fatalf("%+v %v", ws, err)
	}
	for _, bad := range []string{"", "39 x \"y\"", "399 \"y\"", "399 x y", "399 x \"y", "399 x \"y\" z", "399x \"y\"", "399 x \"y\"," + strings.Repeat(" ", 8<<10)} {
		if _, err := ucm.ParseWarnings(bad); err != ucm.ErrMalformedWarning {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestParseWarningsPartial returns the values read before the error.
func TestParseWarningsPartial(t *testing.T) {
	t.Parallel()
	ws, err := ucm.ParseWarnings(`399 UCM2-PUB "SIP OAuth Registration port Mismatch", 399 x y`)
	if err == nil || len(ws) != 1 || !ws[0].IsPortMismatch() {
		t.Fatalf("%+v %v", ws, err)
	}
}

// TestWarningString writes the port mismatch as Unified CM does, "-" for
// a missing agent, and escapes what a quoted-string must.
func TestWarningString(t *testing.T) {
	t.Parallel()
	cases := []struct {
		w    ucm.Warning
		want string
	}{
		{ucm.PortMismatchWarning("UCM2-PUB"), `399 UCM2-PUB "SIP OAuth Registration port Mismatch"`},
		{ucm.PortMismatchWarning(""), `399 - "SIP OAuth Registration port Mismatch"`},
		{ucm.Warning{Code: 399, Agent: "edge1", Text: "Too many registered contacts"}, `399 edge1 "Too many registered contacts"`},
		{ucm.Warning{Code: 7, Agent: "a", Text: `say "hi" \ bye`}, `007 a "say \"hi\" \\ bye"`},
		{ucm.Warning{Code: 1000, Agent: "a", Text: "x\r\ny\tz\x7f\x00"}, "399 a \"xy\tz\\\x7f\\\x00\""},
		{ucm.Warning{Code: -1, Agent: "a", Text: ""}, `399 a ""`},
	}
	for _, c := range cases {
		if got := c.w.String(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.w, got, c.want)
		}
	}
}

// TestWarningRoundTrip reads back what String writes.
func TestWarningRoundTrip(t *testing.T) {
	t.Parallel()
	for _, w := range []ucm.Warning{
		ucm.PortMismatchWarning("CUCM1-PUB"),
		{Code: 301, Agent: "[::1]:5060", Text: `a "quoted" \ word, with a comma`},
		{Code: 399, Agent: "n", Text: "naïve"},
		{Code: 399, Agent: "n", Text: ""},
		{Code: 0, Agent: "0", Text: "\x00\x1f\x7f\t"},
	} {
		ws, err := ucm.ParseWarnings(w.String())
		if err != nil || len(ws) != 1 || ws[0] != w {
			t.Errorf("%+v: %+v %v", w, ws, err)
		}
	}
}

// TestPortMismatch recognises the port mismatch by code and text, the
// text in any case, and finds the node that sent it.
func TestPortMismatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		node string
		ok   bool
	}{
		{`399 UCM2-PUB "SIP OAuth Registration port Mismatch"`, "UCM2-PUB", true},
		{`399 UCM2-PUB "sip oauth registration port mismatch"`, "UCM2-PUB", true},
		{`307 isi.edu "x", 399 n2 "SIP OAuth Registration port Mismatch"`, "n2", true},
		{`398 UCM2-PUB "SIP OAuth Registration port Mismatch"`, "", false},
		{`399 UCM2-PUB "SIP OAuth Registration port Mismatch!"`, "", false},
		{`399 UCM2-PUB SIP OAuth Registration port Mismatch`, "", false},
		{"", "", false},
	}
	for _, c := range cases {
		node, ok := ucm.PortMismatchNode(c.in)
		if node != c.node || ok != c.ok || ucm.IsPortMismatch(c.in) != c.ok {
			t.Errorf("%q: %q %v", c.in, node, ok)
		}
	}
}

// TestParseRetryAfter reads delta-seconds with or without a comment.
func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	cases := map[string]time.Duration{"35": 35 * time.Second, " 18000 (in a meeting);duration=3600": 5 * time.Hour, "99999999999999999999": 4294967295 * time.Second}
	for in, want := range cases {
		if got, ok := ucm.ParseRetryAfter(in); !ok || got != want {
			t.Errorf("%q: %s %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "-1", "soon", "35 seconds", strings.Repeat("1", 8<<10+1)} {
		if _, ok := ucm.ParseRetryAfter(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
