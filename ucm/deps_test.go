package ucm_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly: ucm sits below every other package, the
// browser build included, so it imports the standard library alone.
func TestStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{end}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/sipoauth/sdk/ucm" {
		t.Errorf("ucm links %v; want the standard library only", got)
	}
}
