package inspect

import (
	"bytes"
	"strings"
)

// detectScan bounds how much of an input Detect searches for markers, so
// that detecting a log of many megabytes costs no more than a small one.
const detectScan = 1 << 20

// maxTLSLines is the most non-blank lines a TLS error text has; a longer
// text with timestamps is a log.
const maxTLSLines = 5

var headerNames = []string{"Proxy-Authenticate", "WWW-Authenticate", "Authorization", "Proxy-Authorization"}

// isDER reports whether input starts as a DER certificate does: a
// SEQUENCE with a two- or three-byte length. No text starts so: 0x82 and
// 0x83 are not the first byte of a UTF-8 character.
func isDER(input []byte) bool {
	return len(input) > 4 && input[0] == 0x30 && (input[1] == 0x82 || input[1] == 0x83)
}

// logMarkers are texts only a soft client's log has.
var logMarkers = []string{"sipio-", "fetchdeviceconfig", "create tls connection", "sip oauth mode", "sip_oauth_port", "[csf."}

// tlsMarkers are texts of TLS errors and alerts.
var tlsMarkers = []string{"tls:", "remote error", "alert", "x509:", "bad certificate", "bad_certificate", "unknown ca",
	"unknown_ca", "certificate required", "certificate_required", "certificate has expired", "edge-proxy table", "handshake"}

func detect(input []byte) (Kind, error) {
	if isDER(input) {
		return KindCert, nil
	}
	s := bytes.TrimPrefix(input, []byte("\xef\xbb\xbf"))
	s = bytes.TrimSpace(s)
	if len(s) == 0 {
		return "", ErrEmpty
	}
	if s[0] == '<' && isDeviceXML(s) {
		return KindCNF, nil
	}
	if isStatusLine(s) {
		return KindResponse, nil
	}
	if name, _ := splitHeaderName(s); name != "" {
		return KindHeader, nil
	}
	if isTokenText(s) {
		return KindToken, nil
	}
	if hasScheme(s, "Bearer") || hasScheme(s, "Digest") {
		return KindHeader, nil
	}
	scan := s
	if len(scan) > detectScan {
		scan = scan[:detectScan]
	}
	lower := bytes.ToLower(scan)
	if containsAny(lower, logMarkers) {
		return KindLog, nil
	}
	if bytes.Contains(scan, []byte("-----BEGIN ")) {
		return KindCert, nil
	}
	lines, stamped := countLines(scan)
	tls := containsAny(lower, tlsMarkers)
	switch {
	case tls && lines <= maxTLSLines:
		return KindTLS, nil
	case stamped > 0:
		return KindLog, nil
	case tls:
		return KindTLS, nil
	}
	return "", ErrUnknownKind
}

// isDeviceXML reports whether the first element of s is <device>, after
// an XML declaration, comments, processing instructions or a DOCTYPE.
func isDeviceXML(s []byte) bool {
	for n := 0; n < 64; n++ {
		s = bytes.TrimLeft(s, " \t\r\n")
		switch {
		case bytes.HasPrefix(s, []byte("<!--")):
			i := bytes.Index(s, []byte("-->"))
			if i < 0 {
				return false
			}
			s = s[i+3:]
		case bytes.HasPrefix(s, []byte("<?")), bytes.HasPrefix(s, []byte("<!")):
			i := bytes.IndexByte(s, '>')
			if i < 0 {
				return false
			}
			s = s[i+1:]
		case bytes.HasPrefix(s, []byte("<device")):
			return len(s) == len("<device") || strings.IndexByte(" \t\r\n/>", s[len("<device")]) >= 0
		default:
			return false
		}
	}
	return false
}

// isStatusLine reports whether s starts with "SIP/2.0 NNN".
func isStatusLine(s []byte) bool {
	const p = "SIP/2.0 "
	if len(s) < len(p)+3 || !strings.EqualFold(string(s[:len(p)]), p) {
		return false
	}
	d := s[len(p):]
	return isDigit(d[0]) && isDigit(d[1]) && isDigit(d[2]) && (len(d) == 3 || d[3] == ' ' || d[3] == '\t' || d[3] == '\r' || d[3] == '\n')
}

// splitHeaderName returns the header name s starts with, one of the four
// Bearer headers, and the value after the colon; "" when s does not start
// with one.
func splitHeaderName(s []byte) (string, []byte) {
	for _, n := range headerNames {
		if len(s) < len(n) || !strings.EqualFold(string(s[:len(n)]), n) {
			continue
		}
		rest := bytes.TrimLeft(s[len(n):], " \t")
		if len(rest) > 0 && rest[0] == ':' {
			return n, rest[1:]
		}
	}
	return "", nil
}

// hasScheme reports whether s starts with the auth-scheme name, alone or
// followed by white space.
func hasScheme(s []byte, name string) bool {
	if len(s) < len(name) || !strings.EqualFold(string(s[:len(name)]), name) {
		return false
	}
	return len(s) == len(name) || isSpace(s[len(name)])
}

// isTokenText reports whether s is a compact JWS or JWE, alone or after
// "Bearer ".
func isTokenText(s []byte) bool {
	if hasScheme(s, "Bearer") {
		s = bytes.TrimLeft(s[len("Bearer"):], " \t")
	}
	return isCompactJOSE(string(s))
}

// isCompactJOSE reports whether s is shaped like a compact JWS (three
// segments) or JWE (five): base64url characters and dots only, and a
// first segment that encodes a JSON object.
func isCompactJOSE(s string) bool {
	if !strings.HasPrefix(s, "ey") {
		return false
	}
	dots := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			dots++
		case !isB64URL(c):
			return false
		}
	}
	return dots == 2 || dots == 4
}

func isB64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '='
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func containsAny(s []byte, subs []string) bool {
	for _, m := range subs {
		if bytes.Contains(s, []byte(m)) {
			return true
		}
	}
	return false
}

// countLines returns the number of non-blank lines of s and how many of
// them start with a timestamp.
func countLines(s []byte) (lines, stamped int) {
	for len(s) > 0 {
		line := s
		if i := bytes.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		lines++
		if hasTimestamp(line) {
			stamped++
		}
	}
	return lines, stamped
}

// hasTimestamp reports whether line starts with a log timestamp:
// "2020-03-30 13:03:18", "2020-03-30T13:03:18" or "13:03:19,013".
func hasTimestamp(line []byte) bool {
	match := func(pat string) bool {
		if len(line) < len(pat) {
			return false
		}
		for i := 0; i < len(pat); i++ {
			c := line[i]
			switch pat[i] {
			case 'd':
				if !isDigit(c) {
					return false
				}
			case 'T':
				if c != 'T' && c != ' ' {
					return false
				}
			case ',':
				if c != ',' && c != '.' {
					return false
				}
			default:
				if c != pat[i] {
					return false
				}
			}
		}
		return true
	}
	return match("dddd-dd-ddTdd:dd:dd") || match("dd:dd:dd,ddd")
}
