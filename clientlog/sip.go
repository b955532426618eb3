package clientlog

import (
	"bytes"
	"strings"
)

// message is what the analyzer keeps of one SIP message.
type message struct {
	request   bool
	startOK   bool // the start line is complete
	method    string
	uri       string
	status    int
	reason    string
	callID    string
	cseq      int
	cseqMeth  string
	hasCSeq   bool
	expires   int
	hasExp    bool
	contactEx int
	hasConEx  bool
	retry     string
	warning   string
	challenge string
	chName    string // Proxy-Authenticate or WWW-Authenticate
	viaHost   string // the first Via's sent-by (host and port)
	token     bool   // bearer credentials
	ended     bool   // the header section ended: Content-Length, or a blank line
}

// maxValue bounds a header value copied into the report.
const maxValue = 512

// parseMessage reads a SIP message whose lines the record joined. The
// message may be flattened onto one line, headers separated by blanks, or
// have one header per line. A header starts where a name followed by ':'
// and a blank follows a blank; inside a quoted string only well-known
// header names start one. The header section ends at Content-Length (the
// last header Jabber and Unified CM write) or, when the message has one
// header per line, at a blank line; what follows is the body.
func parseMessage(b []byte, m *message, in *interner) {
	*m = message{}
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	b = b[i:]
	var (
		name      []byte // nil while reading the start line
		valStart  int
		quote     bool
		multiLine bool
		headers   bool
	)
	emit := func(end int) {
		if name == nil {
			m.startLine(b[valStart:end], in)
		} else {
			m.header(name, b[valStart:end], in)
		}
	}
	for j := 0; j < len(b); j++ {
		switch byteClass[b[j]] {
		case classOther:
			continue
		case classQuote:
			if j == 0 || b[j-1] != '\\' {
				quote = !quote
			}
			continue
		case classNewline:
			quote = false
			if multiLine && headers && blankLineAt(b, j+1) {
				emit(j)
				m.ended = true
				return
			}
		}
		// A header may start after a blank or a line end.
		k := j + 1
		if k >= len(b) || !isLetter(b[k]) {
			continue
		}
		e := headerNameAt(b, k)
		if e < 0 {
			continue
		}
		if quote && b[j] != '\n' && canonical(b[k:e]) == "" {
			continue
		}
		emit(k)
		if m.ended {
			return
		}
		if !headers {
			multiLine = bytes.IndexByte(b[:k], '\n') >= 0
			headers = true
		}
		name, valStart, quote = b[k:e], e+1, false
		j = e
	}
	emit(len(b))
}

// Classes of bytes for parseMessage's scan.
const (
	classOther = iota
	classBlank
	classNewline
	classQuote
)

var byteClass = [256]uint8{' ': classBlank, '\t': classBlank, '\r': classBlank, '\n': classNewline, '"': classQuote}

// blankLineAt reports whether the line starting at i holds only blanks.
func blankLineAt(b []byte, i int) bool {
	for ; i < len(b) && b[i] != '\n'; i++ {
		if b[i] != ' ' && b[i] != '\t' && b[i] != '\r' {
			return false
		}
	}
	return true
}

// startLine reads "METHOD uri SIP/2.0" or "SIP/2.0 status reason".
func (m *message) startLine(b []byte, in *interner) {
	f1, rest := nextField(b)
	f2, rest := nextField(rest)
	if bytes.Equal(f1, sipVersion) {
		if len(f2) == 3 && isDigits(f2) && f2[0] >= '1' && f2[0] <= '6' {
			m.status = atoi(f2)
			m.reason = in.clean(rest, 128)
			m.startOK = true
		}
		return
	}
	f3, _ := nextField(rest)
	if len(f1) == 0 || len(f1) > 16 || len(f2) == 0 {
		return
	}
	for _, c := range f1 {
		if c < 'A' || c > 'Z' {
			return
		}
	}
	m.request = true
	m.method = in.clean(f1, 16)
	m.uri = in.clean(f2, 256)
	m.startOK = bytes.Equal(f3, sipVersion)
}

// nextField returns the first blank-separated field of b and the rest.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

