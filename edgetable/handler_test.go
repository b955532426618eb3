package edgetable

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/internal/testca"
)

const expc1JSON = `{"hostNameOrIp":"expc1.example.com","description":"Expressway-C 1","names":["expc1.example.com","*.mra.example.com","192.0.2.10"]}`

var testUsers = map[string]string{"expc": "s3cret-refresh", "admin": "another password"}

// response is what a test checks of an answer.
type response struct {
	status int
	header http.Header
	body   string
}

type client struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	t.Helper()
	if !strings.HasPrefix(srv.Listener.Addr().String(), "127.0.0.1:") {
		t.Fatalf("test server listens on %s, want loopback", srv.Listener.Addr())
	}
	c := srv.Client()
	c.Timeout = 5 * time.Second
	return &client{t: t, base: srv.URL, c: c}
}

// do sends a request; user "" sends no credentials, contentType ""
// sends no Content-Type.
func (c *client) do(method, path, body, contentType, user, pass string) response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

// as sends a request as the refreshing proxy, with a JSON body.
func (c *client) as(method, path, body string) response {
	c.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return c.do(method, path, body, ct, "expc", testUsers["expc"])
}

func expect(t *testing.T, what string, got response, status int, body string) {
	t.Helper()
	if got.status != status || got.body != body {
		t.Errorf("%s: got %d %q, want %d %q", what, got.status, got.body, status, body)
	}
	if body != "" {
		if ct := got.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", what, ct)
		}
	}
}

func errBody(msg string) string {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return string(b) + "\n"
}

func TestHandlerOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.json")
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(ft, testUsers)
	if h.MaxBody != 64<<10 || h.AllowPlainHTTP || h.Table != Table(ft) {
		t.Fatalf("NewHandler = %+v", h)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newClient(t, srv)

	expect(t, "empty list", c.as("GET", "/entries", ""), 200, "[]\n")

	// Add, then replace.
	expect(t, "add", c.as("PUT", "/entries", expc1JSON), 201, expc1JSON+"\n")
	replaced := strings.Replace(expc1JSON, "Expressway-C 1", "Expressway-C 1 (replaced)", 1)
	expect(t, "replace by POST", c.as("POST", "/entries", replaced), 200, replaced+"\n")
	expc2JSON := `{"hostNameOrIp":"expc2.example.com","names":["expc2.example.com"]}`
	expect(t, "add by POST", c.as("POST", "/entries", expc2JSON), 201, expc2JSON+"\n")
	// The key is case-insensitive, and the charset parameter is fine.
	upper := `{"hostNameOrIp":"EXPC2.example.com","description":"Expressway-C 2","names":["expc2.example.com"]}`
	expect(t, "replace, other case", c.do("PUT", "/entries", upper, "application/json; charset=utf-8", "admin", testUsers["admin"]), 200, upper+"\n")
	odd := `{"hostNameOrIp":"site a/expc4","names":["expc4.example.com"]}`
	expect(t, "add a host with a slash", c.as("PUT", "/entries", odd), 201, odd+"\n")
	expect(t, "list", c.as("GET", "/entries", ""), 200, "["+replaced+","+upper+","+odd+"]\n")

	// Delete, path-unescaped.
	expect(t, "delete", c.as("DELETE", "/entries/expc2.example.com", ""), 204, "")
	expect(t, "delete again", c.as("DELETE", "/entries/expc2.example.com", ""), 404, errBody(`no entry for "expc2.example.com"`))
	expect(t, "delete escaped", c.as("DELETE", "/entries/site%20a%2Fexpc4", ""), 204, "")
	expect(t, "list after deletes", c.as("GET", "/entries", ""), 200, "["+replaced+"]\n")

	// The entries pushed are what the mutual-TLS port matches peers
	// against, and they are on disk.
	ca := testca.New(t, "Tomcat-trust CA")
	for _, tc := range []struct {
		names []string
		match bool
	}{
		{[]string{"node1.mra.example.com"}, true},               // SAN under the entry's wildcard
		{[]string{"expc1.example.com"}, true},                   // SAN exactly
		{[]string{"Other-CN", "192.0.2.10"}, true},              // IP SAN
		{[]string{"expc2.example.com"}, false},                  // deleted
		{[]string{"a.b.mra.example.com"}, false},                // two labels under the wildcard
		{[]string{"expc1.example.com.evil.example"}, false},     // suffix trick
		{[]string{"expc4.example.com", "192.0.2.11"}, false},    // deleted, and an unlisted IP
		{[]string{"*.example.com"}, false},                      // wildcard certificate covering expc1.example.com, not allowed
		{[]string{"*.example.org"}, false},                      // wildcard certificate elsewhere
		{[]string{"*.mra.example.com", "198.51.100.1"}, false},  // the same wildcard, not allowed
		{[]string{"unrelated.example.net", "192.0.2.1"}, false}, // nothing listed
	} {
		leaf := ca.Client(t, tc.names...)
		e, ok := ft.Match(certcheck.PeerNames(leaf.Cert, certcheck.CNWhenNoDNSSAN))
		if ok != tc.match || ok && (e.HostNameOrIP != "expc1.example.com" || e.Description != "Expressway-C 1 (replaced)") {
			t.Errorf("Match(certificate for %v) = %+v, %v; want match %v", tc.names, e, ok, tc.match)
		}
	}
	re, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	leaf := ca.Client(t, "node9.mra.example.com")
	if e, ok := re.Match(certcheck.PeerNames(leaf.Cert, certcheck.CNWhenNoDNSSAN)); !ok || e.HostNameOrIP != "expc1.example.com" {
		t.Errorf("after reopening the file Match = %+v, %v", e, ok)
	}
}

