package sipmsg

import (
	"reflect"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// jabberRegister is a REGISTER as Jabber sends it on the OAuth port,
// its token shortened.
const jabberRegister = "REGISTER sip:cucm.example.com SIP/2.0\r\n" +
	"Via: SIP/2.0/TLS 192.0.2.10:51000;branch=z9hG4bK00001;rport\r\n" +
	"From: <sip:rado@cucm.example.com>;tag=a1b2\r\n" +
	"To: <sip:rado@cucm.example.com>\r\n" +
	"Call-ID: 0001-0002@192.0.2.10\r\n" +
	"Max-Forwards: 70\r\n" +
	"Date: Mon, 07 Dec 2026 05:00:00 GMT\r\n" +
	"CSeq: 2270 REGISTER\r\n" +
	"User-Agent: Cisco-CSF\r\n" +
	"Contact: <sip:9f2c@192.0.2.10:51000;transport=tls>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-00059a3c7a00>\";+u.sip!devicename.ccm.cisco.com=\"CSFrado\";+u.sip!model.ccm.cisco.com=\"503\"\r\n" +
	"Expires: 3600\r\n" +
	"Proxy-Authorization: Bearer token=\"eyJhbGciOiJSUzI1NiJ9.e30.c2ln\"\r\n" +
	"Supported: replaces,join,sdp-anat,norefersub,resource-priority,extended-refer,X-cisco-callinfo,X-cisco-serviceuri,X-cisco-escapecodes,X-cisco-service-control,X-cisco-srtp-fallback,X-cisco-monrec,X-cisco-config,X-cisco-sis-7.0.0,X-cisco-xsi-8.5.1\r\n" +
	"Content-Length: 0\r\n\r\n"

// cases are messages each parsed both ways; fast says whether Parse
// reads it itself rather than handing it to sipgo.
var cases = []struct {
	name string
	in   string
	fast bool
}{
	{"jabber register", jabberRegister, true},
	{"compact forms", "REGISTER sip:example.com SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nf: <sip:a@example.com>;tag=1\r\nt: <sip:a@example.com>\r\ni: c1\r\nCSeq: 1 REGISTER\r\nm: <sip:a@127.0.0.1>\r\nl: 0\r\n\r\n", true},
	{"upper-case names", "REGISTER sip:example.com SIP/2.0\r\nVIA: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\nCALL-ID: c1\r\nMAX-FORWARDS: 70\r\nCSEQ: 1 REGISTER\r\n\r\n", true},
	{"no content-length, a body", "MESSAGE sip:a@example.com SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\n\r\nhello", true},
	{"body by content-length", "MESSAGE sip:a@example.com SIP/2.0\r\nCall-ID: c1\r\nContent-Length: 5\r\n\r\nhello and more", true},
	{"spaces around the colon", "OPTIONS sip:example.com SIP/2.0\r\nCall-ID  :   c1  \r\nX-Thing:\r\n: empty name\r\n\r\n", true},
	{"no headers", "OPTIONS sip:example.com SIP/2.0\r\n\r\n", true},
	{"bare LF inside a line", "OPTIONS sip:example.com SIP/2.0\r\nSubject: a\nb\r\n\r\n", true},
	{"two vias in one line", "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1, SIP/2.0/UDP 127.0.0.2;branch=z9hG4bK2\r\nCall-ID: c1\r\n\r\n", false},
	{"two contacts in one line", "REGISTER sip:example.com SIP/2.0\r\nContact: <sip:a@127.0.0.1>, <sip:b@127.0.0.1>\r\n\r\n", false},
	{"folded line", "REGISTER sip:example.com SIP/2.0\r\nSubject: a\r\n b\r\nCall-ID: c1\r\n\r\n", false},
	{"lower-case method", "register sip:example.com SIP/2.0\r\nCall-ID: c1\r\n\r\n", false},
	{"response", "SIP/2.0 200 OK\r\nCall-ID: c1\r\nContent-Length: 0\r\n\r\n", false},
	{"lone CR", "REGISTER sip:example.com SIP/2.0\r\nCall-ID: c\r1\r\n\r\n", false},
	{"no colon", "REGISTER sip:example.com SIP/2.0\r\nCall-ID c1\r\n\r\n", false},
	{"bad cseq", "REGISTER sip:example.com SIP/2.0\r\nCSeq: x REGISTER\r\n\r\n", false},
	{"wildcard target", "REGISTER * SIP/2.0\r\nCall-ID: c1\r\n\r\n", false},
	{"body cut short", "MESSAGE sip:a@example.com SIP/2.0\r\nContent-Length: 50\r\n\r\nhello", false},
	{"no end of headers", "REGISTER sip:example.com SIP/2.0\r\nCall-ID: c1\r\n", false},
	{"empty", "", false},
}

// TestSameAsSipgo parses every case both ways and compares the results
// header by header.
func TestSameAsSipgo(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRequest([]byte(tc.in)) != nil; got != tc.fast {
				t.Errorf("read by Parse itself: %v, want %v", got, tc.fast)
			}
			same(t, []byte(tc.in))
		})
	}
}

