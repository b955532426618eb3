package main

import (
	"context"
	"testing"

	"github.com/sipoauth/sdk/internal/buildinfo"
	"github.com/sipoauth/sdk/internal/syncbuf"
)

// -version prints the version and exits 0 without reading any
// configuration: alone it would be a bad configuration (no -devices).
func TestRunVersion(t *testing.T) {
	for _, args := range [][]string{{"-version"}, {"--version"}, {"-log-level", "debug", "-version"}} {
		var out, errs syncbuf.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 0 {
			t.Fatalf("%q: exit %d\n%s", args, code, &errs)
		}
		if want := buildinfo.String("sipoauth-registrar") + "\n"; out.String() != want || errs.String() != "" {
			t.Fatalf("%q: stdout %q, want %q; stderr %q", args, &out, want, &errs)
		}
	}
}
