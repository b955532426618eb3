package siplimit

import (
	"bytes"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/sipoauth/sdk/internal/sipstream"
)

// failure is why a framer stopped passing a message on.
type failure uint8

const (
	failNone failure = iota
	// failNotSIP: the start line is not a SIP start line; there is
	// nothing to answer.
	failNotSIP
	// failFraming: an invalid, conflicting or (on a stream) missing
	// Content-Length, a CSeq sipgo does not read, a header line without a
	// colon, a CR not followed by LF, or (in a datagram) a header section
	// or body cut short: 400.
	failFraming
	// failTooLarge: the message is over the size limit: 513.
	failTooLarge
)

type frameState uint8

const (
	fsBetween frameState = iota // between messages: CR, LF and NUL are keep-alives
	fsLine                      // in the start line or the header section
	fsBody
	fsDone // a datagram's message ended, or a failure stopped the reading
)

// Header fields the framer keeps to answer a message it refuses, or to
// find the body's length.
const (
	hOther = iota
	hVia
	hFrom
	hTo
	hCallID
	hCSeq
	hContentLength
)

// maxName is the longest header field name the framer looks at; a longer
// name is none it keeps.
const maxName = 64

// framer follows SIP messages through a byte stream (RFC 3261 §7.5, §18.3)
// without assembling them: it finds the end of the header section and the
// body's Content-Length, checks the size and the CSeq, and keeps the start
// line and the few header lines it needs to answer a message it refuses.
// It never changes a byte; feed says how many may be passed on.
//
// It splits lines on CRLF as sipgo does, and judges a header line when the
// next byte shows whether a continuation line follows, before sipgo can
// parse it, so that sipgo never sees the line a refusal is about. When a
// header line's LF is the last byte fed, feed asks for that LF to be held
// back until the next byte is there: sipgo then always parses a header
// with its continuation lines, even when they arrive in separate reads.
type framer struct {
	max    int
	stream bool // a stream needs Content-Length; a datagram ends its message

	state       frameState
	fail        failure
	headersDone bool // after a failure: the header section is read as far as it will be
	msgLen      int  // bytes of the current message so far
	bodyLeft    int
	started     uint64
	completed   uint64

	// The current line.
	startLine bool // it is the start line
	word      int  // bytes of the start line's first word so far; -1 after it
	lineLen   int  // its bytes so far, without a CR that may end it
	cr        bool // the last byte was a CR
	lineOff   int  // where it starts in buf, while kept or unknown
	unknown   bool // its field name is not known yet: kept until it is
	colon     bool

	// The current header group: a header line and its continuation lines.
	grp      int
	grpKeep  bool
	grpColon bool
	grpOff   int
	grpOpen  bool // its last line ended; the next line's first byte says whether it continues
	grpNL    int  // index of that line's LF in the chunk; -1: the byte held back
	grpName  bool // its first line is a known name alone: only white space may come before the colon
	nameAt   int  // where in buf to look on for that colon

	nulRun  int   // NUL bytes in a row so far (streams only)
	cl      int64 // Content-Length, -1 when none so far
	pending bool  // the previous feed held its last byte back

	buf  []byte // the start line and the kept header lines, CRLF included
	bufp *[]byte
	pool bool // take buf from bufPool per message and give it back
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func newFramer(max int, stream bool) framer {
	return framer{max: max, stream: stream, cl: -1, pool: stream}
}

// inMessage reports whether a message has begun and not ended.
func (f *framer) inMessage() bool { return f.state == fsLine || f.state == fsBody }

// failed reports whether a message was refused.
func (f *framer) failed() bool { return f.fail != failNone }

// needMore reports whether a refused message's header section is still to
// be read before it can be answered.
func (f *framer) needMore() bool { return f.fail != failNone && !f.headersDone }

func (f *framer) begin() {
	f.started++
	f.state = fsLine
	f.msgLen = 0
	f.nulRun = 0
	f.startLine = true
	f.word = 0
	f.lineLen = 0
	f.cr = false
	f.unknown = false
	f.colon = false
	f.grp = hOther
	f.grpKeep = false
	f.grpColon = false
	f.grpOpen = false
	f.grpName = false
	f.cl = -1
	if f.buf == nil && f.pool {
		f.bufp = bufPool.Get().(*[]byte)
		f.buf = (*f.bufp)[:0]
	}
	f.buf = f.buf[:0]
	f.lineOff = 0
}

func (f *framer) complete() {
	f.completed++
	f.state = fsBetween
	f.release()
}

// release gives the line buffer back to the pool between messages, so
// that an idle connection holds none.
func (f *framer) release() {
	if !f.pool || f.bufp == nil {
		return
	}
	if cap(f.buf) <= 64<<10 {
		*f.bufp = f.buf[:0]
		bufPool.Put(f.bufp)
	}
	f.buf, f.bufp = nil, nil
}

// feed follows p, the next bytes of the stream. The first d bytes of p
// may be passed on. When the previous feed held its last byte back,
// releasePrev says whether it may be passed on now, before p[:d]. hold
// says that p's last byte must be held back (d is then at most len(p)-1):
// the next feed decides.
func (f *framer) feed(p []byte) (d int, releasePrev, hold bool) {
	if f.fail != failNone && f.headersDone {
		f.pending = false
		return 0, false, false
	}
	failedBefore := f.fail != failNone
	defer func() {
		if failedBefore {
			d, releasePrev, hold = 0, false, false
		}
	}()
	d = -1
	releasePrev = f.pending
	f.pending = false
	stop := func(at int, why failure) {
		if f.fail == failNone {
			f.fail = why
		}
		if d < 0 {
			d = at
			if at < 0 {
				releasePrev, d = false, 0
			}
		}
	}
	i := 0
	for i < len(p) {
		switch f.state {
		case fsBetween:
			for i < len(p) && (p[i] == '\r' || p[i] == '\n' || p[i] == 0) {
				i++
			}
			if i < len(p) {
				f.begin()
			}
		case fsBody:
			n := min(f.bodyLeft, len(p)-i)
			if !f.nuls(p[i:i+n], i, stop) {
				break
			}
			i += n
			f.bodyLeft -= n
			f.msgLen += n
			if f.bodyLeft == 0 {
				f.complete()
			}
		case fsDone:
			i = len(p)
		case fsLine:
			i = f.line(p, i, stop, &hold)
		}
	}
	if d < 0 {
		d = len(p)
		if hold {
			d--
			f.pending = true
		}
	} else {
		hold = false
	}
	return d, releasePrev, hold
}

// line follows the start line or header section from p[i]; it returns
// where it stopped.
func (f *framer) line(p []byte, i int, stop func(int, failure), hold *bool) int {
	b := p[i]
	if f.lineLen == 0 && !f.cr && !f.startLine {
		// The first byte of a header line, or of the empty line. Like
		// sipgo, a line that starts with whitespace continues the header
		// before it, if there is one.
		cont := (b == ' ' || b == '\t') && f.grpOpen
		if f.grpOpen {
			f.grpOpen = false
			if !cont && f.fail == failNone && !f.judge() {
				stop(f.grpNL, failFraming)
			}
		}
		f.lineOff = len(f.buf)
		if !cont {
			f.grp, f.grpKeep, f.grpColon, f.grpName = hOther, false, false, false
			f.unknown = b != '\r'
			f.grpOff = f.lineOff
		}
	}
	if f.cr {
		f.cr = false
		f.nulRun = 0
		if b == '\n' {
			if !f.count(1, i, stop) {
				return len(p)
			}
			if f.unknown || f.grpKeep || f.startLine {
				f.buf = append(f.buf, '\n')
			}
			f.endLine(p, i, stop, hold)
			return i + 1
		}
		// A CR inside a line: sipgo refuses the message here.
		f.lineLen++
		if f.startLine {
			stop(i, failNotSIP)
			f.state = fsDone
			f.headersDone = true
			return len(p)
		}
		stop(i, failFraming)
	}
	end := len(p)
	j := bytes.IndexByte(p[i:], '\r')
	if j >= 0 {
		end = i + j
	}
	seg := p[i:end]
	if f.startLine && f.word >= 0 {
		// The start line's first word: a method or "SIP/2.0". Anything
		// else (a TLS handshake on a plain port, say) is refused at once.
		for k, b := range seg {
			if b == ' ' {
				f.word = -1
				break
			}
			if f.word++; f.word > 32 || !isToken(b) && b != '/' {
				stop(i+k, failNotSIP)
				f.state = fsDone
				f.headersDone = true
				return len(p)
			}
		}
	}
	if !f.count(len(seg), i, stop) || !f.nuls(seg, i, stop) {
		return len(p)
	}
	f.lineLen += len(seg)
	if f.unknown || f.grpKeep || f.startLine {
		f.buf = append(f.buf, seg...)
		if f.unknown {
			f.classify(false)
		} else if f.grpName {
			f.nameColon()
		}
	} else if !f.colon && !f.grpColon && bytes.IndexByte(seg, ':') >= 0 {
		f.colon = true // a skipped line is judged on its colon only
	}
	if j < 0 {
		return len(p)
	}
	if !f.count(1, end, stop) {
		return len(p)
	}
	f.cr = true
	if f.unknown || f.grpKeep || f.startLine {
		f.buf = append(f.buf, '\r')
	}
	return end + 1
}

// nuls follows the runs of NUL bytes in seg, found at p[at]: on a stream,
// a run longer than maxNULs stops the message where it gets too long
// and reports false. sipgo's transport drops a read of only NUL bytes,
// so a gate holds such a run back until other bytes come with it; the
// bound keeps what it holds small and is the same however the bytes are
// read.
func (f *framer) nuls(seg []byte, at int, stop func(int, failure)) bool {
	if !f.stream {
		return true
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] != 0 {
			f.nulRun = 0
			j := bytes.IndexByte(seg[i:], 0)
			if j < 0 {
				return true
			}
			i += j
		}
		if f.nulRun++; f.nulRun > maxNULs {
			stop(at+i, failNotSIP)
			f.state = fsDone
			f.headersDone = true
			return false
		}
	}
	return true
}

