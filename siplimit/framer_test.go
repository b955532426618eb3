package siplimit

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// register is a REGISTER as a Jabber client sends it over TCP, with the
// Content-Length value and the body to fill in.
func register(callID, cl, body string) string {
	return "REGISTER sip:10.10.10.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 10.0.0.5:51234;branch=z9hG4bK-" + callID + ";rport\r\n" +
		"From: <sip:1001@10.10.10.1>;tag=abc\r\n" +
		"To: <sip:1001@10.10.10.1>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 REGISTER\r\n" +
		"Contact: <sip:1001@10.0.0.5:51234;transport=tcp>;+u.sip!devicename.ccm.cisco.com=\"CSFrado\"\r\n" +
		"Expires: 3600\r\n" +
		"Content-Length: " + cl + "\r\n\r\n" + body
}

// delivery is what a Conn passes on when the stream arrives in chunks.
type delivery struct {
	chunks    [][]byte // what each read passes on
	pending   int      // bytes held back at the end
	fail      failure
	completed uint64
}

// follow feeds chunks to f through a gate, as Conn.Read does.
func follow(f *framer, chunks [][]byte) delivery {
	var r delivery
	g := gate{fr: *f}
	for _, c := range chunks {
		buf := make([]byte, maxNULs+2+len(c))
		p := g.prefix(buf)
		copy(buf[p:], c)
		if out := g.pass(buf, p, len(c)); len(out) > 0 {
			r.chunks = append(r.chunks, out)
		}
	}
	*f = g.fr
	r.fail, r.completed = f.fail, f.completed
	r.pending = g.nuls
	if g.held {
		r.pending++
	}
	return r
}

