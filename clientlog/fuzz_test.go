package clientlog_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/clientlog"
)

// secret is the token the fuzz test plants in the log; it must never
// reach the report.
const secret = "Zq8sEcReTtOkEn5fW2xK9pLmN3vB7cX1"

// plantedRegister returns a REGISTER carrying secret, in one of three
// forms (Cisco's header one per line, Cisco's flattened as in the source
// document, RFC 8898's), with its credentials line broken at split as a
// wrapped log breaks lines.
func plantedRegister(form, split int) string {
	cred := `Proxy-Authorization: Bearer token="` + secret + `"`
	if form == 2 {
		cred = "Authorization: Bearer " + secret
	}
	if split > 0 && split < len(cred) {
		cred = cred[:split] + "\n" + cred[split:]
	}
	sep := "\n"
	if form == 1 {
		sep = " "
	}
	return "2024-05-06 09:15:02,961 DEBUG [0x00000e2c] [\\sipcc\\core\\sipstack\\ccsip_debug.c(1041)] [csf.sip-call-control] [platform_print_sip_msg] - " +
		"sipio-sent---> REGISTER sip:10.10.10.1 SIP/2.0" + sep + "Call-ID: planted@10.10.10.20" + sep + "CSeq: 7 REGISTER" + sep +
		cred + sep + "Expires: 3600" + sep + "Content-Length: 0\n"
}

// FuzzAnalyze checks that Analyze never fails on a reader that does not
// fail, never panics, counts lines and bytes exactly, writes only valid
// UTF-8, and that a token planted anywhere in the log, in any form, never
// reaches the JSON of the report.
func FuzzAnalyze(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(7), uint8(0))
	}
	for _, s := range []string{
		"",
		"\n\n\r\n",
		"SIP/2.0 403 Forbidden Warning: 399 X \"SIP OAuth Registration port Mismatch\" CSeq: 1 REGISTER",
		"13:03:19,013 INFO\u00a0 [0x1] - ccm0=a ccm9=b sip_oauth_port_9=99999 sip_mra_oauth_port_0=0 create TLS connection -----[::1]:5090.",
		"2024-05-06 09:15:02,901 DEBUG [x] - sipio-sent---> REGISTER sip:x SIP/2.0\nProxy-Authorization: Bearer token=\"abc",
		"2024-05-06 09:15:02,901 DEBUG [x] - sipio-recv<--- SIP/2.0 401 U\nWWW-Authenticate: Bearer error=\"invalid_token\"\nCSeq: 1 REGISTER",
		"x 2024-05-06 09:15:02,901 ERROR [ - tlsv1 alert bad certificate eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
	} {
		f.Add([]byte(s), uint16(1), uint8(4))
	}
	f.Fuzz(func(t *testing.T, in []byte, at uint16, how uint8) {
		opts := clientlog.Options{MaxMessageSize: 2048, MaxEvents: 32}
		rep, err := clientlog.Analyze(bytes.NewReader(in), opts)
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep, in)
		if len(rep.Timeline) > opts.MaxEvents {
			t.Fatalf("%d events, more than MaxEvents", len(rep.Timeline))
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatal(err)
		}

		// Plant the token at the start of a line the fuzzer picks.
		for i := 0; i+8 <= len(secret); i++ {
			if bytes.Contains(in, []byte(secret[i:i+8])) {
				t.Skip("the input holds part of the planted token")
			}
		}
		lines := bytes.SplitAfter(in, []byte("\n"))
		k := int(at) % (len(lines) + 1)
		var planted []byte
		for _, l := range lines[:k] {
			planted = append(planted, l...)
		}
		if len(planted) > 0 && planted[len(planted)-1] != '\n' {
			planted = append(planted, '\n')
		}
		planted = append(planted, plantedRegister(int(how)%3, int(how)/3)...)
		for _, l := range lines[k:] {
			planted = append(planted, l...)
		}
		rep, err = clientlog.Analyze(bytes.NewReader(planted), opts)
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep, planted)
		j, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+8 <= len(secret); i++ {
			if bytes.Contains(j, []byte(secret[i:i+8])) {
				t.Fatalf("the report holds %q of the token:\n%s", secret[i:i+8], j)
			}
		}
		// Unbroken, the credentials are recognized as such. (Broken at an
		// arbitrary byte, "P" + "roxy-Authorization:" reads as another
		// header: only the masking is certain.)
		if how/3 == 0 && strings.Contains(string(j), "planted@") && !bytes.Contains(j, []byte(`"token":true`)) {
			t.Fatalf("the planted REGISTER is in the timeline without Token:\n%s", j)
		}
	})
}