// count adds n bytes from p[at] to the message; past the limit it stops
// the message there and reports false.
func (f *framer) count(n, at int, stop func(int, failure)) bool {
	if f.msgLen+n > f.max {
		stop(at+(f.max-f.msgLen), failTooLarge)
		f.state = fsDone
		f.headersDone = true
		return false
	}
	f.msgLen += n
	return true
}

// classify decides from the kept bytes of the current line whether its
// header is one to keep; final means the line has ended. Like sipgo, it
// reads the name before the colon with white space trimmed.
func (f *framer) classify(final bool) {
	line := f.buf[f.lineOff:]
	c := bytes.IndexByte(line, ':')
	switch {
	case c >= 0:
		f.colon = true
		f.grp = headerKind(line[:c])
	case !final && len(line) <= maxName:
		return
	case final:
		// A name alone on its line: sipgo folds the lines that continue
		// it into it and reads the name before the first colon in them.
		f.grp = headerKind(line)
		f.grpName = f.grp != hOther
		f.nameAt = len(f.buf)
	default:
		f.grp = hOther
	}
	f.unknown = false
	f.grpKeep = f.grp != hOther
	if !f.grpKeep {
		f.buf = f.buf[:f.lineOff]
	}
}

// nameColon looks on through the continuation lines of a group whose
// first line is a known header name alone: the group is that header if
// only white space comes before the colon, another one otherwise.
func (f *framer) nameColon() {
	for f.nameAt < len(f.buf) {
		n := spaceLen(f.buf[f.nameAt:])
		if n < 0 {
			return // a character cut short: the next bytes tell
		}
		if n > 0 {
			f.nameAt += n
			continue
		}
		f.grpName = false
		if f.buf[f.nameAt] == ':' {
			f.colon = true
			return
		}
		f.colon = f.colon || bytes.IndexByte(f.buf[f.nameAt:], ':') >= 0
		f.grp, f.grpKeep = hOther, false
		f.buf = f.buf[:f.grpOff]
		return
	}
}