func TestHandlerErrors(t *testing.T) {
	t.Parallel()
	mem := &Memory{}
	if err := mem.Put(Entry{HostNameOrIP: "expc1.example.com", Names: []string{"expc1.example.com"}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(NewHandler(mem, testUsers))
	defer srv.Close()
	c := newClient(t, srv)

	unauth := errBody("authentication required")
	for _, tc := range []struct {
		what, method, path, user, pass string
	}{
		{"no credentials", "GET", "/entries", "", ""},
		{"wrong password", "GET", "/entries", "expc", "s3cret-refresh!"},
		{"password of another user", "PUT", "/entries", "expc", testUsers["admin"]},
		{"unknown user", "DELETE", "/entries/expc1.example.com", "nobody", "s3cret-refresh"},
		{"empty password", "GET", "/entries", "expc", ""},
		{"unknown path, unauthenticated", "GET", "/admin", "", ""},
	} {
		got := c.do(tc.method, tc.path, "", "", tc.user, tc.pass)
		expect(t, tc.what, got, 401, unauth)
		if wa := got.header.Get("WWW-Authenticate"); wa != `Basic realm="edge-proxy table"` {
			t.Errorf("%s: WWW-Authenticate %q", tc.what, wa)
		}
	}

	for _, tc := range []struct {
		what, method, path, contentType, body string
		status                                int
		msg                                   string
	}{
		{"malformed JSON", "PUT", "/entries", "application/json", `{"hostNameOrIp":"expc2.example.com",`, 400, "invalid JSON entry: unexpected EOF"},
		{"not JSON", "PUT", "/entries", "application/json", `hostNameOrIp=expc2`, 400, "invalid JSON entry: invalid character 'h' looking for beginning of value"},
		{"unknown field", "PUT", "/entries", "application/json", `{"hostNameOrIp":"expc2.example.com","names":["expc2.example.com"],"hostName":"x"}`, 400, `invalid JSON entry: json: unknown field "hostName"`},
		{"wrong type", "POST", "/entries", "application/json", `{"hostNameOrIp":"expc2.example.com","names":"expc2.example.com"}`, 400, "invalid JSON entry: json: cannot unmarshal string into Go struct field Entry.names of type []string"},
		{"trailing data", "PUT", "/entries", "application/json", expc1JSON + ` {"hostNameOrIp":"x"}`, 400, "invalid JSON entry: unexpected data after the entry"},
		{"trailing garbage", "PUT", "/entries", "application/json", expc1JSON + `}`, 400, "invalid JSON entry: unexpected data after the entry"},
		{"empty body", "PUT", "/entries", "application/json", ``, 400, "invalid JSON entry: empty body"},
		{"no names", "PUT", "/entries", "application/json", `{"hostNameOrIp":"expc2.example.com","names":[]}`, 400, "mtlstrust: invalid edge-proxy entry: 0 names, want 1 to 256"},
		{"bad name", "PUT", "/entries", "application/json", `{"hostNameOrIp":"expc2.example.com","names":["f*.example.com"]}`, 400, `mtlstrust: invalid edge-proxy entry: name "f*.example.com" is neither a DNS name nor an IP address`},
		{"null", "PUT", "/entries", "application/json", `null`, 400, `mtlstrust: invalid edge-proxy entry: hostNameOrIp ""`},
		{"too large", "PUT", "/entries", "application/json", `{"hostNameOrIp":"expc2.example.com","names":["expc2.example.com"],"description":"` + strings.Repeat("x", 64<<10) + `"}`, 413, "request body larger than 65536 bytes"},
		{"too large after the entry", "PUT", "/entries", "application/json", expc1JSON + strings.Repeat(" ", 64<<10), 413, "request body larger than 65536 bytes"},
		{"text/plain", "PUT", "/entries", "text/plain", expc1JSON, 415, "Content-Type must be application/json"},
		{"no Content-Type", "POST", "/entries", "", expc1JSON, 415, "Content-Type must be application/json"},
		{"form", "POST", "/entries", "application/x-www-form-urlencoded", "a=b", 415, "Content-Type must be application/json"},
		{"unknown path", "GET", "/entry", "", "", 404, "not found"},
		{"root", "GET", "/", "", "", 404, "not found"},
		{"empty host", "DELETE", "/entries/", "", "", 404, "not found"},
		{"two segments", "DELETE", "/entries/a/b", "", "", 404, "not found"},
		{"trailing slash", "GET", "/entries/", "", "", 404, "not found"},
		{"absent entry", "DELETE", "/entries/expc9.example.com", "", "", 404, `no entry for "expc9.example.com"`},
	} {
		got := c.do(tc.method, tc.path, tc.body, tc.contentType, "expc", testUsers["expc"])
		expect(t, tc.what, got, tc.status, errBody(tc.msg))
	}

	for _, tc := range []struct {
		method, path, allow string
	}{
		{"DELETE", "/entries", "GET, POST, PUT"},
		{"PATCH", "/entries", "GET, POST, PUT"},
		{"GET", "/entries/expc1.example.com", "DELETE"},
		{"PUT", "/entries/expc1.example.com", "DELETE"},
	} {
		got := c.do(tc.method, tc.path, "", "", "expc", testUsers["expc"])
		expect(t, tc.method+" "+tc.path, got, 405, errBody("method not allowed"))
		if a := got.header.Get("Allow"); a != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, a, tc.allow)
		}
	}

	// None of the refused requests changed the table.
	if l := mustList(t, mem); len(l) != 1 || l[0].HostNameOrIP != "expc1.example.com" || l[0].Description != "" {
		t.Errorf("table after refused requests: %+v", l)
	}
}

