package diag

import (
	"errors"
	"strconv"
	"strings"
)

// Severity ranks a finding. The zero value is Info.
type Severity uint8

// Severities, from least to most serious.
const (
	Info Severity = iota
	Warning
	Error
)

var severityNames = [...]string{"info", "warning", "error"}

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the severity's name, so findings read well as JSON.
func (s Severity) MarshalText() ([]byte, error) {
	if int(s) >= len(severityNames) {
		return nil, errors.New("diag: unknown severity")
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText reads a severity's name, case-insensitively.
func (s *Severity) UnmarshalText(b []byte) error {
	for i, n := range severityNames {
		if strings.EqualFold(string(b), n) {
			*s = Severity(i)
			return nil
		}
	}
	return errors.New("diag: unknown severity " + `"` + string(b) + `"`)
}

// Finding is one result of a check.
type Finding struct {
	// Code is stable and machine-readable, e.g. "oauth-port-range".
	Code string `json:"code"`
	// Severity says whether the thing checked works (Info), may not work as
	// meant (Warning) or does not work (Error).
	Severity Severity `json:"severity"`
	// Path locates the cause: an XPath-like path for XML
	// ("/device/devicePool/callManagerGroup/members/member[2]/callManager"),
	// a header name for SIP, a field for a certificate or token.
	Path string `json:"path"`
	// Message says what is wrong, for a person.
	Message string `json:"message"`
	// Fix says what to change.
	Fix string `json:"fix,omitempty"`
}

// String returns the finding on one line: "error oauth-port-range /path: message".
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.Severity.String())
	b.WriteByte(' ')
	b.WriteString(f.Code)
	if f.Path != "" {
		b.WriteByte(' ')
		b.WriteString(f.Path)
	}
	b.WriteString(": ")
	b.WriteString(f.Message)
	return b.String()
}

// Findings is a list of findings in the order they were found.
type Findings []Finding

// Max returns the highest severity in fs, and false when fs is empty.
func (fs Findings) Max() (Severity, bool) {
	var max Severity
	for _, f := range fs {
		if f.Severity > max {
			max = f.Severity
		}
	}
	return max, len(fs) > 0
}

// HasErrors reports whether a finding has severity Error.
func (fs Findings) HasErrors() bool {
	m, ok := fs.Max()
	return ok && m >= Error
}

// Codes returns the codes of fs, in order, for tests and summaries.
func (fs Findings) Codes() []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Code
	}
	return out
}