// endLine handles the LF at p[i] that ended a line.
func (f *framer) endLine(p []byte, i int, stop func(int, failure), hold *bool) {
	empty := f.lineLen == 0
	colon := f.colon
	f.lineLen, f.colon = 0, false
	if f.startLine {
		f.startLine = false
		if startLineKind(f.buf[:len(f.buf)-2]) == slNone {
			stop(i, failNotSIP)
			f.state = fsDone
			f.headersDone = true
		}
		return
	}
	if empty {
		f.endHeaders(p, i, stop)
		return
	}
	if f.unknown {
		f.classify(true)
	}
	f.grpColon = f.grpColon || colon
	f.grpOpen = true
	f.grpNL = i
	if f.fail == failNone && i == len(p)-1 {
		// The next byte may start a continuation line: sipgo folds it
		// in only if it has that byte when it parses the line.
		*hold = true
		f.grpNL = -1
	}
}

// judge checks a header group that has ended.
func (f *framer) judge() bool {
	if !f.grpColon {
		return false // sipgo: "field name with no value"
	}
	switch f.grp {
	case hCSeq:
		return validCSeq(f.buf[f.grpOff:])
	case hContentLength:
		v, ok := sipstream.ParseContentLength(f.buf[f.grpOff:])
		if !ok || (f.cl >= 0 && v != f.cl) {
			return false
		}
		f.cl = v
	}
	return true
}

