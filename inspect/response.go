package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/ucm"
)

// maxResponseHeaders bounds the header fields of a response.
const maxResponseHeaders = 256

// sipResponse is a parsed SIP response: status line and header fields in
// order, names canonical for the fields this package knows.
type sipResponse struct {
	Status  int
	Reason  string
	Headers []sipHeader
}

type sipHeader struct{ Name, Value string }

// values returns the values of the header fields named name.
func (r *sipResponse) values(name string) []string {
	var out []string
	for _, h := range r.Headers {
		if h.Name == name {
			out = append(out, h.Value)
		}
	}
	return out
}

// responseError says why a text is not a SIP response, and where.
type responseError struct {
	// Line is the 1-based line of the problem.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error returns "inspect: line N: msg".
func (e *responseError) Error() string { return "inspect: line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// knownHeaders are the names a response flattened onto one line is split
// at (see parseFlattened).
var knownHeaders = []string{
	"Via", "From", "To", "Call-ID", "CSeq", "Contact", "Date", "Server", "User-Agent", "Max-Forwards",
	"Expires", "Retry-After", "Warning", "Content-Length", "Content-Type", "Proxy-Authenticate",
	"WWW-Authenticate", "Supported", "Require", "Allow", "Allow-Events", "Record-Route", "Route",
	"Reason", "Session-ID", "Mime-Version", "Accept", "Min-Expires", "P-Asserted-Identity",
	"Path", "Service-Route", "Unsupported", "Authentication-Info",
}

// canonicalNames are the header names the parser knows, by lower-case
// name and compact form (RFC 3261 §7.3.3).
var canonicalNames = func() map[string]string {
	m := map[string]string{"v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact",
		"l": "Content-Length", "c": "Content-Type", "k": "Supported", "x": "Session-Expires"}
	for _, n := range knownHeaders {
		m[strings.ToLower(n)] = n
	}
	return m
}()

func canonical(name string) string {
	if n, ok := canonicalNames[strings.ToLower(name)]; ok {
		return n
	}
	return name
}

// parseResponse reads a SIP response's status line and header fields,
// with CRLF or LF line ends and folded lines; the body is ignored. A
// response whose header fields were flattened onto the status line, as
// when it is copied from a web page, is split at the known header names.
func parseResponse(b []byte) (*sipResponse, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\r\n")
	lines := splitLines(b)
	if len(lines) == 0 {
		return nil, &responseError{Line: 1, Msg: "empty"}
	}
	r := &sipResponse{}
	tail, err := r.statusLine(lines[0])
	if err != nil {
		return nil, err
	}
	if tail != "" {
		return r, r.parseFlattened(tail, lines[1:])
	}
	for i, line := range lines[1:] {
		n := i + 2
		if line == "" {
			break // the end of the header fields; the body is not read
		}
		if strings.TrimSpace(line) == "" {
			continue // logs that wrap long lines leave lines of blanks
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(r.Headers) == 0 {
				return nil, &responseError{Line: n, Msg: "a continuation line before any header field"}
			}
			h := &r.Headers[len(r.Headers)-1]
			h.Value = strings.TrimSpace(h.Value + " " + strings.TrimSpace(line))
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimRight(name, " \t")
		if !ok || !isHeaderName(name) {
			return nil, &responseError{Line: n, Msg: fmt.Sprintf("%q is not a header field (name: value)", clip(line, 40))}
		}
		if err := r.add(n, name, value); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *sipResponse) add(line int, name, value string) error {
	if len(r.Headers) == maxResponseHeaders {
		return &responseError{Line: line, Msg: "more than " + strconv.Itoa(maxResponseHeaders) + " header fields"}
	}
	r.Headers = append(r.Headers, sipHeader{Name: canonical(name), Value: strings.TrimSpace(value)})
	return nil
}

// statusLine reads "SIP/2.0 NNN Reason" and returns what follows the
// reason when header fields follow on the same line.
func (r *sipResponse) statusLine(line string) (string, error) {
	if !isStatusLine([]byte(line)) {
		return "", &responseError{Line: 1, Msg: fmt.Sprintf("%q is not a SIP status line (SIP/2.0 NNN Reason)", clip(line, 40))}
	}
	r.Status, _ = strconv.Atoi(line[8:11])
	if r.Status < 100 {
		return "", &responseError{Line: 1, Msg: "status " + line[8:11] + " is not a response code (100-699)"}
	}
	reason := strings.TrimSpace(line[11:])
	if i := nextHeaderName(reason, 0); i >= 0 {
		r.Reason = strings.TrimSpace(reason[:i])
		return reason[i:], nil
	}
	r.Reason = reason
	return "", nil
}

// parseFlattened reads header fields written one after the other on a
// line, and on the lines after it, as a copied page shows a response:
// "SIP/2.0 403 Forbidden Via: SIP/2.0/TLS ... Warning: 399 UCM2-PUB "...""
// Lines are joined with spaces and split where a known header name
// follows a space outside a quoted string.
func (r *sipResponse) parseFlattened(tail string, rest []string) error {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(tail))
	for _, l := range rest {
		if l = strings.TrimSpace(l); l != "" {
			// A page wraps long values after a hyphen, as in a Call-ID.
			if !strings.HasSuffix(b.String(), "-") {
				b.WriteByte(' ')
			}
			b.WriteString(l)
		}
	}
	s := b.String()
	for s != "" {
		colon := strings.IndexByte(s, ':')
		next := nextHeaderName(s, colon+1)
		field := s
		if next >= 0 {
			field, s = s[:next], s[next:]
		} else {
			s = ""
		}
		name, value, _ := strings.Cut(field, ":")
		if err := r.add(1, name, value); err != nil {
			return err
		}
	}
	return nil
}

// nextHeaderName returns the index in s, from from on, of a known header
// name followed by a colon and preceded by white space, outside quoted
// strings; -1 when there is none.
func nextHeaderName(s string, from int) int {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && i >= from && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t'):
			for _, n := range knownHeaders {
				if len(s)-i > len(n) && strings.EqualFold(s[i:i+len(n)], n) && s[i+len(n)] == ':' {
					return i
				}
			}
		}
	}
	return -1
}

func isHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isB64URL(c) && c != '=' || strings.IndexByte("!%*.+`'~", c) >= 0) {
			return false
		}
	}
	return true
}

