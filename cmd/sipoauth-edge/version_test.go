package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// -version is answered before any other check (alone, the flags would be
// refused: no -cert, -key, -node-ca or -upstream) and starts nothing: run
// returns errVersion, on which main prints the version and exits 0.
func TestRunVersion(t *testing.T) {
	var errs bytes.Buffer
	for _, args := range [][]string{{"-version"}, {"--version"}, {"-validate", "-version"}} {
		if err := run(context.Background(), args, &errs, nil); !errors.Is(err, errVersion) || errors.Is(err, errUsage) {
			t.Fatalf("run %q: %v, want errVersion", args, err)
		}
	}
	if errs.Len() != 0 {
		t.Fatalf("stderr %q", &errs)
	}
}
