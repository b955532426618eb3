package sipoauth

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// TestDependencies lists what the package links and fails if it links the
// lab issuer: sipoauth validates tokens and never mints them, and its own
// tests import the issuer, which they could not if it imported sipoauth.
func TestDependencies(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	importers := map[string][]string{}
	deps := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		deps[f[0]] = true
		for _, imp := range f[1:] {
			importers[imp] = append(importers[imp], f[0])
		}
	}
	if !deps["github.com/sipoauth/sdk/sipoauth"] || !deps["github.com/sipoauth/sdk/internal/ucmtoken"] {
		t.Fatalf("the dependency list lacks sipoauth or internal/ucmtoken:\n%s", out)
	}
	for _, p := range []string{"github.com/sipoauth/sdk/issuer"} {
		if deps[p] {
			by := importers[p]
			sort.Strings(by)
			t.Errorf("sipoauth links %s, imported by %s", p, strings.Join(by, ", "))
		}
	}
}
