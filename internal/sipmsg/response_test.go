package sipmsg

import (
	"regexp"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// toTag matches the tag the response's To header got.
var toTag = regexp.MustCompile(`(?m)^(To: .*;tag=)([^;\r]*)`)

// TestNewResponseAsSipgo builds answers with NewResponse and with sipgo's
// NewResponseFromRequest and compares them byte for byte, the To tags
// aside, which are random; the request stays as it was.
func TestNewResponseAsSipgo(t *testing.T) {
	const register = "REGISTER sip:example.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK0\r\n" +
		"From: \"Rado\" <sip:rado@example.com>;tag=f1\r\n" +
		"To: <sip:rado@example.com>\r\n" +
		"Call-ID: c1@127.0.0.1\r\nCSeq: 7 REGISTER\r\n" +
		"Record-Route: <sip:127.0.0.3;lr>\r\nTimestamp: 54\r\n" +
		"Contact: <sip:rado@127.0.0.1:5062>\r\nContent-Length: 0\r\n\r\n"
	cases := []struct {
		name   string
		method string
		code   int
		edit   func(string) string
	}{
		{"register 200 with rport", "REGISTER", 200, nil},
		{"register 401", "REGISTER", 401, nil},
		{"register, rport with a value", "REGISTER", 200, func(s string) string { return strings.Replace(s, ";rport\r\n", ";rport=9\r\n", 1) }},
		{"register, no rport", "REGISTER", 200, func(s string) string { return strings.Replace(s, ";rport\r\n", "\r\n", 1) }},
		{"to with a tag", "REGISTER", 200, func(s string) string {
			return strings.Replace(s, "To: <sip:rado@example.com>", "To: <sip:rado@example.com>;tag=t9", 1)
		}},
		{"options 200 keeps record-route", "OPTIONS", 200, nil},
		{"options 405", "OPTIONS", 405, nil},
		{"invite 180", "INVITE", 180, nil},
		{"invite 183", "INVITE", 183, nil},
		{"invite 100 keeps timestamp", "INVITE", 100, nil},
		{"cancel 481", "CANCEL", 481, nil},
		{"ack", "ACK", 200, nil},
		{"no vias", "OPTIONS", 200, func(s string) string {
			return strings.NewReplacer("Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport\r\n", "", "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK0\r\n", "").Replace(s)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := strings.Replace(strings.Replace(register, "REGISTER sip:", tc.method+" sip:", 1), "7 REGISTER", "7 "+tc.method, 1)
			if tc.edit != nil {
				raw = tc.edit(raw)
			}
			m, err := Parse([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			req := m.(*sip.Request)
			req.SetSource("127.0.0.9:40000")
			req.SetTransport("UDP")
			before := req.String()
			got := NewResponse(req, tc.code, "Some Reason")
			want := sip.NewResponseFromRequest(req, tc.code, "Some Reason", nil)
			if req.String() != before {
				t.Fatalf("the request changed:\n%s", req.String())
			}
			g, w := got.String(), want.String()
			if tc.code != 100 && req.To().Params.Has("tag") == false {
				if tag := toTag.FindStringSubmatch(g); tag == nil || !regexp.MustCompile(`^[0-9a-f]{1,16}$`).MatchString(tag[2]) {
					t.Fatalf("To tag %q", tag)
				}
			}
			g, w = toTag.ReplaceAllString(g, "${1}X"), toTag.ReplaceAllString(w, "${1}X")
			if g != w {
				t.Fatalf("answer\n%s\nsipgo's\n%s", g, w)
			}
			if got.Destination() != want.Destination() || got.Transport() != want.Transport() {
				t.Fatalf("destination %q %q, sipgo's %q %q", got.Destination(), got.Transport(), want.Destination(), want.Transport())
			}
			if tc.name == "register 200 with rport" && !strings.Contains(g, "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport=40000;received=127.0.0.9\r\n") {
				t.Fatalf("top Via without rport and received:\n%s", g)
			}
		})
	}
}

// TestNewResponseTagsDiffer checks that two answers to one request get
// two To tags.
func TestNewResponseTagsDiffer(t *testing.T) {
	m, err := Parse([]byte("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	a, _ := NewResponse(req, 200, "OK").To().Params.Get("tag")
	b, _ := NewResponse(req, 200, "OK").To().Params.Get("tag")
	if a == "" || a == b {
		t.Fatalf("tags %q and %q", a, b)
	}
	if req.To().Params.Has("tag") {
		t.Fatal("the request's To got a tag")
	}
}

// BenchmarkNewResponse compares NewResponse with sipgo's
// NewResponseFromRequest on a REGISTER's 200, written out.
func BenchmarkNewResponse(b *testing.B) {
	m, err := Parse([]byte("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1;rport\r\n" +
		"From: <sip:rado@example.com>;tag=f1\r\nTo: <sip:rado@example.com>\r\nCall-ID: c1@127.0.0.1\r\nCSeq: 7 REGISTER\r\n" +
		"Contact: <sip:rado@127.0.0.1:5062>\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		b.Fatal(err)
	}
	req := m.(*sip.Request)
	req.SetSource("127.0.0.1:5062")
	for _, bc := range []struct {
		name string
		f    func() *sip.Response
	}{
		{"sipmsg", func() *sip.Response { return NewResponse(req, 200, "OK") }},
		{"sipgo", func() *sip.Response { return sip.NewResponseFromRequest(req, 200, "OK", nil) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var sb strings.Builder
			b.ReportAllocs()
			for b.Loop() {
				sb.Reset()
				bc.f().StringWrite(&sb)
			}
		})
	}
}