func TestHandlerMaxBody(t *testing.T) {
	t.Parallel()
	h := NewHandler(&Memory{}, testUsers)
	h.MaxBody = int64(len(expc1JSON))
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newClient(t, srv)
	expect(t, "body of exactly MaxBody", c.as("PUT", "/entries", expc1JSON), 201, expc1JSON+"\n")
	expect(t, "one byte more", c.as("PUT", "/entries", expc1JSON+"\n"), 413, errBody(fmt.Sprintf("request body larger than %d bytes", len(expc1JSON))))
}

// Not parallel: it replaces the package's renameFile.
func TestHandlerTableFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.json")
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Put(expc2); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	h := NewHandler(ft, testUsers)
	h.ErrorLog = log.New(&logged, "", 0)
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newClient(t, srv)

	renameFile = func(string, string) error { return errors.New("no space left on device (simulated)") }
	t.Cleanup(func() { renameFile = os.Rename })

	want := errBody("the edge-proxy table could not be read or updated")
	expect(t, "put on a full disk", c.as("PUT", "/entries", expc1JSON), 500, want)
	expect(t, "delete on a full disk", c.as("DELETE", "/entries/expc2.example.com", ""), 500, want)
	if got := logged.String(); strings.Count(got, "no space left on device (simulated)") != 2 || !strings.Contains(got, path) {
		t.Errorf("error log %q, want both causes with the file", got)
	}
	expc2JSON, _ := json.Marshal(expc2)
	expect(t, "list still served", c.as("GET", "/entries", ""), 200, "["+string(expc2JSON)+"]\n")

	// No table at all is a server fault too, not a crash.
	h2 := &Handler{Users: testUsers, ErrorLog: log.New(io.Discard, "", 0)}
	srv2 := httptest.NewTLSServer(h2)
	defer srv2.Close()
	c2 := newClient(t, srv2)
	expect(t, "nil table, list", c2.as("GET", "/entries", ""), 500, want)
	expect(t, "nil table, put", c2.as("PUT", "/entries", expc1JSON), 500, want)
	expect(t, "nil table, delete", c2.as("DELETE", "/entries/x", ""), 500, want)
}

