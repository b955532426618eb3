package clientlog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// readBufferSize is the longest piece of a line the reader holds; longer
// lines are read in pieces of this size.
const readBufferSize = 64 << 10

// recordKind says how a record started.
type recordKind uint8

const (
	recordNone recordKind = iota // no record yet: text before the first one is ignored
	recordLog                    // a log record: timestamp, level, [thread] ...
	recordBare                   // a SIP message pasted without a log header
)

// lineStart maps an offset of a record's text to a line of the log.
type lineStart struct{ off, line int }

// record is one log record (or one bare SIP message) with its physical
// lines joined: the text of a line wrapped at an arbitrary point is
// concatenated, and a line that starts a new header ("Name: ...") is
// joined with '\n', as is an empty line.
type record struct {
	kind   recordKind
	line   int
	time   time.Time
	text   []byte
	starts []lineStart
	// sipAt is the offset of the SIP message in text: after the sipio
	// marker, or 0 for a bare message; -1 when the record holds none.
	sipAt int
	// sent is the direction of the SIP message: sipio-sent, or a bare
	// request.
	sent bool
	// cut is set when text reached the size bound and was cut.
	cut bool
	// clValue is the last Content-Length of the message, read by inBody
	// up to clScanned.
	clValue, clScanned int
}

func (r *record) reset() {
	r.kind, r.line, r.time = recordNone, 0, time.Time{}
	r.text, r.starts = r.text[:0], r.starts[:0]
	r.sipAt, r.sent, r.cut = -1, false, false
	r.clValue, r.clScanned = 0, 0
}

// lineAt returns the line of the log that holds offset off of the text.
func (r *record) lineAt(off int) int {
	line := r.line
	for _, s := range r.starts {
		if s.off > off {
			break
		}
		line = s.line
	}
	return line
}

// markLine notes that the text from its current end comes from line.
func (r *record) markLine(line int) {
	off := len(r.text)
	if n := len(r.starts); n > 0 && r.starts[n-1].off == off {
		r.starts[n-1].line = line
		return
	}
	r.starts = append(r.starts, lineStart{off, line})
}

// Markers of a SIP message printed by platform_print_sip_msg.
var (
	markerSIPIO = []byte("sipio-")
	markerSent  = []byte("sent--->")
	markerRecv  = []byte("recv<---")
)

const markerLen = 14 // len("sipio-sent--->")

// read streams r through the analyzer, one physical line (or piece of a
// long line) at a time.
func (a *analyzer) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, readBufferSize)
	partial := false // the previous piece did not end its line
	for {
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			a.rep.Bytes += int64(len(piece))
			complete := piece[len(piece)-1] == '\n'
			if complete {
				piece = piece[:len(piece)-1]
				if n := len(piece); n > 0 && piece[n-1] == '\r' {
					piece = piece[:n-1]
				}
			}
			if !partial {
				a.line++
			}
			a.physical(piece, partial)
			partial = !complete
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return fmt.Errorf("clientlog: reading the log at line %d: %w", a.line, err)
		}
	}
}

// physical takes one line of the log, or the continuation of a line too
// long for the buffer (cont). Log records may begin anywhere in it: a
// wrapped log puts the start of a record on the line that ends the
// previous one.
func (a *analyzer) physical(b []byte, cont bool) {
	seg, search := 0, 0
	lineStart := !cont
	for {
		h, end, st, ok := findHeader(b[search:])
		stop := len(b)
		if ok {
			h, end = h+search, end+search
			stop = h
		}
		if stop > seg || (lineStart && !ok) {
			a.piece(b[seg:stop], lineStart)
		}
		if !ok {
			return
		}
		a.flush(false)
		a.begin(recordLog, a.stampTime(st))
		seg, search, lineStart = h, end, false
	}
}

// begin starts a new record at the current line.
func (a *analyzer) begin(kind recordKind, t time.Time) {
	r := &a.rec
	r.reset()
	r.kind, r.line, r.time = kind, a.line, t
	r.markLine(a.line)
}

// piece adds text to the current record. atLineStart says the text
// starts a physical line, so the join rule applies, and a bare SIP start
// line may begin a record.
func (a *analyzer) piece(p []byte, atLineStart bool) {
	r := &a.rec
	if atLineStart {
		if req, ok := bareStart(p); ok && (r.kind == recordNone || !r.awaitingStartLine() && !r.inBody()) {
			a.flush(false)
			a.begin(recordBare, time.Time{})
			r.sipAt, r.sent = 0, req
			a.add(p)
			return
		}
		if r.kind == recordNone {
			return
		}
		if len(p) == 0 || startsHeader(r.text, p) {
			a.add(newline)
		}
		r.markLine(a.line)
	} else if r.kind == recordNone {
		return
	}
	a.add(p)
}

