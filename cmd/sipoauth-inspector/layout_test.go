package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sipoauth/sdk/inspect"
)

// pageSample is a sample as the program gives it to the page.
type pageSample struct {
	ID      string `json:"id"`
	Area    string `json:"area"`
	Label   string `json:"label"`
	Title   string `json:"title"`
	Kind    string `json:"kind"`
	Options struct {
		Role string `json:"role"`
		Host string `json:"host"`
		Side string `json:"side"`
	} `json:"options"`
	Expect []string `json:"expect"`
	Text   string   `json:"text"`
}

func pageSamples(t *testing.T, b *browser) []pageSample {
	t.Helper()
	js, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`sipoauth.samples`))
	if err != nil {
		t.Fatal(err)
	}
	var samples []pageSample
	if err := json.Unmarshal([]byte(js), &samples); err != nil {
		t.Fatalf("sipoauth.samples: %v", err)
	}
	return samples
}

// loadSample chooses the sample's button in its area and returns the
// result shown.
func (b *browser) loadSample(t *testing.T, s pageSample, shot string) pageResult {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.ID("tab-"+s.Area)),
		chromedp.WaitVisible(chromedp.ID("samples-"+s.Area))); err != nil {
		t.Fatalf("%s: %v", s.ID, err)
	}
	return b.run(t, shot, chromedp.Click(fmt.Sprintf(`#samples-%s button.sample[data-sample="%s"]`, s.Area, s.ID)))
}

// A first visit shows what the tool does: every area offers samples, and
// each sample, chosen, fills its area, is checked, and shows the findings
// it claims, the library's for the same input.
func TestSamples(t *testing.T) {
	b := openPage(t)
	samples := pageSamples(t, b)
	if len(samples) < 9 {
		t.Fatalf("%d samples, want at least 9", len(samples))
	}
	empty, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[document.getElementById("summary").textContent,
		[...document.querySelectorAll("#samples-cnf button.sample")].filter((e) => e.offsetWidth > 0).map((e) => e.textContent).join("|")]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(empty[0], "try a sample") || empty[1] != "good cnf.xml|broken cnf.xml" {
		t.Errorf("the empty page shows %q and the samples %q; want a hint to try the good and the broken cnf.xml", empty[0], empty[1])
	}
	areas := map[string]bool{}
	for _, s := range samples {
		areas[s.Area] = true
		t.Run(s.ID, func(t *testing.T) {
			res := b.loadSample(t, s, "sample-"+s.ID)
			text := strings.ReplaceAll(strings.ReplaceAll(s.Text, "\r\n", "\n"), "\r", "\n")
			state, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`[document.getElementById("input-%s").value,
				document.getElementById("output").dataset.sample,
				document.getElementById("sample-note").hidden ? "" : document.getElementById("sample-note").textContent,
				document.getElementById("no-findings").hidden ? "" : "no findings",
				document.getElementById("header-kind").value]`, s.Area)))
			if err != nil {
				t.Fatal(err)
			}
			if state[0] != text {
				t.Errorf("#input-%s holds %.60q…, want the sample %.60q…", s.Area, state[0], text)
			}
			if state[1] != s.ID || state[2] != "Sample: "+s.Title+"." {
				t.Errorf("output for sample %q with note %q, want %q and %q", state[1], state[2], s.ID, s.Title)
			}
			if state[4] != "" {
				t.Errorf("the header area's kind is %q after the sample, want detection", state[4])
			}
			wantKind := s.Kind
			if wantKind == "" {
				wantKind = string(inspect.KindResponse)
			}
			if res.State != "result" || res.Kind != wantKind || res.Error != "" {
				t.Fatalf("state %q, kind %q, error %q; want a %s result", res.State, res.Kind, res.Error, wantKind)
			}
			got := summaryOf(res.Rows)
			for _, w := range s.Expect {
				if !slices.Contains(got, w) {
					t.Errorf("findings %q lack the claimed %q", got, w)
				}
			}
			if len(s.Expect) == 0 && (len(got) != 0 || state[3] != "no findings") {
				t.Errorf("findings %q (%q), want none shown", got, state[3])
			}
			// The library finds the same for the same input and options.
			opts := inspect.Options{Role: s.Options.Role, Host: s.Options.Host, Side: s.Options.Side}
			var lib inspect.Result
			if s.Kind == "" {
				lib, err = inspect.Auto([]byte(text), opts)
			} else {
				lib, err = inspect.Check(inspect.Kind(s.Kind), []byte(text), opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := summaryOf(findingsOf(lib.Findings)); !slices.Equal(got, want) {
				t.Errorf("page shows %q, the library finds %q", got, want)
			}
		})
	}
	for _, area := range []string{"cnf", "cert", "token", "header", "log", "auto"} {
		if !areas[area] {
			t.Errorf("no sample in the %s area", area)
		}
	}
}

// layout is what the layout test measures in the page.
type layout struct {
	Width, Height int
	ScrollWidth   int
	// TabsWidth is the width the tabs need, TabListWidth the width of
	// their box.
	TabsWidth, TabListWidth int
	TabTops                 []int
	// TabsCut are the tabs not wholly inside the tab list's box.
	TabsCut []string
	// FileControls are the file controls one can see in the visible
	// panel, and FileLabelFor the input its label opens.
	FileControls []string
	FileLabelFor string
	// Overflow are the elements reaching past the viewport's sides, but
	// for those inside a box that scrolls sideways.
	Overflow []string
}

