package sipmsg

import (
	"bytes"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// parsers are sipgo's header parsers by lower-case name, and names the
// same names as bytes, which the parsers take.
var (
	parsers = sip.DefaultHeadersParser()
	names   = func() map[string][]byte {
		m := make(map[string][]byte, len(parsers))
		for k := range parsers {
			m[k] = []byte(k)
		}
		return m
	}()
)

// maxName is the longest header name looked up among sipgo's parsers; a
// longer one is an unknown header.
const maxName = 32

// Parse parses the whole message in data, as sip.Parser.ParseSIP does:
// the same message, or sipgo's error. It keeps no reference to data.
func Parse(data []byte) (sip.Message, error) {
	if req := parseRequest(data); req != nil {
		return req, nil
	}
	// A parser of the moment: it takes sipgo's limit on a message as it is
	// now, as the fast path does.
	return sip.NewParser().ParseSIP(data)
}

// parseRequest parses a request without folded lines or comma-separated
// header values that sipgo's parser takes, or returns nil.
func parseRequest(data []byte) *sip.Request {
	limit := sip.ParseMaxMessageLength
	if len(data) > limit {
		return nil
	}
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return nil
	}
	s := string(data[:end+2]) // the start line and every header line, each with its CRLF
	line, pos, ok := nextLine(s, 0)
	if !ok {
		return nil
	}
	req := requestLine(line)
	if req == nil {
		return nil
	}
	var (
		contentLength *sip.ContentLengthHeader
		lower         [maxName]byte
	)
	for pos < len(s) {
		line, pos, ok = nextLine(s, pos)
		if !ok || (pos < len(s) && (s[pos] == ' ' || s[pos] == '\t')) {
			return nil // a folded line: sipgo joins it into a new string
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			return nil
		}
		name, value := strings.TrimSpace(line[:colon]), strings.TrimSpace(line[colon+1:])
		var parse sip.HeaderParser
		var lowerName []byte
		if len(name) <= maxName {
			l := lower[:len(name)]
			for i := range len(name) {
				c := name[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				l[i] = c
			}
			parse = parsers[string(l)]
			lowerName = names[string(l)]
		}
		if parse == nil {
			req.AppendHeader(sip.NewHeader(name, value))
			continue
		}
		if lowerName == nil {
			return nil // a parser added to sipgo's map after this package started
		}
		h, err := parse(lowerName, value)
		if err != nil {
			return nil // a comma between values, or a value sipgo refuses
		}
		if cl, ok := h.(*sip.ContentLengthHeader); ok {
			contentLength = cl
		}
		req.AppendHeader(h)
	}
	rest := data[end+4:]
	size := len(rest)
	if contentLength != nil {
		size = int(*contentLength)
	}
	if size == 0 {
		return req
	}
	if size > limit-(end+4) || size > len(rest) {
		return nil
	}
	body := make([]byte, size)
	copy(body, rest)
	req.SetBody(body)
	return req
}

// nextLine returns the line of s at pos, without its CRLF, and where the
// next one starts; ok is false when a CR is not followed by LF, as
// sipgo's parser ends a line at the first CR.
func nextLine(s string, pos int) (line string, next int, ok bool) {
	i := strings.IndexByte(s[pos:], '\r')
	if i < 0 || pos+i+1 >= len(s) || s[pos+i+1] != '\n' {
		return "", 0, false
	}
	return s[pos : pos+i], pos + i + 2, true
}

// requestLine parses a request line as sipgo does, or returns nil for
// anything else, a status line among them.
func requestLine(line string) *sip.Request {
	method, rest, ok := strings.Cut(line, " ")
	if !ok {
		return nil
	}
	target, version, ok := strings.Cut(rest, " ")
	if !ok || len(version) < 3 || strings.IndexByte(version, ' ') >= 0 || !sip.UriIsSIP(version[:3]) {
		return nil
	}
	for i := range len(method) {
		if c := method[i]; ('a' <= c && c <= 'z') || c >= 0x80 {
			return nil // sipgo upper-cases it into a string of its own
		}
	}
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil || uri.Wildcard {
		return nil
	}
	req := sip.NewRequest(sip.RequestMethod(method), uri)
	req.SipVersion = version
	return req
}
