package ucm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/ucm"
)

// FuzzParseWarnings: no panic; what is read has a code of three digits and
// a token for agent, and is read back the same from what String writes.
func FuzzParseWarnings(f *testing.F) {
	for _, s := range []string{
		`399 UCM2-PUB "SIP OAuth Registration port Mismatch"`,
		`307 isi.edu "a", 301 [::1]:5060 "b \"c\""`,
		`399 x "\`, `399 x "` + "\x00" + `"`, "", "999 a \"\"",
		`399 - "naïve \\ text"`, "399\tx\t\"y\" ,399 z \"w\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ws, _ := ucm.ParseWarnings(s)
		for _, w := range ws {
			if w.Code < 0 || w.Code > 999 || w.Agent == "" || strings.ContainsAny(w.Agent, " \t\",") {
				t.Fatalf("warning %+v from %q", w, s)
			}
			back, err := ucm.ParseWarnings(w.String())
			if err != nil || len(back) != 1 || back[0] != w {
				t.Fatalf("%+v written as %q, read back as %+v, %v", w, w.String(), back, err)
			}
		}
	})
}

// FuzzParseRetryAfter: no panic, never negative.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"35", "18000 (x);duration=3600", "99999999999999999999", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := ucm.ParseRetryAfter(s); ok && (d < 0 || d > 4294967295*time.Second) {
			t.Fatalf("%q: %s", s, d)
		}
	})
}
