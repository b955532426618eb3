package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/integration"

	"github.com/chromedp/chromedp"
)

// chromium is the browser the tests drive.
const chromium = "/usr/bin/chromium"

// browser is the inspector page loaded in a headless Chromium.
type browser struct {
	ctx   context.Context
	seq   int    // results shown so far
	shots string // where screenshots go
}

// pageResult is what the page shows after a check, read from the DOM.
type pageResult struct {
	Seq   string `json:"seq"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	Error string `json:"error"`
	// Last is window.sipoauthLast: the result JSON as sipoauth.check
	// returned it.
	Last    string    `json:"last"`
	Summary string    `json:"summary"`
	Rows    []finding `json:"rows"`
	// Badges are the severity cells' text and background colour.
	Badges []struct {
		Text       string `json:"text"`
		Background string `json:"background"`
	} `json:"badges"`
	Targets []struct {
		Deployment string   `json:"deployment"`
		Host       string   `json:"host"`
		Port       string   `json:"port"`
		Transport  string   `json:"transport"`
		OAuth      string   `json:"oauth"`
		Cells      []string `json:"cells"`
	} `json:"targets"`
	Certs []struct {
		Validity string `json:"validity"`
		Subject  string `json:"subject"`
		NotAfter string `json:"notAfter"`
	} `json:"certs"`
	Token map[string]string `json:"token"`
	// Fields are the decoded header, response and TLS views' fields.
	Fields map[string]string `json:"fields"`
	Events []struct {
		Kind   string `json:"kind"`
		Line   string `json:"line"`
		Status string `json:"status"`
		Text   string `json:"text"`
	} `json:"events"`
}

// readPage collects pageResult in the page.
const readPage = `(() => {
  const text = (el, sel) => { const e = el.querySelector(sel); return e ? e.textContent : ""; };
  const out = document.getElementById("output");
  const err = document.getElementById("error");
  return {
    seq: out.dataset.seq, kind: out.dataset.kind, state: out.dataset.state,
    error: err.hidden ? "" : err.textContent,
    last: window.sipoauthLast || "",
    summary: document.getElementById("summary").textContent,
    rows: [...document.querySelectorAll("#findings tbody tr.finding")].map((tr) => ({
      code: tr.dataset.code, severity: tr.dataset.severity,
      path: text(tr, "td.path"), message: text(tr, "td.message"), fix: text(tr, "td.fix"),
    })),
    badges: [...document.querySelectorAll("#findings tbody td.severity .badge")].map((b) => ({
      text: b.textContent, background: getComputedStyle(b).backgroundColor,
    })),
    targets: [...document.querySelectorAll("#view-cnf tr.target")].map((tr) => ({
      deployment: tr.dataset.deployment, host: tr.dataset.host, port: tr.dataset.port,
      transport: tr.dataset.transport, oauth: tr.dataset.oauth,
      cells: [...tr.cells].map((c) => c.textContent),
    })),
    certs: [...document.querySelectorAll("#view-certs article.cert")].map((a) => ({
      validity: a.dataset.validity, subject: text(a, 'dd[data-field="subject"]'), notAfter: text(a, 'dd[data-field="notAfter"]'),
    })),
    token: Object.fromEntries([...document.querySelectorAll("#view-token dd[data-field]")].map((d) => [d.dataset.field, d.textContent])),
    fields: Object.fromEntries([...document.querySelectorAll("#view-header dd[data-field], #view-response dd[data-field], #view-tls dd[data-field], #view-response tr.param")].map((d) =>
      d.tagName === "TR" ? ["header " + d.dataset.name, d.cells[1].textContent] : [d.dataset.field, d.textContent])),
    events: [...document.querySelectorAll("#timeline li.event")].map((li) => ({
      kind: li.dataset.kind, line: li.dataset.line, status: li.dataset.status || "", text: text(li, ".text"),
    })),
  };
})()`

// openPage serves the inspector, loads it in Chromium and waits until the
// checks are ready. Without Chromium the test is skipped, unless
// SIPOAUTH_INTEGRATION=1 asks that it run.
func openPage(t *testing.T) *browser {
	t.Helper()
	needChromium(t)
	srv := httptest.NewServer(builtHandler(t))
	t.Cleanup(srv.Close)
	return openURL(t, srv.URL+"/")
}

// needChromium skips t without Chromium, unless SIPOAUTH_INTEGRATION=1
// asks that it run.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		integration.Missing(t, "%s not installed: the page is not tested in a browser (apt-get install chromium)", chromium)
	}
}

// openURL loads the page at url in Chromium and waits until the checks
// are ready.
func openURL(t *testing.T, url string) *browser {
	t.Helper()
	needChromium(t)
	// The whole browser session is bounded: the allocator's context ends
	// the browser.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.Flag("headless", true),
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1366, 900),
		chromedp.Env("TZ=UTC"), // the page's "Check at" field is in local time
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)

	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("loading %s: %v", url, err)
	}
	state, err := chromedp.Run(bctx, chromedp.Poll[string](
		`document.body.dataset.ready === "true" ? "ready" : document.getElementById("status").dataset.state === "error" ? "error" : ""`,
		chromedp.WithPollingTimeout(90*time.Second)))
	if err != nil {
		t.Fatalf("waiting for the checks to load: %v", err)
	}
	status, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("status")))
	if state != "ready" {
		t.Fatalf("the page did not load its checks: %s", status)
	}
	t.Logf("page loaded from %s: %s", url, status)

	shots := os.Getenv("SIPOAUTH_ARTIFACTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{ctx: bctx, shots: shots}
}

// setValue sets the value of the element with the id, as typing would,
// and returns the value the element then has.
func setValue(id, value string) chromedp.Action[string] {
	idJSON, _ := json.Marshal(id)
	valueJSON, _ := json.Marshal(value)
	return chromedp.Evaluate[string](fmt.Sprintf(`(() => {
  const e = document.getElementById(%s);
  e.value = %s;
  e.dispatchEvent(new Event("input", { bubbles: true }));
  return e.value;
})()`, idJSON, valueJSON))
}

// check pastes f's input into its area, with its options, at checkTime,
// chooses Check, and returns what the page then shows.
func (b *browser) check(t *testing.T, f fixture) pageResult {
	t.Helper()
	if err := chromedp.Do(b.ctx,
		chromedp.Click(chromedp.ID("tab-"+f.area)),
		chromedp.WaitVisible(chromedp.ID("input-"+f.area)),
	); err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	values := [][2]string{
		{"check-time", checkTime.Format("2006-01-02T15:04:05")},
		{"input-" + f.area, string(f.asPasted().input)},
	}
	switch f.area {
	case "cert":
		values = append(values, [2]string{"cert-host", f.host})
	case "header":
		side := f.side
		if side == "" {
			side = "edge"
		}
		values = append(values, [2]string{"header-kind", f.headerKind}, [2]string{"tls-side", side})
	}
	for _, v := range values {
		got, err := chromedp.Run(b.ctx, setValue(v[0], v[1]))
		if err != nil {
			t.Fatalf("%s: setting #%s: %v", f.name, v[0], err)
		}
		if v[0] == "check-time" && strings.HasSuffix(v[1], ":00") {
			v[1] = strings.TrimSuffix(v[1], ":00") // the field drops zero seconds
		}
		if got != v[1] {
			t.Fatalf("%s: #%s holds %.80q, want %.80q", f.name, v[0], got, v[1])
		}
	}
	var steps []chromedp.Action[chromedp.Void]
	if f.area == "cert" {
		role := f.role
		if role == "" {
			role = "node"
		}
		steps = append(steps, chromedp.Click(chromedp.ID("role-"+role)))
	}
	steps = append(steps, chromedp.Click(chromedp.ID("check-"+f.area)))
	return b.run(t, f.name, steps...)
}

// run runs steps that end in a check and returns the result shown, after
// saving a screenshot named name.
func (b *browser) run(t *testing.T, name string, steps ...chromedp.Action[chromedp.Void]) pageResult {
	t.Helper()
	b.seq++
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](
		fmt.Sprintf(`document.getElementById("output").dataset.seq === "%d"`, b.seq),
		chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("%s: waiting for result %d: %v", name, b.seq, err)
	}
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[pageResult](readPage))
	if err != nil {
		t.Fatalf("%s: reading the page: %v", name, err)
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	path := filepath.Join(b.shots, "inspector-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: screenshot %s", name, path)
	return res
}