// split cuts s at the given sizes, cycling through them; 0 means 1.
func split(s []byte, sizes ...int) [][]byte {
	var out [][]byte
	for i := 0; len(s) > 0; i++ {
		n := 1
		if len(sizes) > 0 {
			n = max(1, sizes[i%len(sizes)])
		}
		n = min(n, len(s))
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

// ends feeds s byte by byte and returns the offsets just after each
// message's last byte.
func ends(max int, s []byte) ([]int, failure) {
	f := newFramer(max, true)
	var e []int
	for i := range s {
		before := f.completed
		f.feed(s[i : i+1])
		if f.completed != before {
			e = append(e, i+1)
		}
	}
	return e, f.fail
}

func joined(chunks [][]byte) []byte { return bytes.Join(chunks, nil) }

// sipgoCount feeds the chunks to sipgo's stream parser as its TCP
// transport does and counts the messages it parses; err is its first
// error other than "partial".
func sipgoCount(chunks [][]byte) (n int, err error) {
	par := sip.NewParser().NewSIPStream()
	for _, c := range chunks {
		if len(bytes.Trim(c, "\x00")) == 0 {
			continue // the transport skips these
		}
		// A keep-alive, when sipgo is between messages: its transport
		// checks the parser's unexported state, read here the same way.
		between := reflect.ValueOf(par).Elem().FieldByName("state").Int() == 0
		if len(c) <= 4 && between && par.Buffer().Len() == 0 && len(bytes.Trim(c, "\r\n")) == 0 {
			continue
		}
		err := par.ParseSIPStream(c, func(sip.Message) { n++ })
		if err != nil && !errors.Is(err, sip.ErrParseSipPartial) {
			return n, err
		}
	}
	return n, nil
}

func TestFramerBoundaries(t *testing.T) {
	t.Parallel()
	r0 := register("a", "0", "")
	r5 := register("b", "5", "hello")
	// lf is the offset of the LF that ends the line holding sub in s: a
	// refused line is passed on up to that LF, not including it.
	lf := func(s, sub string) int { i := strings.Index(s, sub); return i + strings.Index(s[i:], "\n") }
	one := func(s string) (string, []int) { return s, []int{len(s)} }
	type test struct {
		name   string
		stream string
		ends   []int
		fail   failure
		pass   int // bytes passed on; -1: all
	}
	ok := func(name, s string) test { s, e := one(s); return test{name, s, e, failNone, -1} }
	// bad: s is refused as badly framed at the line holding sub.
	bad := func(name, s, sub string) test { return test{name, s, nil, failFraming, lf(s, sub)} }
	tests := []test{
		ok("one", r0),
		ok("body", r5),
		{"pipelined", r0 + r5 + r0, []int{len(r0), len(r0 + r5), len(r0+r5) + len(r0)}, failNone, -1},
		{"keep-alives", "\r\n\r\n" + r0 + "\r\n\r\n\r\n" + r5 + "\r\n", []int{4 + len(r0), 4 + len(r0) + 6 + len(r5)}, failNone, -1},
		ok("compact", strings.Replace(r5, "Content-Length:", "l:", 1)),
		ok("lower case", strings.Replace(r5, "Content-Length:", "content-LENGTH :", 1)),
		ok("folded", strings.Replace(r5, "Content-Length: 5", "Content-Length:\r\n   5", 1)),
		ok("folded twice", strings.Replace(r5, "Content-Length: 5", "Content-Length:\r\n \r\n\t5", 1)),
		ok("two equal", strings.Replace(r5, "Expires: 3600", "l: 5", 1)),
		ok("leading zeros", strings.Replace(r5, "Content-Length: 5", "Content-Length: 0005", 1)),
		ok("folded other header", strings.Replace(r5, "Expires: 3600", "Expires:\r\n 3600", 1)),
		{"partial", r5[:len(r5)-2], nil, failNone, len(r5) - 2},
		{"partial header", r5[:40], nil, failNone, 40},
		{"partial at LF", r5[:lf(r5, "Expires")+1], nil, failNone, lf(r5, "Expires")}, // held back
		{"negative", register("c", "-5", ""), nil, failFraming, lf(register("c", "-5", ""), "Content-Length")},
		{"letters", register("c", "5x", "hello"), nil, failFraming, lf(register("c", "5x", ""), "Content-Length")},
		{"empty", register("c", "", ""), nil, failFraming, lf(register("c", "", ""), "Content-Length")},
		{"two values", register("c", "5 5", "hello"), nil, failFraming, lf(register("c", "5 5", ""), "Content-Length")},
		{"huge", register("c", "99999999999999999999", ""), nil, failFraming, lf(register("c", "99999999999999999999", ""), "Content-Length")},
		{"too large", register("c", "40000", ""), nil, failTooLarge, len(register("c", "40000", "")) - 1},
		{"two differ", strings.Replace(r5, "Expires: 3600", "l: 6", 1), nil, failFraming, lf(strings.Replace(r5, "Expires: 3600", "l: 6", 1), "Content-Length")},
		{"no length", strings.Replace(r0, "Content-Length: 0\r\n", "", 1), nil, failFraming, len(r0) - len("Content-Length: 0\r\n") - 1},
		{"no colon", strings.Replace(r0, "Expires: 3600", "Expires 3600", 1), nil, failFraming, lf(strings.Replace(r0, "Expires: 3600", "Expires 3600", 1), "Expires")},
		{"bare CR", strings.Replace(r0, "Expires: 3600", "Expires:\r3600", 1), nil, failFraming, strings.Index(r0, "Expires") + 9},
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", nil, failNotSIP, len("GET / HTTP/1.1\r")},
		{"tls", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", nil, failNotSIP, 0},
		{"no crlf", strings.Repeat("A", 40) + " x", nil, failNotSIP, 32},
		{"endless header", "REGISTER sip:a SIP/2.0\r\nX: " + strings.Repeat("a", 40000), nil, failTooLarge, 32 << 10},
		{"ok then bad", r0 + register("d", "-1", ""), []int{len(r0)}, failFraming, len(r0) + lf(register("d", "-1", ""), "Content-Length")},
		ok("response", "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
		// CSeq (RFC 3261 §8.1.1.5): digits below 2**31, white space, a
		// method. sipgo refuses any other value without a word; it
		// answers a request without CSeq itself and reads the last of two.
		ok("CSeq max", cseq(r0, "2147483647 REGISTER")),
		ok("CSeq leading zeros", cseq(r0, "0002147483647 REGISTER")),
		ok("CSeq tab", cseq(r0, "1\tREGISTER")),
		ok("CSeq two spaces", cseq(r0, "1  REGISTER")),
		ok("CSeq nbsp before", cseq(r0, "\u00a01 REGISTER")),
		ok("CSeq folded", cseq(r0, "1\r\n REGISTER")),
		ok("CSeq folded first", cseq(r0, "\r\n\t1 REGISTER")),
		ok("CSeq colon folded", strings.Replace(r0, "CSeq: 1", "CSeq\r\n : 1", 1)),
		ok("CSeq two", strings.Replace(r0, "Expires: 3600", "CSeq: 2 INVITE", 1)),
		ok("CSeq none", strings.Replace(r0, "CSeq: 1 REGISTER\r\n", "", 1)),
		ok("CSeq other header folded", strings.Replace(r0, "Expires: 3600", "CSeq\r\n x: abc", 1)),
		bad("CSeq 2**31", cseq(r0, "2147483648 REGISTER"), "CSeq"),
		bad("CSeq 2**32", cseq(r0, "4294967296 REGISTER"), "CSeq"),
		bad("CSeq huge", cseq(r0, "99999999999999999999999 REGISTER"), "CSeq"),
		bad("CSeq letters", cseq(r0, "abc REGISTER"), "CSeq"),
		bad("CSeq sign", cseq(r0, "+1 REGISTER"), "CSeq"),
		bad("CSeq no method", cseq(r0, "1"), "CSeq"),
		bad("CSeq no number", cseq(r0, "REGISTER"), "CSeq"),
		bad("CSeq empty", cseq(r0, ""), "CSeq"),
		bad("CSeq vertical tab", cseq(r0, "1\vREGISTER"), "CSeq"),
		bad("CSeq folded blank", cseq(r0, "1\r\n "), " \r\nContact"),
		bad("CSeq second bad", strings.Replace(r0, "Expires: 3600", "CSeq: 2147483648 REGISTER", 1), "CSeq: 2147483648"),
		bad("CSeq colon folded, 2**31", strings.Replace(cseq(r0, "2147483648 REGISTER"), "CSeq:", "CSeq\r\n :", 1), " : 2147483648"),
		bad("CSeq space in name", strings.Replace(cseq(r0, "x REGISTER"), "CSeq:", "CSeq\v:", 1), "CSeq"),
		{"CSeq ok then bad", r0 + cseq(register("d", "0", ""), "2147483648 REGISTER"), []int{len(r0)}, failFraming, len(r0) + lf(cseq(register("d", "0", ""), "2147483648 REGISTER"), "CSeq")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := []byte(tt.stream)
			gotEnds, fail := ends(DefaultMaxMessageSize, s)
			if fmt.Sprint(gotEnds) != fmt.Sprint(tt.ends) || fail != tt.fail {
				t.Fatalf("byte by byte: ends %v fail %d, want %v %d", gotEnds, fail, tt.ends, tt.fail)
			}
			want := tt.pass
			if want < 0 {
				want = len(s)
			}
			for _, sizes := range [][]int{{len(s)}, {1}, {2}, {3, 7}, {100}, {1000, 1}} {
				f := newFramer(DefaultMaxMessageSize, true)
				r := follow(&f, split(s, sizes...))
				got := joined(r.chunks)
				if !bytes.Equal(got, s[:min(len(got), len(s))]) {
					t.Fatalf("chunks %v: passed on bytes that differ from the stream", sizes)
				}
				if len(got) != want || r.fail != tt.fail || int(r.completed) != len(tt.ends) {
					t.Fatalf("chunks %v: passed %d bytes, fail %d, %d messages; want %d, %d, %d", sizes, len(got), r.fail, r.completed, want, tt.fail, len(tt.ends))
				}
				// sipgo, fed what was passed on, finds the same messages
				// and never sees the line that was refused.
				n, err := sipgoCount(r.chunks)
				if tt.fail != failNotSIP && (err != nil || n != len(tt.ends)) {
					t.Fatalf("chunks %v: sipgo parsed %d messages, error %v; want %d", sizes, n, err, len(tt.ends))
				}
			}
			// sipgo, fed the whole stream, refuses what the framer refuses
			// as badly framed (but two different Content-Lengths, which it
			// reads as the last) and parses the rest.
			n, err := sipgoCount([][]byte{s})
			switch {
			case tt.fail == failFraming && tt.name != "two differ":
				if err == nil {
					t.Fatalf("sipgo parsed %d messages without an error", n)
				}
			case tt.fail == failNone && tt.pass < 0:
				if err != nil || n != len(tt.ends) {
					t.Fatalf("sipgo parsed %d messages, error %v; want %d", n, err, len(tt.ends))
				}
			}
		})
	}
}

// cseq replaces the CSeq value of a message made by register.
func cseq(msg, value string) string {
	return strings.Replace(msg, "CSeq: 1 REGISTER", "CSeq: "+value, 1)
}

func TestFramerAnswer(t *testing.T) {
	t.Parallel()
	src := netip.MustParseAddrPort("192.0.2.7:40000")
	tests := []struct {
		name, msg string
		answer    string // "" for none
	}{{
		"negative",
		register("call-1", "-5", ""),
		"SIP/2.0 400 Bad Request\r\n" +
			"Via: SIP/2.0/TCP 10.0.0.5:51234;branch=z9hG4bK-call-1;rport=40000;received=192.0.2.7\r\n" +
			"From: <sip:1001@10.10.10.1>;tag=abc\r\n" +
			"To: <sip:1001@10.10.10.1>;tag=TAG\r\n" +
			"Call-ID: call-1\r\n" +
			"CSeq: 1 REGISTER\r\n" +
			"Content-Length: 0\r\n\r\n",
	}, {
		"compact and folded, two Vias, a To tag",
		"OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\n" +
			"VIA: SIP/2.0/UDP b;branch=z9hG4bK2,\r\n SIP/2.0/UDP c;branch=z9hG4bK3\r\n" +
			"f: <sip:a@x>;tag=1\r\nt: \"B\" <sip:b@x;tag=uri>;tag=2\r\ni: \r\n  folded-id\r\nCSeq: 7 OPTIONS\r\nl: -1\r\n\r\n",
		"SIP/2.0 400 Bad Request\r\n" +
			"Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\n" +
			"Via: SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c;branch=z9hG4bK3\r\n" +
			"From: <sip:a@x>;tag=1\r\n" +
			"To: \"B\" <sip:b@x;tag=uri>;tag=2\r\n" +
			"Call-ID: folded-id\r\n" +
			"CSeq: 7 OPTIONS\r\n" +
			"Content-Length: 0\r\n\r\n",
	}, {
		"too large",
		register("call-2", "60000", ""),
		"SIP/2.0 513 Message Too Large\r\n" +
			"Via: SIP/2.0/TCP 10.0.0.5:51234;branch=z9hG4bK-call-2;rport=40000;received=192.0.2.7\r\n" +
			"From: <sip:1001@10.10.10.1>;tag=abc\r\n" +
			"To: <sip:1001@10.10.10.1>;tag=TAG\r\n" +
			"Call-ID: call-2\r\n" +
			"CSeq: 1 REGISTER\r\n" +
			"Content-Length: 0\r\n\r\n",
	}, {
		// The CSeq is echoed as received: the client matches the answer
		// on its Via branch and CSeq method.
		"CSeq 2**31",
		cseq(register("call-3", "0", ""), "2147483648 REGISTER"),
		"SIP/2.0 400 Bad Request\r\n" +
			"Via: SIP/2.0/TCP 10.0.0.5:51234;branch=z9hG4bK-call-3;rport=40000;received=192.0.2.7\r\n" +
			"From: <sip:1001@10.10.10.1>;tag=abc\r\n" +
			"To: <sip:1001@10.10.10.1>;tag=TAG\r\n" +
			"Call-ID: call-3\r\n" +
			"CSeq: 2147483648 REGISTER\r\n" +
			"Content-Length: 0\r\n\r\n",
	}, {
		"CSeq letters, folded",
		cseq(register("call-4", "0", ""), "abc\r\n  REGISTER"),
		"SIP/2.0 400 Bad Request\r\n" +
			"Via: SIP/2.0/TCP 10.0.0.5:51234;branch=z9hG4bK-call-4;rport=40000;received=192.0.2.7\r\n" +
			"From: <sip:1001@10.10.10.1>;tag=abc\r\n" +
			"To: <sip:1001@10.10.10.1>;tag=TAG\r\n" +
			"Call-ID: call-4\r\n" +
			"CSeq: abc REGISTER\r\n" +
			"Content-Length: 0\r\n\r\n",
	}, {
		// Control characters never reach the answer: a bare LF would
		// start a header line of the sender's choosing.
		"CSeq with a bare LF and a NUL",
		cseq(register("call-5", "0", ""), "1\nVia: SIP/2.0/UDP evil\x00 REGISTER"),
		"SIP/2.0 400 Bad Request\r\n" +
			"Via: SIP/2.0/TCP 10.0.0.5:51234;branch=z9hG4bK-call-5;rport=40000;received=192.0.2.7\r\n" +
			"From: <sip:1001@10.10.10.1>;tag=abc\r\n" +
			"To: <sip:1001@10.10.10.1>;tag=TAG\r\n" +
			"Call-ID: call-5\r\n" +
			"CSeq: 1 Via: SIP/2.0/UDP evil  REGISTER\r\n" +
			"Content-Length: 0\r\n\r\n",
	}, {
		// Nothing to echo: no CSeq line, as sipgo answers a request
		// without one.
		"CSeq empty",
		cseq(register("call-6", "0", ""), ""),
		"SIP/2.0 400 Bad Request\r\n" +
			"Via: SIP/2.0/TCP 10.0.0.5:51234;branch=z9hG4bK-call-6;rport=40000;received=192.0.2.7\r\n" +
			"From: <sip:1001@10.10.10.1>;tag=abc\r\n" +
			"To: <sip:1001@10.10.10.1>;tag=TAG\r\n" +
			"Call-ID: call-6\r\n" +
			"Content-Length: 0\r\n\r\n",
	}, {
		"no CSeq",
		strings.Replace(register("call-7", "-1", ""), "CSeq: 1 REGISTER\r\n", "", 1),
		"SIP/2.0 400 Bad Request\r\n" +
			"Via: SIP/2.0/TCP 10.0.0.5:51234;branch=z9hG4bK-call-7;rport=40000;received=192.0.2.7\r\n" +
			"From: <sip:1001@10.10.10.1>;tag=abc\r\n" +
			"To: <sip:1001@10.10.10.1>;tag=TAG\r\n" +
			"Call-ID: call-7\r\n" +
			"Content-Length: 0\r\n\r\n",
	},
		{"ACK", strings.Replace(register("c", "-5", ""), "REGISTER sip", "ACK sip", 1), ""},
		{"ACK, CSeq 2**31", strings.Replace(cseq(register("c", "0", ""), "2147483648 ACK"), "REGISTER sip", "ACK sip", 1), ""},
		{"no Call-ID", strings.Replace(register("c", "-5", ""), "Call-ID: c\r\n", "", 1), ""},
		{"a response", "SIP/2.0 200 OK\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 X\r\nl: -1\r\n\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFramer(DefaultMaxMessageSize, true)
			f.feed([]byte(tt.msg))
			if !f.failed() || f.needMore() {
				t.Fatalf("fail %d, need more %v", f.fail, f.needMore())
			}
			code, reason := statusFor(f.fail)
			got, ok := f.answer(nil, code, reason, src)
			if tt.answer == "" {
				if ok {
					t.Fatalf("answered %q", got)
				}
				return
			}
			// The tag is a hash; the same request always gets the same one.
			again, _ := f.answer(nil, code, reason, src)
			if !ok || !bytes.Equal(got, again) {
				t.Fatalf("answer %v %q, again %q", ok, got, again)
			}
			want := tt.answer
			if i := bytes.Index(got, []byte("\r\nTo: ")); i >= 0 && strings.Contains(want, "tag=TAG") {
				i += bytes.Index(got[i:], []byte(";tag="))
				tag := got[i+5 : i+5+16]
				want = strings.Replace(want, "TAG", string(tag), 1)
			}
			if string(got) != want {
				t.Fatalf("answer\n%s\nwant\n%s", got, want)
			}
			// sipgo reads it as a response to the request; it refuses a
			// CSeq it does not read in an answer as in a request, so
			// that line aside.
			msg, err := sip.ParseMessage(withoutCSeq(got))
			if err != nil {
				t.Fatal(err)
			}
			if res, ok := msg.(*sip.Response); !ok || res.StatusCode != code {
				t.Fatalf("sipgo reads %v", msg)
			}
		})
	}
}

// withoutCSeq drops a message's CSeq line.
func withoutCSeq(msg []byte) []byte {
	i := bytes.Index(msg, []byte("\r\nCSeq: "))
	if i < 0 {
		return msg
	}
	j := bytes.Index(msg[i+2:], []byte("\r\n"))
	return append(msg[:i:i], msg[i+2+j:]...)
}

// A refused message's header section is read to its end before the
// answer, so that the headers after the bad line are in it.
func TestFramerReadsHeadersToTheEnd(t *testing.T) {
	t.Parallel()
	msg := "REGISTER sip:a SIP/2.0\r\nContent-Length: -5\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK9\r\n" +
		"From: <sip:a@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: late\r\nCSeq: 2 REGISTER\r\n\r\n"
	f := newFramer(DefaultMaxMessageSize, true)
	cut := strings.Index(msg, "Via") + 3
	d, _, _ := f.feed([]byte(msg[:cut]))
	if !f.needMore() || d != strings.Index(msg, "-5")+3 {
		t.Fatalf("passed %d; need more %v", d, f.needMore())
	}
	if d, _, _ := f.feed([]byte(msg[cut:])); d != 0 || f.needMore() {
		t.Fatalf("after the failure passed %d; need more %v", d, f.needMore())
	}
	res, ok := f.answer(nil, 400, "Bad Request", netip.AddrPort{})
	if !ok || !bytes.Contains(res, []byte("Call-ID: late\r\n")) {
		t.Fatalf("%v %q", ok, res)
	}
}

func FuzzFramer(f *testing.F) {
	r0 := register("a", "0", "")
	for _, seed := range []struct {
		s     string
		sizes []byte
	}{
		{r0, nil},
		{r0 + register("b", "5", "hello") + r0, []byte{1}},
		{"\r\n\r\n" + r0 + "\r\n" + r0, []byte{3, 7}},
		{strings.Replace(r0, "Content-Length:", "l:", 1), []byte{2}},
		{strings.Replace(r0, "Content-Length: 0", "Content-Length:\r\n 0", 1), []byte{1, 50}},
		{register("c", "-5", ""), []byte{5}},
		{register("c", "99999999999", ""), nil},
		{register("c", "40000", ""), []byte{200}},
		{register("c", "", ""), []byte{1}},
		{strings.Replace(r0, "Content-Length: 0\r\n", "", 1), nil},
		{"REGISTER sip:a SIP/2.0\r\nX: " + strings.Repeat("a", 33000), []byte{255}},
		{"GET / HTTP/1.1\r\n\r\n", nil},
		{"SIP/2.0 200 OK\r\nl: 2\r\n\r\nokSIP/2.0 200 OK\r\nl: 0\r\n\r\n", []byte{4}},
		{cseq(r0, "2147483648 REGISTER"), []byte{9}},
		{cseq(r0, "99999999999999999999 REGISTER"), nil},
		{cseq(r0, "abc\r\n REGISTER"), []byte{1}},
		{cseq(r0, "1"), []byte{3, 1}},
		{cseq(r0, ""), nil},
		{cseq(r0, "\u00a01\tREGISTER"), []byte{2}},
		{strings.Replace(r0, "CSeq:", "CSeq\r\n :", 1), []byte{1}},
		{strings.Replace(r0, "Expires: 3600", "CSeq: 2 INVITE", 1), nil},
		{cseq(r0, "1\nVia: x\x00 REGISTER"), []byte{6}},
		{strings.Replace(register("c", "-5", ""), "Call-ID: c", "Call-ID: c\nX: y\x00", 1), nil},
	} {
		f.Add([]byte(seed.s), seed.sizes)
	}
	f.Fuzz(func(t *testing.T, s, sizes []byte) {
		const max = 2048
		whole := newFramer(max, true)
		w := follow(&whole, [][]byte{s})
		var cuts []int
		for _, b := range sizes {
			cuts = append(cuts, int(b))
		}
		chunked := newFramer(max, true)
		c := follow(&chunked, split(s, cuts...))
		byteWise := newFramer(max, true)
		b := follow(&byteWise, split(s))
		// Passed on or held back, the same bytes, whatever the reads.
		for _, r := range []delivery{c, b} {
			if r.fail != w.fail || r.completed != w.completed || len(joined(r.chunks))+r.pending != len(joined(w.chunks))+w.pending {
				t.Fatalf("fed in chunks: fail %d, %d messages, %d+%d bytes; fed whole: %d, %d, %d+%d",
					r.fail, r.completed, len(joined(r.chunks)), r.pending, w.fail, w.completed, len(joined(w.chunks)), w.pending)
			}
			if got := joined(r.chunks); !bytes.HasPrefix(s, got) {
				t.Fatal("passed on bytes that differ from the stream")
			}
		}
		for _, fr := range []*framer{&whole, &chunked, &byteWise} {
			if len(fr.buf) > max+2 {
				t.Fatalf("kept %d bytes", len(fr.buf))
			}
		}
		// Where sipgo parses the bytes passed on without an error, it
		// finds the messages the framer found.
		// (A message whose last bytes are held back is not complete for
		// sipgo yet.)
		if n, err := sipgoCount(c.chunks); err == nil && c.fail == failNone && n != int(c.completed) && (c.pending == 0 || n != int(c.completed)-1) {
			t.Fatalf("sipgo parsed %d messages, the framer %d", n, c.completed)
		}
		if whole.failed() {
			code, reason := statusFor(whole.fail)
			res, ok := whole.answer(nil, code, reason, netip.MustParseAddrPort("127.0.0.1:5060"))
			if ok && !wellFormed(res) {
				t.Fatalf("answer %q", res)
			}
		}
	})
}

// wellFormed reports whether an answer is lines ended by CRLF, the last
// one empty, without control characters but HTAB.
func wellFormed(msg []byte) bool {
	body, ok := bytes.CutSuffix(msg, []byte("\r\n\r\n"))
	if !ok {
		return false
	}
	for _, line := range bytes.Split(body, []byte("\r\n")) {
		if len(line) == 0 {
			return false
		}
		for _, b := range line {
			if b < ' ' && b != '\t' || b == 0x7f {
				return false
			}
		}
	}
	return true
}

// validCSeq refuses exactly the CSeq values sipgo refuses, folded or not.
func FuzzCSeq(f *testing.F) {
	for _, v := range []string{"1 REGISTER", "2147483647 X", "2147483648 X", "4294967296 X", "abc X", "+1 X", "1", "", " 1\tX",
		"\u00a01 X", "1\r\n X", "1\r\n \r\n", "1\r\n \r\n\tX", "1\vX", "01 X ", "1 \u00a0", "\u20001 \u2000X\u2000"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		// Only CRLF followed by a space or tab: the value's folding.
		for i := range len(v) {
			if v[i] == '\n' && (i == 0 || v[i-1] != '\r') || v[i] == '\r' && (i+2 >= len(v) || v[i+1] != '\n' || v[i+2] != ' ' && v[i+2] != '\t') {
				return
			}
		}
		group := "CSeq: " + v + "\r\n"
		_, err := sip.ParseMessage([]byte("OPTIONS sip:a SIP/2.0\r\n" + group + "\r\n"))
		if got := validCSeq([]byte(group)); got != (err == nil) {
			t.Fatalf("%q: valid %v; sipgo: %v", v, got, err)
		}
	})
}
