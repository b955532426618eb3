package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/sipoauth/sdk/internal/buildinfo"
)

// -version prints the version and starts nothing: alone, the flags would
// be refused (no -config, no -device).
func TestRunVersion(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-version"}, &out, &errs); err != nil {
		t.Fatalf("run -version: %v", err)
	}
	if want := buildinfo.String("sipoauth-client") + "\n"; out.String() != want || errs.Len() != 0 {
		t.Fatalf("stdout %q, want %q; stderr %q", &out, want, &errs)
	}
}
