package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/inspect"
)

// maxInput bounds every input read whole (all but logs, which are
// streamed): far above any configuration file, certificate chain, token
// or header, low enough that a wrong file name cannot exhaust memory.
const maxInput = 8 << 20

// maxPastedLog bounds a log read from standard input: a log file has no
// bound, as its analysis streams it in bounded memory.
var maxPastedLog int64 = inspect.DefaultMaxLogSize

// errEmptyInput is the error of an input with nothing but white space.
var errEmptyInput = errors.New("empty input")

// open opens the named file, or standard input for "-" (with a hint on
// standard error when it is a terminal).
func (e *env) open(c *command, name string) (io.ReadCloser, string, error) {
	if name == "-" {
		e.hintStdin(c)
		return io.NopCloser(e.stdin), "standard input", nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, name, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, name, fmt.Errorf("%s is a directory", name)
	}
	return f, name, nil
}

// readInput reads the named file, or standard input for "-", refusing
// more than max bytes and input with nothing but white space.
func (e *env) readInput(c *command, name string, max int64) ([]byte, error) {
	rc, label, err := e.open(c, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", label, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", label, max)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: %w", label, errEmptyInput)
	}
	return b, nil
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// status returns the exit status for fs: exitFindings when one has
// severity error.
func status(fs diag.Findings) int {
	if fs.HasErrors() {
		return exitFindings
	}
	return exitOK
}

// printFindings prints a summary line, then each finding on one line
// ("error code path: message") with its fix on the next. A possible cause
// of the finding before it is indented under it
// ("  possible cause code: message").
func printFindings(w io.Writer, fs diag.Findings) {
	fmt.Fprintln(w, summarize(fs))
	for _, f := range fs {
		indent := "  "
		if msg, ok := strings.CutPrefix(f.Message, inspect.PossibleCause); ok {
			fmt.Fprintf(w, "  possible cause %s: %s\n", f.Code, msg)
			indent = "    "
		} else {
			fmt.Fprintln(w, f.String())
		}
		if f.Fix != "" {
			fmt.Fprintln(w, indent+"fix: "+f.Fix)
		}
	}
}

// summarize counts findings by severity, possible causes apart:
// "2 findings: 1 error, 1 warning", "1 finding: 1 error, 3 possible causes".
func summarize(fs diag.Findings) string {
	if len(fs) == 0 {
		return "no findings"
	}
	var n [3]int
	causes := 0
	for _, f := range fs {
		if strings.HasPrefix(f.Message, inspect.PossibleCause) {
			causes++
			continue
		}
		if int(f.Severity) < len(n) {
			n[f.Severity]++
		}
	}
	var parts []string
	for _, s := range []diag.Severity{diag.Error, diag.Warning, diag.Info} {
		c := n[s]
		if c == 0 {
			continue
		}
		word := s.String()
		if c > 1 && s != diag.Info {
			word += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", c, word))
	}
	if causes > 0 {
		parts = append(parts, plural(causes, "possible cause"))
	}
	return fmt.Sprintf("%s: %s", plural(len(fs)-causes, "finding"), strings.Join(parts, ", "))
}

// plural returns "1 finding" or "3 findings".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, indent string, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if header != nil {
		t.row(indent, header...)
	}
	return t
}

func (t *table) row(indent string, cells ...string) {
	fmt.Fprintln(t.tw, indent+strings.Join(cells, "\t"))
}

func (t *table) flush() { t.tw.Flush() }

// fields prints "name  value" lines, aligned, skipping empty values.
func fields(w io.Writer, indent string, kv ...string) {
	t := newTable(w, indent)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			t.row(indent, kv[i], kv[i+1])
		}
	}
	t.flush()
}

// when formats a time in UTC with the time left or past at now.
func when(t, now time.Time) string {
	s := t.UTC().Format(time.RFC3339)
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return s + " (in " + d.String() + ")"
	case d < 0:
		return s + " (" + (-d).String() + " ago)"
	}
	return s + " (now)"
}

// yesNo returns "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
