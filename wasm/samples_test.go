package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"slices"
	"testing"
)

// sampleSources are the test inputs each sample copies, concatenated.
var sampleSources = map[string][]string{
	"CSFrado.cnf.xml":             {"../cnfxml/testdata/CSFrado.cnf.xml"},
	"warn-port-conflict.cnf.xml":  {"../cnfxml/testdata/warn-port-conflict.cnf.xml"},
	"expired-chain.pem":           {"../certcheck/testdata/expired-2021-edge.pem", "../certcheck/testdata/root-ca-rsa2048.pem"},
	"expired-token.jwt":           {"../inspect/testdata/token.input"},
	"invalid-token-challenge.txt": {"../inspect/testdata/header.input"},
	"403-port-mismatch.sip":       {"../inspect/testdata/response.input"},
	"tls-unknown-ca.txt":          {"../inspect/testdata/tls.input"},
	"source-document.log":         {"../clientlog/testdata/source-document.log"},
}

// Every sample file is a copy of the repository's test inputs, and every
// one is offered.
func TestSampleFilesAreTestInputs(t *testing.T) {
	entries, err := fs.ReadDir(sampleFiles, "samples")
	if err != nil {
		t.Fatal(err)
	}
	offered := map[string]bool{}
	for _, s := range samples {
		offered[s.file] = true
	}
	if len(entries) != len(sampleSources) {
		t.Errorf("%d sample files, want %d", len(entries), len(sampleSources))
	}
	for _, e := range entries {
		srcs, ok := sampleSources[e.Name()]
		if !ok {
			t.Errorf("samples/%s copies no known test input", e.Name())
			continue
		}
		if !offered[e.Name()] {
			t.Errorf("samples/%s is not offered", e.Name())
		}
		var want []byte
		for _, src := range srcs {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, b...)
		}
		got, _ := sampleFiles.ReadFile("samples/" + e.Name())
		if !bytes.Equal(got, want) {
			t.Errorf("samples/%s differs from %q: copy it again", e.Name(), srcs)
		}
	}
}

// Each sample gives the findings it claims, checked as the page checks it
// (now, with its options), and every area of the page has one.
func TestSamplesFindings(t *testing.T) {
	js, err := samplesJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got []sample
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(samples) {
		t.Fatalf("%d samples in the JSON, want %d", len(got), len(samples))
	}
	areas := map[string]int{}
	ids := map[string]bool{}
	for _, s := range got {
		areas[s.Area]++
		if ids[s.ID] {
			t.Errorf("sample id %q twice", s.ID)
		}
		ids[s.ID] = true
		if s.Text == "" || s.Label == "" || s.Title == "" {
			t.Errorf("%s: text %d bytes, label %q, title %q", s.ID, len(s.Text), s.Label, s.Title)
		}
		opts, _ := json.Marshal(s.Options)
		var res struct {
			Kind     string `json:"kind"`
			Error    string `json:"error"`
			Findings []struct {
				Severity string `json:"severity"`
				Code     string `json:"code"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(check(s.Kind, s.Text, string(opts))), &res); err != nil {
			t.Fatal(err)
		}
		if res.Error != "" {
			t.Errorf("%s: %s", s.ID, res.Error)
			continue
		}
		var findings []string
		for _, f := range res.Findings {
			findings = append(findings, f.Severity+" "+f.Code)
		}
		if len(s.Expect) == 0 && len(findings) != 0 {
			t.Errorf("%s: findings %q, want none", s.ID, findings)
		}
		for _, w := range s.Expect {
			if !slices.Contains(findings, w) {
				t.Errorf("%s: findings %q lack %q", s.ID, findings, w)
			}
		}
		if s.Kind != "" && res.Kind != s.Kind || s.Kind == "" && res.Kind != "response" {
			t.Errorf("%s: checked as %q, want %q", s.ID, res.Kind, s.Kind)
		}
		// The page lets the header area's samples be detected, so that
		// its choice of kind stays "detect it" for what is pasted next.
		if got := detect(s.Text); s.Kind != "" && got != s.Kind {
			t.Errorf("%s: detected as %q, want %q", s.ID, got, s.Kind)
		}
	}
	for _, area := range []string{"cnf", "cert", "token", "header", "log", "auto"} {
		if areas[area] == 0 {
			t.Errorf("no sample for the %s area", area)
		}
	}
	if areas["cnf"] != 2 || areas["header"] != 3 {
		t.Errorf("samples by area %v, want a good and a broken cnf.xml and a header, response and TLS error", areas)
	}
}