// TestJabberRegister checks the values Parse gives on the usual request.
func TestJabberRegister(t *testing.T) {
	m, err := Parse([]byte(jabberRegister))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	if req.Method != sip.REGISTER || req.Recipient.Host != "cucm.example.com" || req.SipVersion != "SIP/2.0" {
		t.Errorf("request line: %s %s %s", req.Method, req.Recipient.String(), req.SipVersion)
	}
	if v := req.Via(); v == nil || v.Host != "192.0.2.10" || v.Port != 51000 || v.Transport != "TLS" {
		t.Errorf("Via: %v", v)
	}
	if b, _ := req.Via().Params.Get("branch"); b != "z9hG4bK00001" {
		t.Errorf("branch %q", b)
	}
	if c := req.CSeq(); c == nil || c.SeqNo != 2270 || c.MethodName != sip.REGISTER {
		t.Errorf("CSeq: %v", c)
	}
	if c := req.Contact(); c == nil || c.Address.User != "9f2c" || c.Address.Port != 51000 {
		t.Errorf("Contact: %v", c)
	} else if d, _ := c.Params.Get("+u.sip!devicename.ccm.cisco.com"); d != `"CSFrado"` {
		t.Errorf("device name %q", d)
	}
	if h := req.GetHeader("Proxy-Authorization"); h == nil || h.Value() != `Bearer token="eyJhbGciOiJSUzI1NiJ9.e30.c2ln"` {
		t.Errorf("Proxy-Authorization: %v", h)
	}
	if got := m.String(); got != jabberRegister {
		t.Errorf("written again:\n%q\nwant\n%q", got, jabberRegister)
	}
}

// TestKeepsNoReference checks that the message does not change when the
// bytes it was read from are reused.
func TestKeepsNoReference(t *testing.T) {
	in := []byte(jabberRegister)
	m, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'x'
	}
	if got := m.String(); got != jabberRegister {
		t.Errorf("after the buffer was overwritten:\n%q", got)
	}
}

// same parses in with Parse and with sipgo's parser and fails unless the
// two agree: both refuse it, or both give the same message.
func same(t *testing.T, in []byte) {
	t.Helper()
	got, gotErr := Parse(in)
	want, wantErr := sip.NewParser().ParseSIP(in)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("error %v, sipgo's %v", gotErr, wantErr)
	}
	if wantErr != nil {
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("error %q, sipgo's %q", gotErr, wantErr)
		}
		return
	}
	if got.String() != want.String() {
		t.Fatalf("message\n%q\nsipgo's\n%q", got.String(), want.String())
	}
	if g, w := string(got.Body()), string(want.Body()); g != w {
		t.Fatalf("body %q, sipgo's %q", g, w)
	}
	gr, ok1 := got.(*sip.Request)
	wr, ok2 := want.(*sip.Request)
	if ok1 != ok2 {
		t.Fatalf("kinds %T and sipgo's %T", got, want)
	}
	if ok1 && (gr.Method != wr.Method || gr.SipVersion != wr.SipVersion || !reflect.DeepEqual(gr.Recipient, wr.Recipient)) {
		t.Fatalf("request line %q %#v %q, sipgo's %q %#v %q", gr.Method, gr.Recipient, gr.SipVersion, wr.Method, wr.Recipient, wr.SipVersion)
	}
	gh, wh := headersOf(got), headersOf(want)
	if len(gh) != len(wh) {
		t.Fatalf("%d headers, sipgo %d", len(gh), len(wh))
	}
	for i := range gh {
		if reflect.TypeOf(gh[i]) != reflect.TypeOf(wh[i]) || !reflect.DeepEqual(gh[i], wh[i]) {
			t.Fatalf("header %d: %T %#v, sipgo's %T %#v", i, gh[i], gh[i], wh[i], wh[i])
		}
	}
}

func headersOf(m sip.Message) []sip.Header {
	switch m := m.(type) {
	case *sip.Request:
		return m.Headers()
	case *sip.Response:
		return m.Headers()
	}
	return nil
}

// FuzzParse checks that Parse and sipgo's parser agree on any input.
func FuzzParse(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16+1 {
			return
		}
		same(t, data)
	})
}

// BenchmarkParse compares Parse with sipgo's parser on a REGISTER as
// Jabber sends it.
func BenchmarkParse(b *testing.B) {
	in := []byte(strings.Replace(jabberRegister, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", strings.Repeat("x", 1200), 1))
	b.Run("sipmsg", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := Parse(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sipgo", func(b *testing.B) {
		p := sip.NewParser()
		b.ReportAllocs()
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := p.ParseSIP(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