var newline = []byte{'\n'}

// startsHeader reports whether line p, which follows text, starts a new
// header rather than continuing a wrapped one. A line that starts with
// "Name:" does, unless text ends with a hyphen that the name completes
// ("Content-" and "Length: 1271", a wrap after a hyphen): then the joined
// name must not be a well-known header while the line's own name is one
// ("...abc-" and "CSeq: 1").
func startsHeader(text, p []byte) bool {
	e := headerNameAt(p, 0)
	if e <= 0 {
		return false
	}
	if len(text) == 0 || text[len(text)-1] != '-' {
		return true
	}
	t := len(text)
	for t > 0 && len(text)-t < 32 && isTokenChar(text[t-1]) {
		t--
	}
	var buf [96]byte
	joined := append(append(buf[:0], text[t:]...), p[:e]...)
	return canonical(joined) == "" && canonical(p[:e]) != ""
}

// awaitingStartLine reports whether the record is a sipio record whose
// message has not begun: only blanks follow the marker.
func (r *record) awaitingStartLine() bool {
	if r.kind != recordLog || r.sipAt < 0 {
		return false
	}
	return len(bytes.TrimSpace(r.text[r.sipAt:])) == 0
}

// inBody reports whether the record's SIP message announced a body
// (Content-Length above 0): a start line in it is the body's, as in a
// NOTIFY carrying a message/sipfrag, not a new message.
func (r *record) inBody() bool {
	if r.sipAt < 0 {
		return false
	}
	// Scan only what was added since the last call, so that many start
	// lines in one message cost no more than one pass over it.
	// The overlap finds again a header whose number was not read yet.
	const name = "Content-Length:"
	from := max(r.sipAt, r.clScanned-len(name)-16)
	for i := from; ; {
		j := indexFold(r.text[i:], name)
		if j < 0 {
			break
		}
		i += j + len(name)
		r.clValue, _ = leadingInt(r.text[i:])
	}
	r.clScanned = len(r.text)
	return r.clValue > 0
}

// add appends p to the record's text within the size bound, and looks
// for the sipio marker while the record has none.
func (a *analyzer) add(p []byte) {
	r := &a.rec
	base := 0
	if r.sipAt >= 0 {
		base = r.sipAt
	}
	room := a.maxMsg - (len(r.text) - base)
	if len(p) > room {
		if room < 0 {
			room = 0
		}
		p = p[:room]
		r.cut = true
	}
	if len(p) == 0 {
		return
	}
	old := len(r.text)
	r.text = append(r.text, p...)
	if r.sipAt >= 0 {
		return
	}
	from := max(0, old-markerLen+1)
	for {
		i := bytes.Index(r.text[from:], markerSIPIO)
		if i < 0 {
			return
		}
		i += from
		rest := r.text[i+len(markerSIPIO):]
		if len(rest) < len(markerSent) {
			return
		}
		if bytes.HasPrefix(rest, markerSent) || bytes.HasPrefix(rest, markerRecv) {
			r.sent = rest[0] == 's'
			r.sipAt = i + markerLen
			return
		}
		from = i + 1
	}
}

// stamp is a log timestamp as read.
type stamp struct {
	hasDate                bool
	year, month, day       int
	hour, min, sec, millis int
}

// stampTime returns the time of a record header. A header without a date
// takes the date of the previous one that had one.
func (a *analyzer) stampTime(s stamp) time.Time {
	if s.hasDate {
		if s.month < 1 || s.month > 12 || s.day < 1 || s.day > 31 {
			return time.Time{}
		}
		a.year, a.month, a.day = s.year, s.month, s.day
	} else if a.year == 0 {
		return time.Time{}
	}
	if s.hour > 23 || s.min > 59 || s.sec > 60 {
		return time.Time{}
	}
	return time.Date(a.year, time.Month(a.month), a.day, s.hour, s.min, s.sec, s.millis*int(time.Millisecond), time.UTC)
}

