package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sipoauth/sdk/inspect"
)

// The library gives the findings each fixture is known for.
func TestLibraryFindings(t *testing.T) {
	for _, f := range fixtures(t) {
		res, _, err := libraryResult(t, f)
		if f.wantErr != "" {
			if err == nil || err.Error() != f.wantErr {
				t.Errorf("%s: error %v, want %s", f.name, err, f.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if got := summaryOf(findingsOf(res.Findings)); !slices.Equal(got, f.want) {
			t.Errorf("%s: findings %q, want %q", f.name, got, f.want)
		}
		// The page holds pasted text with LF line ends: the findings are
		// the same.
		if pasted, _, err := libraryResult(t, f.asPasted()); err != nil || !slices.Equal(findingsOf(pasted.Findings), findingsOf(res.Findings)) {
			t.Errorf("%s: with LF line ends: %v, %+v; want %+v", f.name, err, findingsOf(pasted.Findings), findingsOf(res.Findings))
		}
	}
}

// The CLI's --json output has the library's findings, field for field.
func TestCLIMatchesLibrary(t *testing.T) {
	cliPath(t)
	for _, f := range fixtures(t) {
		if f.cli != nil {
			compareCLI(t, f)
		}
	}
}

// compareCLI runs the CLI on f and compares its findings with the
// library's. The CLI checks at its own time, and messages name the time
// (a certificate "expired at …; it is now …"): the library's result at
// one of the seconds the CLI ran in must be the CLI's.
func compareCLI(t *testing.T, f fixture) {
	t.Helper()
	got, ran, err := cliResult(t, f)
	_, _, libErr := libraryResult(t, f)
	if libErr != nil {
		if err == nil || !strings.Contains(err.Error(), libErr.Error()) {
			t.Errorf("%s: the CLI says %v; the library's error is %v", f.name, err, libErr)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: the CLI failed: %v", f.name, err)
		return
	}
	var lib inspect.Result
	for _, now := range ran {
		if lib, _, err = libraryResultAt(t, f, now); err != nil {
			t.Fatalf("%s: library at %s: %v", f.name, now, err)
		}
		if slices.Equal(findingsOf(got.Findings), findingsOf(lib.Findings)) {
			break
		}
	}
	if got.Kind != lib.Kind {
		t.Errorf("%s: the CLI's kind %q, the library's %q", f.name, got.Kind, lib.Kind)
	}
	if g, w := findingsOf(got.Findings), findingsOf(lib.Findings); !slices.Equal(g, w) {
		t.Errorf("%s: the CLI's findings differ from the library's:\nCLI:     %+v\nlibrary: %+v", f.name, g, w)
	}
	if g, w := summaryOf(findingsOf(got.Findings)), f.want; !slices.Equal(g, w) {
		t.Errorf("%s: the CLI's findings %q, want %q", f.name, g, w)
	}
}

// severityBackground is the colour of each severity's badge (style.css).
var severityBackground = map[string]string{
	"error":   "rgb(253, 232, 232)",
	"warning": "rgb(255, 243, 205)",
	"info":    "rgb(227, 240, 251)",
}

// The page, driven in Chromium, shows for each fixture the library's
// result (window.sipoauthLast is the library's JSON, byte for byte), its
// findings in the table and the decoded view; the CLI gives the same
// findings.
func TestPage(t *testing.T) {
	b := openPage(t)

	// Keyboard: arrows, Home and End move between the input areas.
	if err := chromedp.Do(b.ctx, chromedp.Focus(chromedp.ID("tab-cnf"))); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ key, want string }{
		{kb.ArrowRight, "tab-cert"}, {kb.ArrowRight, "tab-token"}, {kb.End, "tab-auto"},
		{kb.ArrowRight, "tab-cnf"}, {kb.ArrowLeft, "tab-auto"}, {kb.Home, "tab-cnf"},
	} {
		if err := chromedp.Do(b.ctx, chromedp.KeyEvent(step.key)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[document.activeElement.id,
			document.querySelector('[role="tab"][aria-selected="true"]').id,
			[...document.querySelectorAll('form.panel:not([hidden])')].map((p) => p.id).join(" ")]`))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{step.want, step.want, "panel-" + strings.TrimPrefix(step.want, "tab-")}
		if !slices.Equal(got, want) {
			t.Errorf("after %U: focus, selected tab, visible panel = %q, want %q", []rune(step.key)[0], got, want)
		}
	}

	// An empty input is an error the page shows, not a result.
	res := b.run(t, "empty", chromedp.Click(chromedp.ID("check-cnf")))
	if res.State != "error" || res.Error != inspect.ErrEmpty.Error() || len(res.Rows) != 0 {
		t.Errorf("empty input: state %q, error %q, %d rows; want error %q", res.State, res.Error, len(res.Rows), inspect.ErrEmpty)
	}

	// The JavaScript API answers odd calls with an error and goes on
	// working.
	tlsRes, err := inspect.Check(inspect.KindTLS, []byte("remote error: tls: unknown certificate authority"), inspect.Options{Side: "edge"})
	if err != nil {
		t.Fatal(err)
	}
	tlsJSON, _ := json.Marshal(tlsRes)
	for _, call := range []struct{ expr, want string }{
		{`sipoauth.check(5, "x", "")`, `{"error":"wasm: argument 1 is a number, not a string"}`},
		{`sipoauth.check("cnf", "<device/>", {role: "proxy"})`, `{"error":"wasm: bad options: role \"proxy\" is neither node nor edge"}`},
		{`sipoauth.check("pem", "x")`, `{"error":"wasm: unknown kind \"pem\""}`},
		{`sipoauth.check()`, `{"error":"inspect: empty input"}`},
		{`sipoauth.check("tls", "remote error: tls: unknown certificate authority", {side: "edge"})`, string(tlsJSON)},
		{`sipoauth.detect("SIP/2.0 403 Forbidden\r\nCSeq: 1 REGISTER\r\n")`, "response"},
		{`sipoauth.detect({})`, ""},
		{`typeof sipoauth.version`, "string"},
	} {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](call.expr))
		if err != nil || got != call.want {
			t.Errorf("%s = %q, %v; want %q", call.expr, got, err, call.want)
		}
	}

	_, cliErr := buildCLI()
	if cliErr != nil {
		t.Logf("the sipoauth command does not build yet, so it is not compared: %v", cliErr)
	}

	for _, f := range fixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			lib, libJSON, libErr := libraryResult(t, f.asPasted())
			res := b.check(t, f)
			if libErr != nil {
				if res.State != "error" || res.Error != libErr.Error() {
					t.Errorf("state %q, error %q; want the library's error %q", res.State, res.Error, libErr)
				}
				return
			}
			if res.State != "result" || res.Kind != string(f.kind) || res.Error != "" {
				t.Fatalf("state %q, kind %q, error %q; want a result of kind %s", res.State, res.Kind, res.Error, f.kind)
			}
			if res.Last != string(libJSON) {
				t.Errorf("window.sipoauthLast differs from the library's JSON:\npage:    %s\nlibrary: %s", res.Last, libJSON)
			}
			var decoded inspect.Result
			if err := json.Unmarshal([]byte(res.Last), &decoded); err != nil {
				t.Fatalf("window.sipoauthLast: %v", err)
			}
			want := findingsOf(lib.Findings)
			if got := findingsOf(decoded.Findings); !slices.Equal(got, want) {
				t.Errorf("result findings differ from the library's:\npage:    %+v\nlibrary: %+v", got, want)
			}
			if !slices.Equal(res.Rows, want) {
				t.Errorf("table rows differ from the library's findings:\npage:    %+v\nlibrary: %+v", res.Rows, want)
			}
			if got := summaryOf(res.Rows); !slices.Equal(got, f.want) {
				t.Errorf("rows %q, want %q", got, f.want)
			}
			if len(res.Badges) != len(res.Rows) {
				t.Errorf("%d severity badges for %d rows", len(res.Badges), len(res.Rows))
			}
			for i, badge := range res.Badges {
				if i < len(res.Rows) && (badge.Text != res.Rows[i].Severity || badge.Background != severityBackground[badge.Text]) {
					t.Errorf("row %d: badge %q on %s, want %q on %s", i, badge.Text, badge.Background, res.Rows[i].Severity, severityBackground[res.Rows[i].Severity])
				}
			}
			checkDecoded(t, f, res)

			if cliErr == nil && f.cli != nil {
				compareCLI(t, f)
			}
		})
	}
}

// checkDecoded checks the decoded view the page shows for f.
func checkDecoded(t *testing.T, f fixture, res pageResult) {
	t.Helper()
	switch f.name {
	case "cnf-bad-port":
		// One bad port is a finding; the rest of the file is read.
		if len(res.Targets) != 2 {
			t.Errorf("a file with one bad port shows %d targets, want 2 (on premises and MRA)", len(res.Targets))
		}
	case "cnf-good":
		var got []string
		for _, r := range res.Targets {
			got = append(got, strings.Join(append([]string{r.Deployment, r.Host, r.Port, r.Transport, r.OAuth, "|"}, r.Cells...), " "))
		}
		want := []string{
			"on-premises 10.10.10.1 5090 TLS true | 0 10.10.10.1 5090 TLS bearer token ccm12pub",
			"on-premises 10.10.10.2 5090 TLS true | 1 10.10.10.2 5090 TLS bearer token ccm12sub",
			"mra 10.10.10.1 5091 TLS true | 0 10.10.10.1 5091 TLS bearer token ccm12pub",
			"mra 10.10.10.2 5091 TLS true | 1 10.10.10.2 5091 TLS bearer token ccm12sub",
		}
		if !slices.Equal(got, want) {
			t.Errorf("targets table:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if res.Summary != "configuration file: 0 errors, 0 warnings, 0 notes." {
			t.Errorf("summary %q", res.Summary)
		}
	case "cert-expired":
		var got []string
		for _, c := range res.Certs {
			got = append(got, c.Validity+" "+c.Subject)
		}
		want := []string{"expired CN=cucm-pub.example.com", "valid CN=Inspector Issuing,O=sipoauth test"}
		if !slices.Equal(got, want) {
			t.Errorf("certificates %q, want %q", got, want)
		}
		if want := checkTime.Add(-24*time.Hour).Format("2006-01-02 15:04:05") + " UTC"; len(res.Certs) > 0 && res.Certs[0].NotAfter != want {
			t.Errorf("leaf valid until %q, want %q", res.Certs[0].NotAfter, want)
		}
	case "token-refresh":
		for field, want := range map[string]string{
			"shape": "jws", "use": "refresh", "subject": "rado", "expired": "no",
			"issuer":   "https://cucm-pub.example.com:8443/ssosp/oauth",
			"issuedAt": checkTime.Format("2006-01-02 15:04:05") + " UTC", "expiresIn": "1440h0m0s",
		} {
			if got := res.Token[field]; got != want {
				t.Errorf("token %s %q, want %q", field, got, want)
			}
		}
	case "header-challenge":
		want := map[string]string{"name": "Proxy-Authenticate", "type": "challenge", "realm": "ccmsipline"}
		if !maps.Equal(res.Fields, want) {
			t.Errorf("header view %q, want %q", res.Fields, want)
		}
	case "response-port-mismatch":
		want := map[string]string{
			"status": "403 Forbidden", "scenario": "1",
			"header CSeq": "363 REGISTER", "header Call-ID": "00505686-7e660005-0000216b-0000366f@10.5.10.121",
			"header Retry-After": "35", "header Server": "Cisco-CUCM12.5",
			"header Warning": `399 UCM2-PUB "SIP OAuth Registration port Mismatch"`,
		}
		for k, v := range want {
			if res.Fields[k] != v {
				t.Errorf("response view %s = %q, want %q", k, res.Fields[k], v)
			}
		}
	case "tls-unknown-ca":
		want := map[string]string{"side": "the edge proxy (connecting to the node)", "alert": "48 unknown_ca", "remote": "the peer", "scenario": "3"}
		if !maps.Equal(res.Fields, want) {
			t.Errorf("TLS view %q, want %q", res.Fields, want)
		}
	case "log-source-document":
		var got []string
		for _, e := range res.Events {
			got = append(got, strings.TrimSpace(e.Line+" "+e.Kind+" "+e.Status))
		}
		want := []string{
			"3 config-fetched", "39 oauth-mode", "42 nodes", "48 connection",
			"50 sent", "65 received 407", "75 sent", "98 received 200", "137 received 403",
		}
		if !slices.Equal(got, want) {
			t.Errorf("timeline %q, want %q", got, want)
		}
		if len(res.Events) == len(want) {
			if got := res.Events[7].Text; got != "200 OK (CSeq 2271)" {
				t.Errorf("timeline entry 8: %q", got)
			}
		}
	}
}
