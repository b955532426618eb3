package sipstream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Messages a stream's client end reads: a registrar's challenge, its
// 200 OK with a body, and a request from the node in compact form.
const (
	challenge = "SIP/2.0 407 Proxy Authentication Required\r\n" +
		"Via: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bK1;received=127.0.0.1\r\n" +
		"From: <sip:rado@ucm.example.com>;tag=1\r\nTo: <sip:rado@ucm.example.com>;tag=2\r\n" +
		"Call-ID: c1\r\nCSeq: 1 REGISTER\r\nProxy-Authenticate: Bearer realm=\"ccmsipline\"\r\n" +
		"Content-Length: 0\r\n\r\n"
	okBody = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bK2\r\n" +
		"From: <sip:rado@ucm.example.com>;tag=1\r\nTo: <sip:rado@ucm.example.com>;tag=3\r\n" +
		"Call-ID: c1\r\nCSeq: 2 REGISTER\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n" +
		"ok\r\n\r\nok"
	compact = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nv: SIP/2.0/TLS 127.0.0.1:5091;branch=z9hG4bKnode\r\n" +
		"f: <sip:n@x>;tag=1\r\nt: <sip:p@y>\r\ni: c4\r\nCSeq: 1 OPTIONS\r\nl: 3\r\n\r\nabc"
)

// summary is what a test compares of a message: its start line and body.
func summary(m sip.Message) string {
	line, _, _ := strings.Cut(m.String(), "\r\n")
	return line + "|" + string(m.Body())
}

// readAll reads src to its first error and returns the messages'
// summaries, the pongs written and that error.
func readAll(src io.Reader, opts ...Option) (msgs []string, pongs string, err error) {
	var out bytes.Buffer
	r := NewReader(src, append([]Option{WithPong(NewWriter(&out, 0))}, opts...)...)
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return msgs, out.String(), err
		}
		msgs = append(msgs, summary(m))
	}
}

// chunkReader returns its chunks one read each.
type chunkReader struct{ chunks [][]byte }

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.chunks) > 0 && len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	return n, nil
}

// sameError reports whether two errors of a Reader say the same: the
// same reason at the same offset, or the same error.
func sameError(a, b error) bool {
	var ea, eb *Error
	if errors.As(a, &ea) && errors.As(b, &eb) {
		return ea.Err == eb.Err && ea.Offset == eb.Offset
	}
	return a == b
}