// findHeader finds the first log-record header in b:
//
//	[YYYY-MM-DD ]HH:MM:SS,mmm LEVEL [
//
// with blanks (spaces, tabs, no-break spaces) between, and the level in
// upper case; a wrapped log may end the line after the time or the level.
// start is where the header begins (at the date when there is one), end
// is after the level.
func findHeader(b []byte) (start, end int, st stamp, ok bool) {
	for i := 0; i < len(b); {
		c := bytes.IndexByte(b[i:], ':')
		if c < 0 {
			return 0, 0, st, false
		}
		c += i
		i = c + 1
		t := c - 2
		if t < 0 || t+12 > len(b) {
			continue
		}
		if !isDigits(b[t:t+2]) || b[t+5] != ':' || !isDigits(b[t+3:t+5]) || !isDigits(b[t+6:t+8]) ||
			(b[t+8] != ',' && b[t+8] != '.') || !isDigits(b[t+9:t+12]) {
			continue
		}
		if t > 0 && isAlnum(b[t-1]) {
			continue
		}
		p := skipBlank(b, t+12)
		if p == t+12 {
			continue
		}
		// A wrapped log may break the line before the level.
		if p < len(b) {
			l := p
			for p < len(b) && b[p] >= 'A' && b[p] <= 'Z' {
				p++
			}
			if p-l < 4 || p-l > 7 {
				continue
			}
			q := skipBlank(b, p)
			if q == p || (q < len(b) && b[q] != '[') {
				continue
			}
		}
		st = stamp{
			hour: atoi(b[t : t+2]), min: atoi(b[t+3 : t+5]), sec: atoi(b[t+6 : t+8]), millis: atoi(b[t+9 : t+12]),
		}
		start = t
		if d := t - 11; d >= 0 && b[t-1] == ' ' && isDate(b[d:t-1]) && (d == 0 || !isAlnum(b[d-1])) {
			start = d
			st.hasDate = true
			st.year, st.month, st.day = atoi(b[d:d+4]), atoi(b[d+5:d+7]), atoi(b[d+8:d+10])
		}
		return start, p, st, true
	}
	return 0, 0, st, false
}

// isDate reports whether b is YYYY-MM-DD.
func isDate(b []byte) bool {
	return len(b) == 10 && isDigits(b[0:4]) && b[4] == '-' && isDigits(b[5:7]) && b[7] == '-' && isDigits(b[8:10])
}

// skipBlank skips spaces, tabs and no-break spaces (U+00A0 in UTF-8).
func skipBlank(b []byte, i int) int {
	for i < len(b) {
		switch {
		case b[i] == ' ' || b[i] == '\t':
			i++
		case b[i] == 0xC2 && i+1 < len(b) && b[i+1] == 0xA0:
			i += 2
		default:
			return i
		}
	}
	return i
}

// bareStart reports whether p starts with a SIP start line: a response
// "SIP/2.0 NNN ..." or a request "METHOD uri SIP/2.0". req is true for a
// request.
func bareStart(p []byte) (req, ok bool) {
	i := skipBlank(p, 0)
	p = p[i:]
	if len(p) < 11 || p[0] < 'A' || p[0] > 'Z' {
		return false, false
	}
	if bytes.HasPrefix(p, sipVersionSP) {
		s := p[len(sipVersionSP):]
		return false, len(s) >= 3 && isDigits(s[:3]) && s[0] >= '1' && s[0] <= '6' && (len(s) == 3 || s[3] == ' ')
	}
	m := 0
	for m < len(p) && p[m] >= 'A' && p[m] <= 'Z' {
		m++
	}
	if m < 3 || m > 16 || m >= len(p) || p[m] != ' ' {
		return false, false
	}
	u := m + 1
	e := u
	for e < len(p) && p[e] != ' ' {
		e++
	}
	if e == u || e+8 > len(p) || !bytes.Equal(p[e+1:e+8], sipVersion) {
		return false, false
	}
	if e+8 < len(p) && p[e+8] != ' ' {
		return false, false
	}
	return true, true
}

var (
	sipVersion   = []byte("SIP/2.0")
	sipVersionSP = []byte("SIP/2.0 ")
)

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// atoi reads the leading digits of b, at most 9 of them; 0 when none.
func atoi(b []byte) int {
	n := 0
	for i, c := range b {
		if c < '0' || c > '9' || i == 9 {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// leadingInt reads the decimal number that b starts with, after blanks.
func leadingInt(b []byte) (int, bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || n > 9 {
		return 0, false
	}
	return atoi(b[:n]), true
}
