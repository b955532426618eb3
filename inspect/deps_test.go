package inspect

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// forbidden are the packages the browser build must not link: they would
// make the page's download several megabytes larger, or pull in a SIP
// stack or a JOSE library the inspector does not need.
var forbidden = []string{
	"net/http", "crypto/tls", "github.com/emiago/sipgo", "github.com/golang-jwt/jwt/v5", "github.com/go-jose/go-jose/v4",
	"github.com/sipoauth/sdk/mtlstrust", "github.com/sipoauth/sdk/sipoauth", "github.com/sipoauth/sdk/client",
	"github.com/sipoauth/sdk/registrar", "github.com/sipoauth/sdk/edge",
}

// TestWasmDependencies lists what the package links when built for the
// browser (GOOS=js GOARCH=wasm) and fails on a forbidden package, naming
// the packages that import it.
func TestWasmDependencies(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs go list")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	cmd := exec.Command(goCmd, "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, ".")
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
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
	if !deps["github.com/sipoauth/sdk/certcheck"] || !deps["github.com/sipoauth/sdk/bearer"] {
		t.Fatalf("the dependency list lacks certcheck or bearer:\n%s", out)
	}
	for _, p := range forbidden {
		if deps[p] {
			by := importers[p]
			sort.Strings(by)
			t.Errorf("the js/wasm build links %s, imported by %s", p, strings.Join(by, ", "))
		}
	}
}