// endHeaders handles the LF at p[i] that ended the header section.
func (f *framer) endHeaders(p []byte, i int, stop func(int, failure)) {
	if f.fail != failNone {
		f.headersDone = true
		f.state = fsDone
		return
	}
	if !f.stream {
		f.state = fsDone
		if rest := len(p) - i - 1; f.msgLen+rest > f.max {
			stop(i, failTooLarge)
			f.headersDone = true
			return
		}
		if f.cl > int64(len(p)-i-1) {
			stop(i, failFraming) // RFC 3261 §18.3: the body is cut short
			f.headersDone = true
			return
		}
		f.completed++
		return
	}
	switch {
	case f.cl < 0:
		stop(i, failFraming) // RFC 3261 §18.3: required on a stream
	case int64(f.msgLen)+f.cl > int64(f.max):
		stop(i, failTooLarge)
	default:
		f.bodyLeft = int(f.cl)
		if f.bodyLeft == 0 {
			f.complete()
		} else {
			f.state = fsBody
		}
		return
	}
	f.headersDone = true
	f.state = fsDone
}

// endDatagram ends a datagram fed whole: a header section it did not
// finish is a framing failure.
func (f *framer) endDatagram() {
	if f.state != fsLine {
		return
	}
	if f.fail == failNone {
		f.fail = failFraming
	}
	f.headersDone = true
	f.state = fsDone
}

// reset makes the framer ready for a new stream or datagram.
func (f *framer) reset() {
	f.state = fsBetween
	f.fail = failNone
	f.headersDone = false
	f.pending = false
	f.cl = -1
	f.buf = f.buf[:0]
}

// validCSeq reports whether a CSeq group (its lines with CRLF) has a value
// sipgo reads: digits for a number below 2**31 (RFC 3261 §8.1.1.5), then
// a space or tab, then a method. sipgo folds the group's lines into one,
// each fold a space, trims white space around the value, and takes what
// follows the first space or tab as the method, whatever it is.
func validCSeq(g []byte) bool {
	c := bytes.IndexByte(g, ':')
	if c < 0 {
		return false
	}
	v := g[c+1:]
	i := skipSpace(v, 0)
	start := i
	var n int64
	for ; i < len(v) && isDigit(v[i]); i++ {
		n = min(n*10+int64(v[i]-'0'), 1<<31)
	}
	if i == start || n >= 1<<31 || i == len(v) {
		return false
	}
	switch {
	case v[i] == ' ' || v[i] == '\t':
	case v[i] == '\r' && i+2 < len(v) && (v[i+2] == ' ' || v[i+2] == '\t'):
		// A line that continues the value: sipgo folds it into a space.
	default:
		return false
	}
	return skipSpace(v, i) < len(v)
}

// asciiSpace marks ASCII white space as bytes.TrimSpace sees it.
var asciiSpace = [256]bool{' ': true, '\t': true, '\r': true, '\n': true, '\v': true, '\f': true}

func isSpace(c byte) bool { return asciiSpace[c] }

// spaceLen is the length of the white space character b starts with, as
// bytes.TrimSpace (and so sipgo) sees it: 0 if it starts with another
// character, -1 if with one cut short.
func spaceLen(b []byte) int {
	if c := b[0]; c < utf8.RuneSelf {
		if isSpace(c) {
			return 1
		}
		return 0
	}
	if !utf8.FullRune(b) {
		return -1
	}
	if r, n := utf8.DecodeRune(b); unicode.IsSpace(r) {
		return n
	}
	return 0
}

// skipSpace returns the index of the first character of b from i that is
// not white space, len(b) if none.
func skipSpace(b []byte, i int) int {
	for i < len(b) && asciiSpace[b[i]] {
		i++
	}
	if i < len(b) && b[i] >= utf8.RuneSelf {
		return skipUnicodeSpace(b, i)
	}
	return i
}

func skipUnicodeSpace(b []byte, i int) int {
	for i < len(b) {
		n := spaceLen(b[i:])
		if n <= 0 {
			break
		}
		i += n
	}
	return i
}