var readCases = []struct {
	name       string
	in         string
	maxHeader  int
	maxBody    int
	want       []string
	pongs      int
	err        error // a sentinel, io.EOF or io.ErrUnexpectedEOF
	errOffset  int64
	errContain string
}{
	{name: "one message", in: challenge, want: []string{"SIP/2.0 407 Proxy Authentication Required|"}, err: io.EOF},
	{name: "three back to back", in: challenge + okBody + compact,
		want: []string{"SIP/2.0 407 Proxy Authentication Required|", "SIP/2.0 200 OK|ok\r\n\r\nok", "OPTIONS sip:127.0.0.1 SIP/2.0|abc"}, err: io.EOF},
	{name: "compact l", in: compact, want: []string{"OPTIONS sip:127.0.0.1 SIP/2.0|abc"}, err: io.EOF},
	{name: "Content-Length in any case", in: strings.Replace(compact, "l: 3", "CONTENT-length :3", 1), want: []string{"OPTIONS sip:127.0.0.1 SIP/2.0|abc"}, err: io.EOF},
	{name: "Content-Length folded", in: strings.Replace(compact, "l: 3", "Content-Length:\r\n 3", 1), want: []string{"OPTIONS sip:127.0.0.1 SIP/2.0|abc"}, err: io.EOF},
	{name: "Content-Length twice, one value", in: strings.Replace(compact, "l: 3", "l: 3\r\nContent-Length: 3", 1), want: []string{"OPTIONS sip:127.0.0.1 SIP/2.0|abc"}, err: io.EOF},
	{name: "ping before the first message", in: "\r\n\r\n" + challenge, want: []string{"SIP/2.0 407 Proxy Authentication Required|"}, pongs: 1, err: io.EOF},
	{name: "lone CRLF between messages", in: challenge + "\r\n" + compact + "\r\n", want: []string{"SIP/2.0 407 Proxy Authentication Required|", "OPTIONS sip:127.0.0.1 SIP/2.0|abc"}, err: io.EOF},
	{name: "pings between and after", in: challenge + "\r\n\r\n" + okBody + "\r\n\r\n\r\n\r\n" + compact + "\r\n\r\n\r\n",
		want: []string{"SIP/2.0 407 Proxy Authentication Required|", "SIP/2.0 200 OK|ok\r\n\r\nok", "OPTIONS sip:127.0.0.1 SIP/2.0|abc"}, pongs: 4, err: io.EOF},
	{name: "bare LF and CR skipped, not pings", in: "\n\n\r\r\n\n" + challenge, want: []string{"SIP/2.0 407 Proxy Authentication Required|"}, err: io.EOF},
	{name: "CR before a ping", in: "\r\r\n\r\n" + challenge, want: []string{"SIP/2.0 407 Proxy Authentication Required|"}, pongs: 1, err: io.EOF},
	{name: "empty stream", in: "", err: io.EOF},
	{name: "keep-alives only", in: "\r\n\r\n\r\n", pongs: 1, err: io.EOF},
	{name: "header section at its bound", in: challenge, maxHeader: len(challenge), want: []string{"SIP/2.0 407 Proxy Authentication Required|"}, err: io.EOF},
	{name: "header section over its bound", in: challenge, maxHeader: len(challenge) - 1, err: ErrHeaderTooLarge, errContain: "the limit is "},
	{name: "header section without end", in: "SIP/2.0 200 OK\r\nX: " + strings.Repeat("a", 5000), maxHeader: 1024, err: ErrHeaderTooLarge},
	{name: "body at its bound", in: okBody, maxBody: 8, want: []string{"SIP/2.0 200 OK|ok\r\n\r\nok"}, err: io.EOF},
	{name: "body over its bound", in: okBody, maxBody: 7, err: ErrBodyTooLarge, errContain: "8 bytes, the limit is 7"},
	{name: "message over sipgo's limit", in: "SIP/2.0 200 OK\r\nContent-Length: 65500\r\n\r\n", err: ErrBodyTooLarge, errContain: "a message of 65541 bytes, the limit is 65535"},
	{name: "huge Content-Length", in: "SIP/2.0 200 OK\r\nContent-Length: 99999999\r\n\r\n", err: ErrBodyTooLarge},
	{name: "Content-Length over 2^31", in: "SIP/2.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n", err: ErrContentLength},
	{name: "no Content-Length", in: "SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\n\r\n", err: ErrContentLength, errContain: "(none)"},
	{name: "Content-Length not a number", in: "SIP/2.0 200 OK\r\nContent-Length: 12a\r\n\r\n", err: ErrContentLength, errContain: `("12a")`},
	{name: "Content-Length negative", in: "SIP/2.0 200 OK\r\nl: -1\r\n\r\n", err: ErrContentLength},
	{name: "Content-Length two numbers", in: "SIP/2.0 200 OK\r\nl: 1 2\r\n\r\n", err: ErrContentLength},
	{name: "Content-Length empty", in: "SIP/2.0 200 OK\r\nContent-Length:\r\n\r\n", err: ErrContentLength},
	{name: "Content-Length conflicting", in: "SIP/2.0 200 OK\r\nContent-Length: 0\r\nl: 2\r\n\r\nab", err: ErrContentLength, errContain: "conflicting values 0 and 2"},
	{name: "error after a message", in: challenge + "\r\n\r\nSIP/2.0 200 OK\r\nl: x\r\n\r\n", want: []string{"SIP/2.0 407 Proxy Authentication Required|"}, pongs: 1,
		err: ErrContentLength, errOffset: int64(len(challenge) + 4)},
	{name: "not SIP", in: "HELLO\r\n\r\n", err: ErrMalformed, errContain: "not a SIP message"},
	{name: "HTTP", in: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", err: ErrMalformed},
	{name: "not SIP before its end", in: "HELLO\r\nX", err: ErrMalformed},
	{name: "not SIP over the bound", in: "HELLO\r\n" + strings.Repeat("a", 2000), maxHeader: 1024, err: ErrMalformed},
	{name: "header line without colon", in: "SIP/2.0 200 OK\r\nnocolon\r\nContent-Length: 0\r\n\r\n", err: ErrMalformed},
	{name: "bad CSeq", in: "SIP/2.0 200 OK\r\nCSeq: abc\r\nContent-Length: 0\r\n\r\n", err: ErrMalformed},
	{name: "bad CSeq before a bad Content-Length", in: "SIP/2.0 200 OK\r\nCSeq: abc\r\nContent-Length: x\r\n\r\n", err: ErrMalformed},
	{name: "bad header cut short", in: "SIP/2.0 200 OK\r\nCSeq: abc\r\nVia: SIP/2.0/TLS", err: ErrMalformed},
	{name: "EOF in the start line", in: challenge[:20], err: io.ErrUnexpectedEOF},
	{name: "EOF in the headers", in: challenge[:100], err: io.ErrUnexpectedEOF},
	{name: "EOF before the empty line", in: challenge[:len(challenge)-2], err: io.ErrUnexpectedEOF},
	{name: "EOF in the body", in: okBody[:len(okBody)-3], err: io.ErrUnexpectedEOF},
	{name: "EOF after a message", in: challenge + "\r\n" + okBody[:50], want: []string{"SIP/2.0 407 Proxy Authentication Required|"}, err: io.ErrUnexpectedEOF},
}

// TestReadMessage reads each stream whole, byte by byte, with its last
// bytes and the EOF in one read, and split in two at every offset: the
// messages, pongs and error are the same however the bytes arrive.
func TestReadMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range readCases {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithLimits(tc.maxHeader, tc.maxBody)}
			check := func(how string, msgs []string, pongs string, err error) {
				t.Helper()
				if strings.Join(msgs, "\n") != strings.Join(tc.want, "\n") {
					t.Fatalf("%s: messages\n%q\nwant\n%q", how, msgs, tc.want)
				}
				if pongs != strings.Repeat("\r\n", tc.pongs) {
					t.Fatalf("%s: pongs %q, want %d", how, pongs, tc.pongs)
				}
				if !errors.Is(err, tc.err) {
					t.Fatalf("%s: error %v, want %v", how, err, tc.err)
				}
				var e *Error
				if errors.As(err, &e) != (tc.err != io.EOF && tc.err != io.ErrUnexpectedEOF) {
					t.Fatalf("%s: error %#v", how, err)
				}
				if e != nil && (e.Offset != tc.errOffset || !strings.Contains(e.Error(), tc.errContain)) {
					t.Fatalf("%s: error %q at offset %d, want offset %d and %q", how, e, e.Offset, tc.errOffset, tc.errContain)
				}
			}
			msgs, pongs, err := readAll(strings.NewReader(tc.in), opts...)
			check("whole", msgs, pongs, err)
			msgs, pongs, err = readAll(iotest.OneByteReader(strings.NewReader(tc.in)), opts...)
			check("byte by byte", msgs, pongs, err)
			msgs, pongs, err = readAll(iotest.DataErrReader(strings.NewReader(tc.in)), opts...)
			check("data with EOF", msgs, pongs, err)
			for k := range len(tc.in) {
				msgs, pongs, err = readAll(&chunkReader{chunks: [][]byte{[]byte(tc.in[:k]), []byte(tc.in[k:])}}, opts...)
				check(fmt.Sprintf("split at %d", k), msgs, pongs, err)
			}
		})
	}
}

