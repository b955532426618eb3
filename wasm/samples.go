package main

import (
	"embed"
	"encoding/json"
	"fmt"
)

// The samples are copies of the repository's test inputs (the tests
// compare them with their originals), so that a first visit to the page
// shows what the checks find.
//
//go:embed samples
var sampleFiles embed.FS

// sample is one input the page offers to try.
type sample struct {
	ID string `json:"id"`
	// Area is the page's input area that offers it: cnf, cert, token,
	// header, log or auto.
	Area string `json:"area"`
	// Label is the text of the sample's button; Title says what it is.
	Label string `json:"label"`
	Title string `json:"title"`
	// Kind is the sample's kind, the one it is detected as; "" for a
	// sample of the area that detects the kind. The page checks the
	// header area's samples as detected, so that its choice of kind
	// stays "detect it" for what is pasted next.
	Kind string `json:"kind"`
	// Options are the page's options the sample is checked with.
	Options pageOptions `json:"options"`
	// Expect are the findings, as "severity code", the check gives for
	// the sample, among others; none means no findings at all.
	Expect []string `json:"expect"`
	Text   string   `json:"text"`
	file   string
}

// samples are the page's samples, in the order it offers them.
var samples = []sample{
	{ID: "cnf-good", Area: "cnf", Label: "good cnf.xml", file: "CSFrado.cnf.xml", Kind: "cnf",
		Title: "Jabber's configuration file with SIP OAuth enabled and every port in place"},
	{ID: "cnf-broken", Area: "cnf", Label: "broken cnf.xml", file: "warn-port-conflict.cnf.xml", Kind: "cnf",
		Title:  "A configuration file with the OAuth port on the secure SIP port and the MRA OAuth port out of range",
		Expect: []string{"error port-conflict", "error oauth-port-range"}},
	{ID: "cert-expired", Area: "cert", Label: "expired chain", file: "expired-chain.pem", Kind: "cert",
		Options: pageOptions{Role: "node"},
		Title:   "A node certificate that expired in 2021 and lacks serverAuth, with its root",
		Expect:  []string{"error cert-expired", "error missing-server-auth-eku"}},
	{ID: "token-expired", Area: "token", Label: "expired token", file: "expired-token.jwt", Kind: "token",
		Title:  "An access token of a lab issuer (cucm-pub.example.com) that expired in 2020",
		Expect: []string{"error token-expired"}},
	{ID: "header-invalid-token", Area: "header", Label: "Bearer header", file: "invalid-token-challenge.txt", Kind: "header",
		Title:  "The registrar's challenge after an expired token",
		Expect: []string{"error header-invalid-token"}},
	{ID: "response-port-mismatch", Area: "header", Label: "SIP 403 port mismatch", file: "403-port-mismatch.sip", Kind: "response",
		Title:  `The node's 403 "SIP OAuth Registration port Mismatch" (troubleshooting scenario 1)`,
		Expect: []string{"error port-mismatch", "info wrong-connection-kind"}},
	{ID: "tls-unknown-ca", Area: "header", Label: "TLS error", file: "tls-unknown-ca.txt", Kind: "tls",
		Options: pageOptions{Side: "edge"},
		Title:   "The edge proxy's TLS error when the node's certificate is signed by a CA it does not trust (troubleshooting scenario 3)",
		Expect:  []string{"error unknown-ca-at-node"}},
	{ID: "log-port-mismatch", Area: "log", Label: "Jabber log", file: "source-document.log", Kind: "log",
		Title:  "A Jabber log extract: a registration, then the node's 403 port mismatch",
		Expect: []string{"info log-registered", "error log-port-mismatch"}},
	{ID: "auto-port-mismatch", Area: "auto", Label: "SIP 403 port mismatch", file: "403-port-mismatch.sip", Kind: "",
		Title:  `The node's 403 "SIP OAuth Registration port Mismatch", its kind detected`,
		Expect: []string{"error port-mismatch", "info wrong-connection-kind"}},
}

// samplesJSON returns the samples with their texts as JSON, for the page.
func samplesJSON() (string, error) {
	out := make([]sample, len(samples))
	for i, s := range samples {
		b, err := sampleFiles.ReadFile("samples/" + s.file)
		if err != nil {
			return "", fmt.Errorf("wasm: sample %s: %w", s.ID, err)
		}
		s.Text = string(b)
		if s.Expect == nil {
			s.Expect = []string{}
		}
		out[i] = s
	}
	b, err := json.Marshal(out)
	return string(b), err
}
