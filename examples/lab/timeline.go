package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"
)

// timeline narrates the lab: numbered steps, timed events, and checks
// whose failures make the run fail.
type timeline struct {
	w      io.Writer
	start  time.Time
	failed []string
	passed int
}

func newTimeline(w io.Writer) *timeline { return &timeline{w: w, start: time.Now()} }

// step starts a numbered part of the story.
func (t *timeline) step(id, title string) {
	fmt.Fprintf(t.w, "\n%s %s\n", id, title)
}

// say prints a timed event of an actor.
func (t *timeline) say(actor, format string, args ...any) {
	ms := time.Since(t.start).Milliseconds()
	text := fmt.Sprintf(format, args...)
	for i, line := range strings.Split(text, "\n") {
		if i == 0 {
			fmt.Fprintf(t.w, "  %6d ms  %-12s %s\n", ms, actor, line)
		} else {
			fmt.Fprintf(t.w, "  %9s  %-12s %s\n", "", "", line)
		}
	}
}

// note prints an explanation without a time.
func (t *timeline) note(format string, args ...any) {
	for _, line := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		fmt.Fprintf(t.w, "  %9s  %s\n", "", line)
	}
}

// check records an expectation: ✓ when it holds, ✗ and a failure when not.
func (t *timeline) check(ok bool, format string, args ...any) bool {
	what := fmt.Sprintf(format, args...)
	if ok {
		t.passed++
		fmt.Fprintf(t.w, "  %9s  ✓ %s\n", "", what)
	} else {
		t.failed = append(t.failed, what)
		fmt.Fprintf(t.w, "  %9s  ✗ %s\n", "", what)
	}
	return ok
}

// finish prints the outcome of the checks and returns the exit status:
// 0 when all passed, 1 with the list of those that failed.
func (t *timeline) finish() int {
	fmt.Fprintln(t.w)
	if len(t.failed) > 0 {
		fmt.Fprintf(t.w, "FAILED: %d of %d checks failed in %s:\n", len(t.failed), len(t.failed)+t.passed, since(t.start))
		for _, f := range t.failed {
			fmt.Fprintln(t.w, "  -", f)
		}
		return 1
	}
	fmt.Fprintf(t.w, "OK: all %d checks passed in %s.\n", t.passed, since(t.start))
	return 0
}

// randomPassword returns 18 random bytes in base64url.
func randomPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// shortToken shows the start of a token and its length, never all of it.
func shortToken(tok string) string {
	if len(tok) <= 16 {
		return fmt.Sprintf("%q", tok)
	}
	return fmt.Sprintf("%s…(%d bytes)", tok[:12], len(tok))
}