// TestErrorSticky: after an error every call returns it, and a malformed
// message's error wraps sipgo's.
func TestErrorSticky(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("SIP/2.0 200 OK\r\nbad\r\nl: 0\r\n\r\n" + challenge))
	_, err := r.ReadMessage()
	if !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	if _, again := r.ReadMessage(); again != err {
		t.Fatalf("second call: %v", again)
	}
	want := `sipstream: malformed message (field name with no value in header: "bad") in the message at offset 0`
	if err.Error() != want {
		t.Fatalf("%q\nwant %q", err, want)
	}
	_, err = NewReader(strings.NewReader("SIP/2.0 200 OK\r\nX: a\rb\r\nl: 0\r\n\r\n")).ReadMessage()
	if !errors.Is(err, sip.ErrParseLineNoCRLF) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("%v", err)
	}
}

// TestSourceError: the source's error comes as it is, after the messages
// read before it, and a source that returns nothing is broken.
func TestSourceError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader(challenge+"SIP/2.0"), iotest.ErrReader(boom)))
	if m, err := r.ReadMessage(); err != nil || summary(m) != "SIP/2.0 407 Proxy Authentication Required|" {
		t.Fatal(m, err)
	}
	if _, err := r.ReadMessage(); err != boom {
		t.Fatal(err)
	}
	if _, err := NewReader(iotest.ErrReader(nil)).ReadMessage(); err != io.ErrNoProgress {
		t.Fatal(err)
	}
}

