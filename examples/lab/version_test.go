package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/sipoauth/sdk/internal/buildinfo"
)

// -version prints the version and starts no part of the lab.
func TestRunVersion(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-version"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s", code, &errs)
	}
	if want := buildinfo.String("lab") + "\n"; out.String() != want || errs.Len() != 0 {
		t.Fatalf("stdout %q, want %q; stderr %q", &out, want, &errs)
	}
}
