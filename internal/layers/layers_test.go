package layers

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = Module

type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

func list(t *testing.T) []pkg {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-json", "github.com/sipoauth/sdk/...").Output()
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
		if !strings.HasPrefix(p.ImportPath, module) {
			continue
		}
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
// sipgo, the registrar links neither go-redis nor the Prometheus client,
// the validator not the issuer; the packages of facts and the internal
// helpers link the standard library alone, keyfile little more. A
// failure names the packages that bring the dependency in.
func TestForbidden(t *testing.T) {
	stdlibOnly := func(path string) bool {
		o, ok := Only(strings.TrimPrefix(path, module))
		return ok && len(o) == 0 && strings.HasPrefix(path, module)
	}
	all := list(t)
	standard := map[string]bool{}
	deps := map[string][]string{}
	importers := map[string][]string{}
	for _, p := range all {
		standard[p.ImportPath] = p.Standard
		deps[p.ImportPath] = p.Deps
		for _, imp := range p.Imports {
			importers[imp] = append(importers[imp], p.ImportPath)
		}
	}
	// by names the packages among path's own dependencies that import dep.
	by := func(path, dep string) string {
		var in []string
		for _, imp := range importers[dep] {
			if imp == path || slices.Contains(deps[path], imp) {
				in = append(in, strings.TrimPrefix(imp, module))
			}
		}
		slices.Sort(in)
		return strings.Join(in, ", ")
	}
	for _, rel := range Checked() {
		path := module + rel
		d, ok := deps[path]
		if !ok {
			t.Errorf("no package %s", rel)
			continue
		}
		allowed, restricted := Only(rel)
		for _, dep := range d {
			if slices.ContainsFunc(Forbidden(rel), func(f string) bool { return strings.HasPrefix(dep, f) }) {
				t.Errorf("%s links %s, imported by %s", rel, dep, by(path, dep))
			}
			if restricted && !standard[dep] && !stdlibOnly(dep) && !slices.ContainsFunc(allowed, func(a string) bool { return strings.HasPrefix(dep, a) }) {
				t.Errorf("%s links %s, imported by %s; it may link only the standard library and %q", rel, dep, by(path, dep), allowed)
			}
		}
	}
}