// endless is a stream of one byte without end.
type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

// TestBounded: an endless header line or stream of keep-alives never
// grows the buffer past the bounds.
func TestBounded(t *testing.T) {
	t.Parallel()
	r := NewReader(io.MultiReader(strings.NewReader("SIP/2.0 200 OK\r\nX: "), endless('a')), WithLimits(1000, 500))
	if _, err := r.ReadMessage(); !errors.Is(err, ErrHeaderTooLarge) || len(r.buf) > 1500 {
		t.Fatalf("%v, buffer %d", err, len(r.buf))
	}
	// Ten megabytes of LF between messages: skipped in a buffer of the
	// first size.
	r = NewReader(io.MultiReader(io.LimitReader(endless('\n'), 10<<20), strings.NewReader(challenge)))
	if m, err := r.ReadMessage(); err != nil || m == nil || len(r.buf) > minBuffer {
		t.Fatalf("%v, buffer %d", err, len(r.buf))
	}
	// A message as large as sipgo's limit, after many messages.
	big := "SIP/2.0 200 OK\r\nContent-Length: 65494\r\n\r\n" + strings.Repeat("b", 65494)
	r = NewReader(strings.NewReader(strings.Repeat(challenge, 100) + big + challenge))
	for i := range 102 {
		if _, err := r.ReadMessage(); err != nil {
			t.Fatal(i, err)
		}
	}
	if len(big) != 65535 || len(r.buf) > 65535 {
		t.Fatalf("buffer %d", len(r.buf))
	}
}

// recorder records the writes and write deadlines it is given.
type recorder struct {
	mu        sync.Mutex
	writes    []string
	deadlines []time.Time
	fail      error
}

func (w *recorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), w.fail
}

func (w *recorder) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadlines = append(w.deadlines, t)
	return nil
}

// TestWriter: one write per message, deadlines as asked, and a pong's
// write error ends the reading.
func TestWriter(t *testing.T) {
	t.Parallel()
	res := sip.NewResponse(200, "OK")
	rec := &recorder{}
	w := NewWriter(rec, 0)
	at := time.Now().Add(time.Hour)
	if err := w.WriteMessage(res, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMessage(res, at); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != 2 || rec.writes[0] != res.String() || len(rec.deadlines) != 1 || !rec.deadlines[0].Equal(at) {
		t.Fatalf("%q %v", rec.writes, rec.deadlines)
	}

	rec = &recorder{fail: io.ErrClosedPipe}
	w = NewWriter(rec, time.Minute)
	r := NewReader(strings.NewReader("\r\n\r\n"+challenge), WithPong(w))
	if _, err := r.ReadMessage(); err != io.ErrClosedPipe {
		t.Fatal(err)
	}
	if len(rec.writes) != 1 || rec.writes[0] != "\r\n" || len(rec.deadlines) != 1 || time.Until(rec.deadlines[0]) < 50*time.Second {
		t.Fatalf("%q %v", rec.writes, rec.deadlines)
	}
}

// TestPongOnConn: over a connection, a pong goes out at once, before the
// message after its ping has come, and between the writes of other
// goroutines, never inside one.
func TestPongOnConn(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	b.SetDeadline(time.Now().Add(5 * time.Second))
	w := NewWriter(a, 5*time.Second)
	r := NewReader(a, WithPong(w))
	type result struct {
		m   sip.Message
		err error
	}
	got := make(chan result, 1)
	go func() {
		m, err := r.ReadMessage()
		got <- result{m, err}
	}()
	if _, err := b.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	pong := make([]byte, 2)
	if _, err := io.ReadFull(b, pong); err != nil || string(pong) != "\r\n" {
		t.Fatalf("%q %v", pong, err)
	}

	res := okResponse().String()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := w.WriteMessage(okResponse(), time.Time{}); err != nil {
				t.Error(err)
			}
		})
	}
	if _, err := b.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 4*len(res)+2)
	if _, err := io.ReadFull(b, raw); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	msgs, pongs, err := readAll(bytes.NewReader(raw))
	if len(msgs) != 4 || pongs != "" || err != io.EOF || bytes.Count(raw, []byte("\r\n\r\n\r\n")) > 1 {
		t.Fatalf("%q: %q %v", raw, msgs, err)
	}
	if _, err := b.Write([]byte(challenge)); err != nil {
		t.Fatal(err)
	}
	if res := <-got; res.err != nil || summary(res.m) != "SIP/2.0 407 Proxy Authentication Required|" {
		t.Fatal(res.m, res.err)
	}
}

