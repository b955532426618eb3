package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/registrar"
)

func TestLab(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	start := time.Now()
	code := run(ctx, nil, &out, &errs)
	elapsed := time.Since(start)
	text := out.String()
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, text, errs.String())
	}
	if elapsed > 10*time.Second {
		t.Errorf("the lab took %s, more than 10 s", elapsed)
	}
	passed := strings.Count(text, "✓ ")
	if failed := strings.Count(text, "✗ "); failed != 0 || passed != 28 {
		t.Errorf("%d checks passed, %d failed; want 28 and 0\n%s", passed, failed, text)
	}
	if !regexp.MustCompile(`OK: all 28 checks passed in \d`).MatchString(text) {
		t.Errorf("no OK line:\n%s", text)
	}
	// The story, in order, with the wire facts of each step.
	want := []string{
		"1. On-premises client CSFrado",
		"sipOAuthMode 1, 1 node(s)",
		"REGISTER CSeq",
		"← 407 Proxy Authentication Required",
		`Proxy-Authenticate: Bearer realm="ccmsipline"`,
		"Proxy-Authorization: Bearer token=eyJ",
		"← 200 OK",
		"REGISTER of CSFrado on the OAuth port → 200 (registered)",
		"2. Client CSFalice registers over MRA",
		"table entry expc1: expc1.lab.example, 127.0.0.1",
		"REGISTER of CSFalice on the edge port, client certificate expc1.lab.example → 200 (registered)",
		"3. The node reaches both clients",
		"lookup rado → sip:rado@127.0.0.1:",
		"no route set (registered directly)",
		`CSFrado      ← MESSAGE (1 Via: `,
		"lookup alice → sip:alice@127.0.0.1:",
		"route set <sip:",
		"@expc1;transport=tls;lr;ob>",
		`CSFalice     ← MESSAGE (2 Via: `,
		"4.1 Scenario 1",
		"← 403 Forbidden",
		`Warning: 399 CUCM1-PUB "SIP OAuth Registration port Mismatch"`,
		"Retry-After: 35",
		"[profile-without-oauth]",
		"fix: ",
		"4.2 Scenario 2",
		"diagnosis: scenario 2 [unknown-ca-at-edge-proxy]",
		"4.3 Scenario 3",
		"diagnosis: scenario 3 [unknown-ca-at-node] the node refused",
		"node         diagnosis: scenario 3 [unknown-ca-at-node]",
		"5. The clients unregister",
		"bindings left: rado 0, alice 0",
	}
	rest := text
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q after the previous line\n%s", w, text)
		}
		rest = rest[i+len(w):]
	}
	// Tokens are never printed whole.
	if m := regexp.MustCompile(`eyJ[A-Za-z0-9_-]{40,}`).FindString(text); m != "" {
		t.Errorf("a token is printed: %s…", m[:20])
	}
}

// TestLabFails: a deployment that does not behave as the story expects
// makes the lab fail and name the failed check.
func TestLabFails(t *testing.T) {
	bob := devices["CSFbob"]
	devices["CSFbob"] = registrar.Device{Name: bob.Name, Owner: bob.Owner, Lines: bob.Lines, OAuth: true}
	defer func() { devices["CSFbob"] = bob }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if code := run(ctx, nil, &out, io.Discard); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	text := out.String()
	if !strings.Contains(text, "FAILED: 1 of 27 checks failed") || !strings.Contains(text, "  - the client reports a port mismatch") {
		t.Fatalf("the failure is not reported:\n%s", text)
	}
}

func TestLabServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-serve"}, &out, io.Discard) }()
	var url string
	for url == "" {
		select {
		case code := <-done:
			t.Fatalf("exit %d before serving\n%s", code, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := regexp.MustCompile(`configuration file: +(http://127\.0\.0\.1:\d+/CSFrado\.cnf\.xml)`).FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
	}
	// The parts keep running after the story.
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(body, []byte("<sipOAuthMode>1</sipOAuthMode>")) {
		t.Fatalf("GET %s: %d\n%s", url, res.StatusCode, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after interruption\n%s", code, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lab did not stop when interrupted")
	}
	if !strings.Contains(out.String(), "stopping") {
		t.Fatalf("no stopping line:\n%s", out.String())
	}
}

func TestLabFlags(t *testing.T) {
	for _, args := range [][]string{{"-oauth-port", "70000"}, {"-timeout", "0s"}, {"extra"}, {"-nope"}} {
		var errs bytes.Buffer
		if code := run(context.Background(), args, io.Discard, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errs.Len() == 0 {
			t.Errorf("%v: no message", args)
		}
	}
}