// trimSpace trims white space as bytes.TrimSpace does, which sipgo
// trims header names with.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && asciiSpace[b[0]] {
		b = b[1:]
	}
	for len(b) > 0 && asciiSpace[b[len(b)-1]] {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && (b[0]|b[len(b)-1]) >= utf8.RuneSelf {
		return bytes.TrimSpace(b)
	}
	return b
}

// headerKind names the header fields the framer keeps, in full or compact
// form (RFC 3261 §7.3.3), from a name with the white space around it.
func headerKind(name []byte) int {
	name = trimSpace(name)
	switch len(name) {
	case 1:
		switch name[0] | 0x20 {
		case 'v':
			return hVia
		case 'f':
			return hFrom
		case 't':
			return hTo
		case 'i':
			return hCallID
		case 'l':
			return hContentLength
		}
	case 2:
		if bytes.EqualFold(name, []byte("to")) {
			return hTo
		}
	case 3:
		if bytes.EqualFold(name, []byte("via")) {
			return hVia
		}
	case 4:
		switch {
		case bytes.EqualFold(name, []byte("from")):
			return hFrom
		case bytes.EqualFold(name, []byte("cseq")):
			return hCSeq
		}
	case 7:
		if bytes.EqualFold(name, []byte("call-id")) {
			return hCallID
		}
	case 14:
		if bytes.EqualFold(name, []byte("content-length")) {
			return hContentLength
		}
	}
	return hOther
}

// Start line kinds.
const (
	slNone = iota
	slRequest
	slResponse
)

// startLineKind tells a SIP request line (Method SP Request-URI SP
// SIP/2.0) or status line (SIP/2.0 SP 3DIGIT [SP Reason-Phrase]) from
// anything else.
func startLineKind(line []byte) int {
	const version = "SIP/2.0"
	if len(line) >= len(version)+4 && bytes.EqualFold(line[:len(version)], []byte(version)) && line[len(version)] == ' ' {
		code := line[len(version)+1:]
		if len(code) >= 3 && isDigit(code[0]) && isDigit(code[1]) && isDigit(code[2]) && (len(code) == 3 || code[3] == ' ') {
			return slResponse
		}
		return slNone
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || sp > 32 {
		return slNone
	}
	for _, b := range line[:sp] {
		if !isToken(b) {
			return slNone
		}
	}
	rest := line[sp+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 || !bytes.EqualFold(rest[sp2+1:], []byte(version)) {
		return slNone
	}
	uri := rest[:sp2]
	if bytes.IndexByte(uri, ':') <= 0 {
		return slNone
	}
	for _, b := range uri {
		if b <= ' ' || b == 0x7f {
			return slNone
		}
	}
	return slRequest
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// isToken reports whether b may appear in a SIP token (RFC 3261 §25.1).
func isToken(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', isDigit(b):
		return true
	}
	switch b {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// maxNULs bounds a run of NUL bytes inside a message on a stream; a
// longer one fails the message.
const maxNULs = 1024

// gate decides what the SIP stack gets of each read: what the framer
// lets through, a header line's LF held back until the next byte, and
// NUL bytes inside a message held back until other bytes come with them,
// because sipgo's stream transport drops a read of only NUL bytes (it
// takes them for padding), which would lose part of a message.
type gate struct {
	fr   framer
	held bool // an LF is held back
	nuls int  // NUL bytes held back, before the LF if any
}

// prefix writes the held-back bytes at the start of buf (which must be
// longer than maxNULs+1) and returns how many.
func (g *gate) prefix(buf []byte) int {
	clear(buf[:g.nuls])
	p := g.nuls
	if g.held {
		buf[p] = '\n'
		p++
	}
	return p
}

// pass follows the n bytes read into buf after its prefix of p bytes and
// returns what of buf may be passed on now.
func (g *gate) pass(buf []byte, p, n int) []byte {
	inMessage := g.fr.inMessage()
	d, release, hold := g.fr.feed(buf[p : p+n])
	out := buf[:p+d]
	if g.held && !release {
		out = buf[:g.nuls] // the held LF's line is refused: nothing after it
	}
	g.held, g.nuls = hold, 0
	if inMessage && !g.fr.failed() && allNUL(out) {
		g.nuls = len(out) // at most maxNULs: the framer fails a longer run
		return nil
	}
	return out
}

func allNUL(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return len(b) > 0
}
