package inspect

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// seeds are the golden inputs, the source document's flattened 403 and a
// few broken inputs of each kind.
func seeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, k := range Kinds() {
		b, err := os.ReadFile("testdata/" + string(k) + ".input")
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	b, err := os.ReadFile("testdata/response-source-flattened.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"<device><sipOAuthMode>x</sipOAuthMode></device>",
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
		"eyJhbGciOiJub25lIn0.eyJleHAiOiJ4In0.",
		"eyJ9.e30.e30.e30.e30",
		`Bearer token="a\`,
		`Proxy-Authenticate: Bearer realm="ccmsipline", error="invalid_token"`,
		"SIP/2.0 401 Unauthorized\r\n WWW-Authenticate: Bearer\r\n\r\n",
		"SIP/2.0 503 Service Unavailable\nWarning: 399 expc1 \"remote error: tls: bad certificate\"\n",
		"SIP/2.0 200 OK Via: \"x To: y\" To: z",
		"remote error: tls: alert(48)",
		"13:03:19,013 INFO sipio-recv<--- SIP/2.0 403 Forbidden",
	} {
		out = append(out, []byte(s))
	}
	return append(out, b)
}

var fuzzNow = time.Date(2020, 3, 30, 11, 13, 19, 0, time.UTC)

// FuzzAuto: whatever the input, Detect and Auto do not panic, agree on
// the kind, and the result marshals to JSON.
func FuzzAuto(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		k, derr := Detect(in)
		r, err := Auto(in, Options{Now: fuzzNow})
		if (derr == nil) != (err == nil && r.Kind == k) {
			t.Fatalf("Detect %q, %v; Auto %q, %v", k, derr, r.Kind, err)
		}
		if err != nil {
			return
		}
		if r.Findings == nil {
			t.Fatal("nil findings")
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzCheck: every kind of check takes any input without panicking, and
// its result marshals to JSON.
func FuzzCheck(f *testing.F) {
	for i, s := range seeds(f) {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, kind uint8, in []byte) {
		k := Kinds()[int(kind)%len(Kinds())]
		r, err := Check(k, in, Options{Now: fuzzNow, Side: "node", Role: "edge", Host: "cucm-pub.example.com"})
		if err != nil {
			return
		}
		if r.Kind != k || r.Findings == nil {
			t.Fatalf("kind %q, findings %v", r.Kind, r.Findings)
		}
		if _, err := r.JSON(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseResponse: the response parser does not panic, keeps within
// its bounds, and reads its own output back to the same response.
func FuzzParseResponse(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		resp, err := parseResponse(in)
		if err != nil {
			return
		}
		if resp.Status < 100 || resp.Status > 999 || len(resp.Headers) > maxResponseHeaders {
			t.Fatalf("status %d, %d headers", resp.Status, len(resp.Headers))
		}
		var b strings.Builder
		fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", resp.Status, resp.Reason)
		for _, h := range resp.Headers {
			fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
		}
		b.WriteString("\r\n")
		again, err := parseResponse([]byte(b.String()))
		if err != nil {
			t.Fatalf("%q: %v", b.String(), err)
		}
		if fmt.Sprint(again) != fmt.Sprint(resp) {
			t.Fatalf("read back\n%+v\nwant\n%+v", again, resp)
		}
	})
}
