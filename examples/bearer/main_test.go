package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"<-- SIP/2.0 407 Proxy Authentication Required\n    CSeq: 2270 REGISTER\n    Proxy-Authenticate: Bearer realm=\"ccmsipline\"\n",
		"    Proxy-Authorization: Bearer token=\"eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.",
		"<-- SIP/2.0 200 OK\n    CSeq: 2271 REGISTER\n    Expires: 120\n    X-Registered-User: rado (cisco form)\n",
		"    WWW-Authenticate: Bearer realm=\"atlanta.example.com\", scope=\"sip\", authz_server=\"https://as.example.com/\"\n",
		"error=\"invalid_token\", error_description=\"the access token expired\"\n",
		"    Authorization: Bearer eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.",
		"<-- SIP/2.0 200 OK\n    CSeq: 2272 REGISTER\n    Expires: 120\n    X-Registered-User: rado (rfc6750 form)\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q\n%s", want, s)
		}
	}
	if n := strings.Count(s, "200 OK"); n != 2 {
		t.Errorf("%d registrations succeeded, want 2", n)
	}
}