// okResponse is a 200 OK with a Content-Length.
func okResponse() *sip.Response {
	res := sip.NewResponse(200, "OK")
	cl := sip.ContentLengthHeader(0)
	res.AppendHeader(&cl)
	return res
}

// fuzzLimits keep the fuzzed streams' bounds small, so that they are
// reached.
const fuzzHeader, fuzzBody = 512, 256

// FuzzReadMessage reads a stream whole, split in two at cut, and byte by
// byte: nothing panics, the buffer stays within the bounds, and the
// messages, pongs and error do not depend on how the bytes arrive.
func FuzzReadMessage(f *testing.F) {
	for _, tc := range readCases {
		f.Add([]byte(tc.in), uint16(len(tc.in)/2))
	}
	f.Add([]byte("\r\n\r\nSIP/2.0 100 Trying\r\nv: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bKproxy\r\ni: c2\r\nCSeq: 2 REGISTER\r\nl: 0\r\n\r\n\r\n\r\n"), uint16(3))
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length\r\n : 2\r\n\r\nab"), uint16(20))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		if len(data) > 1<<16 {
			return
		}
		k := int(cut) % (len(data) + 1)
		read := func(src io.Reader) ([]string, string, error) {
			var out bytes.Buffer
			r := NewReader(src, WithPong(NewWriter(&out, 0)), WithLimits(fuzzHeader, fuzzBody))
			var msgs []string
			for {
				m, err := r.ReadMessage()
				if err != nil {
					if m != nil {
						t.Fatalf("message with error %v", err)
					}
					if len(r.buf) > fuzzHeader+fuzzBody {
						t.Fatalf("buffer %d", len(r.buf))
					}
					return msgs, out.String(), err
				}
				if len(m.Body()) > fuzzBody {
					t.Fatalf("body %d", len(m.Body()))
				}
				msgs = append(msgs, m.String())
			}
		}
		whole, wPongs, wErr := read(bytes.NewReader(data))
		for how, src := range map[string]io.Reader{
			"split":        &chunkReader{chunks: [][]byte{data[:k], data[k:]}},
			"byte by byte": iotest.OneByteReader(bytes.NewReader(data)),
		} {
			msgs, pongs, err := read(src)
			if strings.Join(msgs, "\x00") != strings.Join(whole, "\x00") || pongs != wPongs || !sameError(err, wErr) {
				t.Fatalf("%s (at %d): %q %q %v\nwhole: %q %q %v", how, k, msgs, pongs, err, whole, wPongs, wErr)
			}
		}
	})
}

// BenchmarkReadMessage reads a node's answers as they come on a
// connection: a challenge and a 200 OK with a body, a keep-alive between
// them, in reads of up to 1,400 bytes.
func BenchmarkReadMessage(b *testing.B) {
	unit := []byte(challenge + "\r\n" + okBody)
	stream := bytes.Repeat(unit, 64)
	b.SetBytes(int64(len(unit)))
	b.ReportAllocs()
	src := &repeater{data: stream, max: 1400}
	r := NewReader(src)
	for b.Loop() {
		for range 2 {
			if _, err := r.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// repeater returns data over and over, in reads of at most max bytes.
type repeater struct {
	data []byte
	off  int
	max  int
}

func (s *repeater) Read(p []byte) (int, error) {
	n := copy(p[:min(len(p), s.max)], s.data[s.off:])
	if s.off += n; s.off == len(s.data) {
		s.off = 0
	}
	return n, nil
}