// header takes one header of the message.
func (m *message) header(name, value []byte, in *interner) {
	switch canonical(name) {
	case "Via":
		if m.viaHost == "" {
			_, rest := nextField(value) // SIP/2.0/TLS
			sentBy, _ := nextField(rest)
			if i := bytes.IndexAny(sentBy, ";,"); i >= 0 {
				sentBy = sentBy[:i]
			}
			m.viaHost = in.clean(sentBy, 128)
		}
	case "Call-ID":
		f, _ := nextField(value)
		m.callID = in.clean(f, 256)
	case "CSeq":
		n, ok := leadingInt(value)
		if ok {
			m.cseq, m.hasCSeq = n, true
			_, rest := nextField(value)
			meth, _ := nextField(rest)
			m.cseqMeth = in.clean(meth, 16)
		}
	case "Expires":
		m.expires, m.hasExp = leadingInt(value)
	case "Contact":
		for i := 0; ; {
			j := bytes.IndexByte(value[i:], ';')
			if j < 0 {
				break
			}
			i += j + 1
			if len(value)-i >= 8 && foldEq(value[i:i+8], "expires=") {
				m.contactEx, m.hasConEx = leadingInt(value[i+8:])
				break
			}
		}
	case "Retry-After":
		m.retry = cleanString(value, maxValue)
	case "Warning":
		m.warning = joinValue(m.warning, value)
	case "Proxy-Authenticate", "WWW-Authenticate":
		m.challenge = joinValue(m.challenge, value)
		if m.chName == "" {
			m.chName = canonical(name)
		}
	case "Proxy-Authorization", "Authorization":
		f, _ := nextField(value)
		if len(f) >= 6 && bytes.EqualFold(f[:6], []byte("bearer")) {
			m.token = true
		}
	case "Content-Length":
		m.ended = true
	}
}

func joinValue(old string, value []byte) string {
	v := cleanString(value, maxValue)
	if old == "" || v == "" {
		return old + v
	}
	if len(old) >= maxValue {
		return old
	}
	return old + ", " + v
}

// headerNameAt returns the offset of the ':' that ends a header name
// starting at b[i], or -1: a letter, token characters, ':', then a blank
// or the end.
func headerNameAt(b []byte, i int) int {
	if i >= len(b) || !isLetter(b[i]) {
		return -1
	}
	j := i + 1
	for j < len(b) && j-i <= 64 && isTokenChar(b[j]) {
		j++
	}
	if j >= len(b) || b[j] != ':' || j-i > 64 {
		return -1
	}
	if j+1 < len(b) && !isSpace(b[j+1]) {
		return -1
	}
	return j
}

// knownHeaders maps lower-case header names, compact forms included, to
// their canonical spelling.
var knownHeaders = map[string]string{
	"via": "Via", "v": "Via", "from": "From", "f": "From", "to": "To", "t": "To",
	"call-id": "Call-ID", "i": "Call-ID", "cseq": "CSeq", "contact": "Contact", "m": "Contact",
	"expires": "Expires", "max-forwards": "Max-Forwards", "date": "Date",
	"user-agent": "User-Agent", "server": "Server", "supported": "Supported", "k": "Supported",
	"allow": "Allow", "require": "Require", "proxy-require": "Proxy-Require",
	"proxy-authenticate": "Proxy-Authenticate", "www-authenticate": "WWW-Authenticate",
	"proxy-authorization": "Proxy-Authorization", "authorization": "Authorization",
	"warning": "Warning", "retry-after": "Retry-After",
	"content-type": "Content-Type", "c": "Content-Type", "content-length": "Content-Length", "l": "Content-Length",
	"content-disposition": "Content-Disposition", "mime-version": "Mime-Version",
	"reason": "Reason", "session-id": "Session-ID", "allow-events": "Allow-Events", "u": "Allow-Events",
	"record-route": "Record-Route", "route": "Route", "event": "Event", "o": "Event", "accept": "Accept",
}

// canonical returns the canonical name of a well-known header, or "".
func canonical(name []byte) string {
	var buf [24]byte
	if len(name) > len(buf) {
		return ""
	}
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return knownHeaders[string(buf[:len(name)])]
}

// param returns the value of parameter name of a challenge, unquoted, or "".
func param(v, name string) string {
	for i := 0; i < len(v); {
		j := indexFoldString(v[i:], name+"=")
		if j < 0 {
			return ""
		}
		j += i
		i = j + len(name) + 1
		if j > 0 && v[j-1] != ' ' && v[j-1] != ',' && v[j-1] != '\t' {
			continue
		}
		rest := v[i:]
		if strings.HasPrefix(rest, `"`) {
			rest = rest[1:]
			if k := strings.IndexByte(rest, '"'); k >= 0 {
				return rest[:k]
			}
			return rest
		}
		if k := strings.IndexAny(rest, " ,;"); k >= 0 {
			return rest[:k]
		}
		return rest
	}
	return ""
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// isTokenChar reports whether c may appear in a header name (RFC 3261
// token).
func isTokenChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// indexFold is bytes.Index for an ASCII pattern, ignoring case.
func indexFold(b []byte, pat string) int {
	n := len(pat)
	for i := 0; i+n <= len(b); i++ {
		if foldEq(b[i:i+n], pat) {
			return i
		}
	}
	return -1
}

func indexFoldString(s, pat string) int {
	n := len(pat)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], pat) {
			return i
		}
	}
	return -1
}

func foldEq(b []byte, pat string) bool {
	for i := 0; i < len(pat); i++ {
		c, p := b[i], pat[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if p >= 'A' && p <= 'Z' {
			p += 'a' - 'A'
		}
		if c != p {
			return false
		}
	}
	return true
}
