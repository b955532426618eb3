package watch

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly: every package may follow its files with this
// one, keyfile among them, which links little else.
func TestStandardLibraryOnly(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/sipoauth/sdk/internal/watch" {
		t.Fatalf("links %q", got)
	}
}
