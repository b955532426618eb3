package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/inspect"
)

// stdinHint is printed to standard error before standard input is read
// from a terminal, so that a command waiting for input does not look hung.
func stdinHint() string {
	end := "Ctrl-D"
	if runtime.GOOS == "windows" {
		end = "Ctrl-Z, Enter"
	}
	return "reading from standard input; paste, then " + end
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// hintStdin prints the hint of c to standard error when standard input
// is a terminal.
func (e *env) hintStdin(c *command) {
	if e.stdinIsTerminal != nil && e.stdinIsTerminal() {
		fmt.Fprintf(e.stderr, "sipoauth %s: %s\n", c.name, stdinHint())
	}
}

// isFile reports whether name is an existing file other than a directory:
// an inline argument (a token, a header) that names one is read from it.
func isFile(name string) bool {
	if name == "" || name == "-" || strings.ContainsAny(name, "\n\r") {
		return false
	}
	st, err := os.Stat(name)
	return err == nil && !st.IsDir()
}

// unreadable are the codes of an input that cannot be parsed at all:
// the command exits 2 on them, as for an input that cannot be read.
var unreadable = map[string]bool{
	inspect.CodeCNFUnreadable:      true,
	inspect.CodeCertUnreadable:     true,
	inspect.CodeTokenUnreadable:    true,
	inspect.CodeHeaderUnreadable:   true,
	inspect.CodeResponseUnreadable: true,
}

// isUnreadable reports whether fs says the input could not be parsed.
func isUnreadable(fs diag.Findings) bool {
	for _, f := range fs {
		if f.Severity == diag.Error && unreadable[f.Code] {
			return true
		}
	}
	return false
}

// flagValueError matches the errors of package flag for a value a flag
// refuses: `invalid value "v" for flag -name: cause` and
// `invalid boolean value "v" for -name: cause`.
var flagValueError = regexp.MustCompile(`(?s)^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?-([^:]+): (.*)$`)

// flagError rewrites an error of package flag in the spelling of the
// usage texts (--name) and says what the flag wants.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "--" + name + " needs a value"
	}
	m := flagValueError.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	value, name, cause := m[1], m[2], m[3]
	if v, err := strconv.Unquote(value); err == nil {
		value = strconv.Quote(v)
	}
	f := fs.Lookup(name)
	if f == nil {
		return "--" + name + ": " + cause
	}
	var kind any
	if g, ok := f.Value.(flag.Getter); ok {
		kind = g.Get()
	}
	switch kind.(type) {
	case time.Duration:
		example := shortDuration(f.DefValue)
		if example == "" || example == "0s" {
			example = "1h"
		}
		return fmt.Sprintf("--%s: %s is not a duration, e.g. %s", name, value, example)
	case bool:
		return fmt.Sprintf("--%s: %s is not true or false", name, value)
	case int, int64, uint, uint64:
		return fmt.Sprintf("--%s: %s is not a whole number", name, value)
	case float64:
		return fmt.Sprintf("--%s: %s is not a number", name, value)
	}
	return "--" + name + ": " + cause
}

// shortDuration drops the zero units time.Duration.String writes last:
// "1h0m0s" is "1h", "5m0s" is "5m".
func shortDuration(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
