package web

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func matches(re, s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// The page loads its own files and the two the server adds, and nothing
// from elsewhere.
func TestPageLoadsOnlyItsOwnFiles(t *testing.T) {
	page := read(t, "index.html")
	srcs := append(matches(`<script src="([^"]*)"`, page), matches(`<link rel="stylesheet" href="([^"]*)"`, page)...)
	want := []string{WasmExecName, "app.js", "style.css"}
	if !slices.Equal(srcs, want) {
		t.Errorf("page loads %q, want %q", srcs, want)
	}
	app := read(t, "app.js")
	if got := matches(`const WASM = "([^"]*)"`, app); !slices.Equal(got, []string{WasmName}) {
		t.Errorf("app.js loads %q, want %q", got, WasmName)
	}
	if got := matches(`fetch\(([^)]*)\)`, app); !slices.Equal(got, []string{"WASM"}) {
		t.Errorf("app.js fetches %q, want only WASM", got)
	}
	forbidden := map[string][]string{
		"index.html": {`="http`, `="//`, "<iframe", "<img", "<object", "<form action", "<base"},
		"app.js":     {"http:", "https:", "XMLHttpRequest", "WebSocket", "EventSource", "sendBeacon", "import(", "innerHTML", "outerHTML", "eval(", "new Function"},
		"style.css":  {"url(", "@import"},
	}
	for name, bad := range forbidden {
		s := read(t, name)
		for _, b := range bad {
			if strings.Contains(s, b) {
				t.Errorf("%s contains %q", name, b)
			}
		}
	}
	const csp = `default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'`
	if !strings.Contains(page, `<meta http-equiv="Content-Security-Policy" content="`+csp+`">`) {
		t.Errorf("page lacks its Content-Security-Policy %q", csp)
	}
}

// Labels, tabs and the script refer to elements that exist, and ids are
// unique.
func TestPageStructure(t *testing.T) {
	page := read(t, "index.html")
	ids := matches(` id="([^"]+)"`, page)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("id %q is used twice", id)
		}
		seen[id] = true
	}
	for _, ref := range matches(` for="([^"]+)"`, page) {
		if !seen[ref] {
			t.Errorf("label for %q: no such element", ref)
		}
	}
	for _, ref := range matches(`aria-(?:controls|labelledby|describedby)="([^"]+)"`, page) {
		if !seen[ref] {
			t.Errorf("aria reference %q: no such element", ref)
		}
	}
	for _, ref := range matches(`data-for="([^"]+)"`, page) {
		if !seen[ref] {
			t.Errorf("file input for %q: no such element", ref)
		}
	}
	for _, ref := range matches(`\$\("([^"]+)"\)`, read(t, "app.js")) {
		if !seen[ref] {
			t.Errorf("app.js uses #%s: not in index.html", ref)
		}
	}
	// One textarea and one Check button per input area, each labelled.
	kinds := matches(`<form class="panel" role="tabpanel" id="panel-[a-z]+" aria-labelledby="tab-[a-z]+" data-kind="([a-z]*)"`, page)
	if want := []string{"cnf", "cert", "token", "header", "log", ""}; !slices.Equal(kinds, want) {
		t.Errorf("input areas for kinds %q, want %q", kinds, want)
	}
	for _, area := range []string{"cnf", "cert", "token", "header", "log", "auto"} {
		for _, id := range []string{"input-" + area, "check-" + area, "tab-" + area, "panel-" + area} {
			if !seen[id] {
				t.Errorf("no element #%s", id)
			}
		}
		if !strings.Contains(page, `<label for="input-`+area+`">`) {
			t.Errorf("textarea #input-%s has no label", area)
		}
	}
}

// Each file control is one: the browser's input, hidden, with a label
// styled as the button that opens it; and every area has a row for its
// samples.
func TestFileControlsAndSamples(t *testing.T) {
	page := read(t, "index.html")
	inputs := matches(`<input type="file" id="(file-[a-z]+)" class="file-input"`, page)
	labels := matches(`<label for="(file-[a-z]+)" class="file">Open file…</label>`, page)
	if want := []string{"file-cnf", "file-cert", "file-log", "file-auto"}; !slices.Equal(inputs, want) || !slices.Equal(labels, want) {
		t.Errorf("file inputs %q and their labels %q, want %q", inputs, labels, want)
	}
	if n := strings.Count(page, `type="file"`); n != len(inputs) {
		t.Errorf("%d file inputs, %d of them with a label", n, len(inputs))
	}
	if regexp.MustCompile(`<label[^>]*>[^<]*<input type="file"`).MatchString(page) {
		t.Error("a file input inside its label: the browser's control shows beside the label")
	}
	rows := matches(`<p class="samples" id="samples-([a-z]+)" data-area="[a-z]+" hidden>`, page)
	if want := []string{"cnf", "cert", "token", "header", "log", "auto"}; !slices.Equal(rows, want) {
		t.Errorf("sample rows %q, want %q", rows, want)
	}
	css := read(t, "style.css")
	for _, rule := range []string{".file-input {", "flex-wrap: nowrap;", "@media (max-width: 600px)"} {
		if !strings.Contains(css, rule) {
			t.Errorf("style.css lacks %q", rule)
		}
	}
}