func TestHandlerPlainHTTP(t *testing.T) {
	t.Parallel()
	mem := &Memory{}
	h := NewHandler(mem, testUsers)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv)

	tlsRequired := errBody("TLS is required")
	expect(t, "list over HTTP", c.as("GET", "/entries", ""), 403, tlsRequired)
	expect(t, "put over HTTP", c.as("PUT", "/entries", expc1JSON), 403, tlsRequired)
	expect(t, "unauthenticated over HTTP", c.do("GET", "/entries", "", "", "", ""), 403, tlsRequired)
	if l := mustList(t, mem); len(l) != 0 {
		t.Fatalf("a plain-HTTP PUT changed the table: %+v", l)
	}

	// Allowed, for TLS ended in front of the handler; credentials are
	// still required.
	h2 := NewHandler(mem, testUsers)
	h2.AllowPlainHTTP = true
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	c = newClient(t, srv2)
	expect(t, "put, plain HTTP allowed", c.as("PUT", "/entries", expc1JSON), 201, expc1JSON+"\n")
	expect(t, "list, plain HTTP allowed", c.as("GET", "/entries", ""), 200, "["+expc1JSON+"]\n")
	expect(t, "unauthenticated, plain HTTP allowed", c.do("GET", "/entries", "", "", "", ""), 401, errBody("authentication required"))
}

func TestHandlerNoUsers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(NewHandler(&Memory{}, nil))
	defer srv.Close()
	c := newClient(t, srv)
	expect(t, "no users configured", c.do("GET", "/entries", "", "", "", ""), 401, errBody("authentication required"))
	expect(t, "empty credentials, no users configured", c.do("GET", "/entries", "", "", ":", ""), 401, errBody("authentication required"))
}

func FuzzHandlerPut(f *testing.F) {
	f.Add([]byte(expc1JSON))
	f.Add([]byte(`{"hostNameOrIp":"192.0.2.30","names":["192.0.2.30","2001:db8::30","expc3.example.com"]}`))
	f.Add([]byte(`{"hostNameOrIp":"expc2.example.com","description":"Expressway-C 2","names":["expc2.example.com","*.mra.example.com"]}`))
	f.Add([]byte(`{"hostNameOrIp":"expc2.example.com","names":[]}`))
	f.Add([]byte(`{"hostNameOrIp":"x","names":["x"],"extra":1}`))
	f.Add([]byte(expc1JSON + `{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"hostNameOrIp":"\u00e9\ud800","names":["a.example.com"]}`))
	f.Add([]byte(`{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"],"allowWildcardCertificate":true}`))
	f.Add([]byte(`{"hostNameOrIp":"expc1.example.com","names":["*.mra.example.com"],"allowWildcardCertificate":false}`))
	f.Add([]byte(`{"hostNameOrIp":"192.0.2.30","names":["192.0.2.30"],"allowWildcardCertificate":true}`))
	f.Add([]byte(`{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"],"allowWildcardCertificate":1}`))

	users := map[string]string{"expc": "pw"}
	f.Fuzz(func(t *testing.T, body []byte) {
		mem := &Memory{}
		h := NewHandler(mem, users)
		h.MaxBody = 4 << 10
		req := httptest.NewRequest("PUT", "/entries", bytes.NewReader(body))
		req.TLS = &tls.ConnectionState{}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("expc", "pw")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		list := mustList(t, mem)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%d %s", rec.Code, rec.Body)
		case rec.Code == 201:
			var stored Entry
			if err := json.Unmarshal(rec.Body.Bytes(), &stored); err != nil {
				t.Fatalf("201 body %q: %v", rec.Body, err)
			}
			if err := stored.Validate(); err != nil {
				t.Fatalf("stored an invalid entry %+v: %v", stored, err)
			}
			if len(list) != 1 || !reflect.DeepEqual(list[0], stored) {
				t.Fatalf("201 with %+v, but the table lists %+v", stored, list)
			}
		case rec.Code >= 200 && rec.Code < 300:
			t.Fatalf("%d on an empty table, want 201: %s", rec.Code, rec.Body)
		default:
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%d body %q is not an error object", rec.Code, rec.Body)
			}
			if rec.Code != 400 && rec.Code != 413 {
				t.Fatalf("status %d, want 400 or 413", rec.Code)
			}
			if len(list) != 0 {
				t.Fatalf("%d, but the table lists %+v", rec.Code, list)
			}
		}
	})
}

// strictTable refuses entries beyond what Entry.Validate checks.
type strictTable struct{ Memory }

func (t *strictTable) Put(e Entry) error {
	if len(e.Names) > 1 {
		return fmt.Errorf("%w: this node takes one name an entry", ErrInvalidEntry)
	}
	return t.Memory.Put(e)
}

// TestHandlerStricterTable: a table's own refusal is a 400 with the same
// wire text as Validate's.
func TestHandlerStricterTable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(NewHandler(&strictTable{}, testUsers))
	defer srv.Close()
	c := newClient(t, srv)
	expect(t, "refused by the table", c.as("PUT", "/entries", expc1JSON), 400, errBody("mtlstrust: invalid edge-proxy entry: this node takes one name an entry"))
	one := `{"hostNameOrIp":"expc2.example.com","names":["expc2.example.com"]}`
	expect(t, "accepted by the table", c.as("PUT", "/entries", one), 201, one+"\n")
}
