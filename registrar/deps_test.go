package registrar_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// optionalBackends are the import path prefixes of what package
// registrar must not link: each optional backend lives in a package of its
// own (redisstore for Redis, prommetrics for Prometheus), so that a
// product links only the backends it uses. The tests may import them.
var optionalBackends = []string{
	"github.com/redis/go-redis/",
	"github.com/prometheus/",
}

// TestNoOptionalBackends lists what package registrar links (its tests
// aside) and fails on an optional backend, naming the packages that
// bring it in.
func TestNoOptionalBackends(t *testing.T) {
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
	var deps []string
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		f := strings.Fields(line)
		deps = append(deps, f[0])
		for _, imp := range f[1:] {
			importers[imp] = append(importers[imp], f[0])
		}
	}
	if !slices.Contains(deps, "github.com/sipoauth/sdk/registrar") {
		t.Fatalf("the dependency list lacks the package itself:\n%s", out)
	}
	optional := func(pkg string) bool {
		return slices.ContainsFunc(optionalBackends, func(prefix string) bool { return strings.HasPrefix(pkg+"/", prefix) })
	}
	// Only where a backend comes in: the packages it imports in turn
	// would say nothing more.
	for _, dep := range deps {
		by := slices.DeleteFunc(importers[dep], optional)
		if optional(dep) && len(by) > 0 {
			slices.Sort(by)
			t.Errorf("registrar links %s, imported by %s", dep, strings.Join(by, ", "))
		}
	}
}