// measure is a function of the viewport's width.
const measure = `((W) => {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const list = document.getElementById("tabs").getBoundingClientRect();
  const panel = document.querySelector("form.panel:not([hidden])");
  const seen = (e) => {
    const r = e.getBoundingClientRect(), cs = getComputedStyle(e);
    return r.width >= 4 && r.height >= 4 && cs.visibility !== "hidden" && cs.opacity !== "0";
  };
  const scrolls = (e) => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if ((o === "auto" || o === "scroll") && p !== document.documentElement && p !== document.body) return true;
    }
    return false;
  };
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "");
  const overflow = [];
  for (const e of document.body.querySelectorAll("*")) {
    if (!e.getClientRects().length) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || (r.left >= -1 && r.right <= W + 1) || scrolls(e)) continue;
    overflow.push(name(e) + " " + Math.round(r.left) + ".." + Math.round(r.right));
  }
  const label = panel.querySelector("label.file");
  return {
    width: window.innerWidth, height: window.innerHeight,
    scrollWidth: document.documentElement.scrollWidth,
    tabTops: tabs.map((t) => t.offsetTop),
    tabsCut: tabs.filter((t) => { const r = t.getBoundingClientRect(); return r.left < list.left - 1 || r.right > list.right + 1; }).map((t) => t.id),
    fileControls: [...panel.querySelectorAll('input[type="file"], label.file')].filter(seen).map(name),
    fileLabelFor: label && label.control ? label.control.id : "",
    overflow: overflow.slice(0, 20),
    tabsWidth: document.getElementById("tabs").scrollWidth, tabListWidth: document.getElementById("tabs").clientWidth,
  };
})(%d)`

func (b *browser) measure(t *testing.T, width int64) layout {
	t.Helper()
	l, err := chromedp.Run(b.ctx, chromedp.Evaluate[layout](fmt.Sprintf(measure, width)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// screenshot saves what the viewport shows as name.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("%s: not a PNG", name)
	}
	path := filepath.Join(b.shots, "inspector-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// The page's layout on a laptop (1280×800: one row of tabs, all of them
// in view) and on a phone (390×844: nothing wider than the screen), with
// one file control in each area that opens files.
func TestLayout(t *testing.T) {
	b := openPage(t)
	samples := map[string]pageSample{}
	for _, s := range pageSamples(t, b) {
		samples[s.ID] = s
	}
	fileAreas := []string{"cnf", "cert", "log", "auto"}
	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
		tabsInView    bool
	}{
		{"laptop", 1280, 800, false, true},
		{"phone", 390, 844, true, false},
	} {
		t.Run(vp.name, func(t *testing.T) {
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
			if vp.mobile {
				opts = append(opts, chromedp.EmulateMobile)
			}
			if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...)); err != nil {
				t.Fatal(err)
			}
			check := func(when string) layout {
				t.Helper()
				l := b.measure(t, vp.width)
				if l.Width != int(vp.width) {
					// A phone's browser widens its viewport to fit a page
					// wider than the screen.
					t.Errorf("%s: viewport %d×%d, want %d×%d", when, l.Width, l.Height, vp.width, vp.height)
				}
				for i, top := range l.TabTops {
					if top != l.TabTops[0] {
						t.Errorf("%s: tab %d at offsetTop %d, the first at %d: the tabs take more than one row", when, i, top, l.TabTops[0])
					}
				}
				if vp.tabsInView && len(l.TabsCut) > 0 {
					t.Errorf("%s: tabs %q not wholly in view: they need %d px, have %d", when, l.TabsCut, l.TabsWidth, l.TabListWidth)
				}
				if l.ScrollWidth > int(vp.width) || len(l.Overflow) > 0 {
					t.Errorf("%s: the page is %d px wide on a %d px screen; past its sides: %q", when, l.ScrollWidth, vp.width, l.Overflow)
				}
				return l
			}
			for _, area := range []string{"cnf", "cert", "token", "header", "log", "auto"} {
				if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.ID("tab-"+area))); err != nil {
					t.Fatal(err)
				}
				l := check("area " + area)
				want := []string{}
				if slices.Contains(fileAreas, area) {
					want = []string{"label.file"}
					if l.FileLabelFor != "file-"+area {
						t.Errorf("area %s: the file label opens %q, want #file-%s", area, l.FileLabelFor, area)
					}
				}
				if !slices.Equal(l.FileControls, want) {
					t.Errorf("area %s: visible file controls %q, want %q", area, l.FileControls, want)
				}
			}
			if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.ID("tab-cnf"))); err != nil {
				t.Fatal(err)
			}
			b.screenshot(t, fmt.Sprintf("%s-%dx%d-empty", vp.name, vp.width, vp.height))
			for _, id := range []string{"cnf-broken", "cert-expired", "token-expired", "log-port-mismatch", "response-port-mismatch"} {
				s, ok := samples[id]
				if !ok {
					t.Fatalf("no sample %s", id)
				}
				res := b.loadSample(t, s, fmt.Sprintf("%s-%s-full", vp.name, id))
				if res.State != "result" || len(res.Rows) == 0 {
					t.Errorf("%s: state %q, %d findings", id, res.State, len(res.Rows))
				}
				check("sample " + id)
				b.screenshot(t, fmt.Sprintf("%s-%dx%d-%s", vp.name, vp.width, vp.height, id))
			}
		})
	}
}
