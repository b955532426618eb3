package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/internal/buildinfo"
)

func TestVersion(t *testing.T) {
	want := buildinfo.String("sipoauth") + "\n"
	for _, args := range [][]string{{"version"}, {"-version"}, {"--version"}} {
		var out, errs bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errs); code != exitOK {
			t.Fatalf("%q: exit %d\n%s", args, code, &errs)
		}
		if out.String() != want || errs.Len() != 0 {
			t.Fatalf("%q: stdout %q, want %q; stderr %q", args, &out, want, &errs)
		}
	}
	var out, errs bytes.Buffer
	if code := run([]string{"version", "extra"}, strings.NewReader(""), &out, &errs); code != exitUsage || out.Len() != 0 {
		t.Fatalf("version extra: exit %d, stdout %q", code, &out)
	}
	// The usage lists the command.
	out.Reset()
	run([]string{"help"}, strings.NewReader(""), &out, &errs)
	if !strings.Contains(out.String(), "\n  version ") {
		t.Fatalf("help does not list version:\n%s", &out)
	}
}
