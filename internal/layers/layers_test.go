package layers

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sipoauth/sdk/"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(t *testing.T) []pkg {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(goCmd, "list", "-json", "github.com/sipoauth/sdk/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImports: every package has a layer, and imports only its own layer,
// lower ones and internal helpers; programs are imported by nothing, and internal
// helpers import no layered package.
func TestImports(t *testing.T) {
	pkgs := list(t)
	if len(pkgs) < len(layerOf) {
		t.Fatalf("go list gave %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module)
		from, ok := Of(rel)
		if !ok {
			t.Errorf("%s has no layer in layers.Of", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to, ok := Of(strings.TrimPrefix(imp, module))
			switch {
			case !ok:
			case to == 5:
				t.Errorf("%s imports the program %s", rel, imp)
			case from == -1 && to != -1:
				t.Errorf("the internal helper %s imports %s", rel, imp)
			case to > from:
				t.Errorf("%s (layer %d) imports %s (layer %d)", rel, from, imp, to)
			}
		}
	}
}

// TestForbidden: the packages that work with any SIP stack do not link
// sipgo; the registrar links neither go-redis nor the Prometheus client.
func TestForbidden(t *testing.T) {
	deps := map[string][]string{}
	for _, p := range list(t) {
		deps[strings.TrimPrefix(p.ImportPath, module)] = p.Deps
	}
	for _, rel := range Checked() {
		mods := Forbidden(rel)
		d, ok := deps[rel]
		if !ok {
			t.Errorf("no package %s", rel)
		}
		for _, m := range mods {
			if i := slices.IndexFunc(d, func(dep string) bool { return strings.HasPrefix(dep, m) }); i >= 0 {
				t.Errorf("%s links %s", rel, d[i])
			}
		}
	}
}