// splitLines splits at LF, dropping a CR before it.
func splitLines(b []byte) []string {
	s := string(b)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// responseHeaders are the header fields ResponseView shows.
var responseHeaders = []string{"Call-ID", "CSeq", "Contact", "Expires", "Proxy-Authenticate", "Retry-After",
	"Server", "Warning", "WWW-Authenticate"}

// checkResponse explains a SIP response to a REGISTER: a port mismatch
// (scenario 1), a challenge and its error, an edge proxy's 503 (scenarios
// 2 and 3), or a registration.
func checkResponse(input []byte, opts Options) Result {
	resp, err := parseResponse(input)
	if err != nil {
		f := diag.Finding{Code: CodeResponseUnreadable, Severity: diag.Error, Path: "status-line", Message: err.Error(),
			Fix: "paste the response from its status line (SIP/2.0 NNN Reason) through its header fields"}
		var re *responseError
		if errors.As(err, &re) && re.Line > 1 {
			f.Path = "line " + strconv.Itoa(re.Line)
		}
		return Result{Findings: diag.Findings{f}}
	}
	v := &ResponseView{Status: resp.Status, Reason: resp.Reason}
	for _, n := range responseHeaders {
		if vals := resp.values(n); len(vals) > 0 {
			if v.Headers == nil {
				v.Headers = map[string]string{}
			}
			v.Headers[n] = strings.Join(vals, ", ")
		}
	}
	r := Result{Response: v}
	// The values read before a malformed one count: the finding explains
	// what the answer says, even when a later value is damaged.
	warnings, _ := ucm.ParseWarnings(strings.Join(resp.values("Warning"), ", "))
	switch s := resp.Status; {
	case s == 403 && hasPortMismatch(warnings):
		v.Scenario = 1
		port := opts.Port
		if port == 0 {
			port = cnfxml.DefaultSIPOAuthPort
		}
		r.Findings = portMismatch(port)
	case s == 401 || s == 407:
		r.Header, r.Findings = responseChallenges(resp, opts.now())
	case s == 503 && len(warnings) > 0:
		r.Findings, v.Scenario = edgeWarnings(warnings)
	case s >= 200 && s < 300 && strings.HasSuffix(strings.ToUpper(strings.TrimSpace(strings.Join(resp.values("CSeq"), ""))), "REGISTER"):
		msg := "the registrar accepted the registration"
		if e := resp.values("Expires"); len(e) > 0 {
			msg += " for " + e[0] + " seconds (Expires)"
		}
		r.Findings = diag.Findings{{Code: CodeRegistered, Severity: diag.Info, Path: "status-line", Message: msg}}
	}
	return r
}

func hasPortMismatch(ws []ucm.Warning) bool {
	for _, w := range ws {
		if w.IsPortMismatch() {
			return true
		}
	}
	return false
}

// portMismatch is the refusal of scenario 1, one error finding, followed
// by its three possible causes as info findings ("possible cause: ..."),
// the likeliest first: one refusal, not three errors.
func portMismatch(port int) diag.Findings {
	causes := portMismatchCauses(port)
	fs := diag.Findings{{Code: CodePortMismatch, Severity: diag.Error, Path: "Warning",
		Message: fmt.Sprintf("the registrar refused the REGISTER on port %d: SIP OAuth registration port mismatch (troubleshooting scenario 1); %d possible causes follow, the likeliest first", port, len(causes)),
		Fix:     "check the possible causes below in turn; each says what to change"}}
	for _, c := range causes {
		c.Severity = diag.Info
		c.Message = PossibleCause + c.Message
		fs = append(fs, c)
	}
	return fs
}

// portMismatchCauses are the three causes of scenario 1, the likeliest
// first.
func portMismatchCauses(port int) diag.Findings { return diag.PortMismatchCauses(port, false) }

// responseChallenges explains the challenges of a 401 or 407: the Bearer
// ones if there are any, else the other schemes'.
func responseChallenges(resp *sipResponse, now time.Time) (*HeaderView, diag.Findings) {
	var (
		view   *HeaderView
		fs     diag.Findings
		others diag.Findings
		seen   bool
	)
	for _, name := range []string{"Proxy-Authenticate", "WWW-Authenticate"} {
		for _, val := range resp.values(name) {
			seen = true
			hr := inspectHeader(name, val, now)
			if len(hr.Findings) > 0 && hr.Findings[0].Code == CodeHeaderNotBearer {
				others = append(others, hr.Findings...)
				continue
			}
			if view == nil {
				view = hr.Header
			}
			fs = append(fs, hr.Findings...)
		}
	}
	switch {
	case !seen:
		want := "WWW-Authenticate"
		if resp.Status == 407 {
			want = "Proxy-Authenticate"
		}
		return nil, diag.Findings{{Code: CodeChallengeMissing, Severity: diag.Error, Path: want,
			Message: fmt.Sprintf("a %d without a %s header: the client cannot tell how to authenticate", resp.Status, want),
			Fix:     `the registrar must challenge with ` + want + `: Bearer realm="ccmsipline"`}}
	case len(fs) == 0:
		return nil, others[:1]
	}
	return view, fs
}

// edgeWarnings explains the Warning of an edge proxy's 503: the failed
// hop to the node, scenario 2 or 3 when it is a certificate problem.
func edgeWarnings(ws []ucm.Warning) (diag.Findings, int) {
	for _, w := range ws {
		if d, ok := diag.EdgeWarning(w.Agent, w.Text); ok {
			return diag.Findings{d.Finding}, d.Scenario
		}
		quoted := fmt.Sprintf("%s says %q", w.Agent, w.Text)
		if containsAny([]byte(strings.ToLower(w.Text)), tlsMarkers) {
			c := classifyTLS(w.Text, SideEdge)
			c.Finding.Path = "Warning"
			c.Finding.Message += " (" + quoted + ")"
			return diag.Findings{c.Finding}, c.Scenario
		}
		if strings.Contains(strings.ToLower(w.Text), "registrar") {
			return diag.Findings{{Code: CodeEdgeUpstreamFailed, Severity: diag.Error, Path: "Warning",
				Message: "the edge proxy could not get an answer from the node (" + quoted + ")",
				Fix:     "check the edge proxy's log for the failed hop to the node: address, MRA OAuth port (5091), TLS"}}, 0
		}
	}
	return nil, 0
}
