package keyfile

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: keyfile links the standard library and jwkset (with
// what jwkset links) and the module's standard-library file watcher only, so that every package of the module, sipoauth
// and the issuer among them, can read keys through it.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/sipoauth/sdk/keyfile": true,
		"github.com/MicahParks/jwkset":    true,
		"golang.org/x/time/rate":          true, // jwkset's
		// The module's file watcher and bounded reader, themselves the
		// standard library only.
		"github.com/sipoauth/sdk/internal/watch":   true,
		"github.com/sipoauth/sdk/internal/bounded": true,
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("keyfile links %s", p)
		}
	}
}
