package cnfxml

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveDir lays out root/served (the handler's directory, with the two
// good fixtures and a broken file) and root/secret.cnf.xml outside it.
func serveDir(t *testing.T) (served string, logged *[]string) {
	t.Helper()
	root := t.TempDir()
	served = filepath.Join(root, "served")
	if err := os.Mkdir(served, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"CSFrado.cnf.xml", "SEP00562BA1C2D3.cnf.xml"} {
		if err := os.WriteFile(filepath.Join(served, name), readFixture(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(served, "CSFbroken.cnf.xml"), []byte("<phone/>"), 0o644)
	os.WriteFile(filepath.Join(root, "secret.cnf.xml"), []byte("<device><userId>SECRET</userId></device>"), 0o644)
	os.Symlink(filepath.Join(root, "secret.cnf.xml"), filepath.Join(served, "CSFlink.cnf.xml"))
	return served, new([]string)
}

func newTestServer(t *testing.T) (*httptest.Server, *[]string) {
	dir, logged := serveDir(t)
	h := NewHandler(dir)
	h.ErrorLog = func(device string, err error) { *logged = append(*logged, device+": "+err.Error()) }
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, not on loopback", srv.URL)
	}
	return srv, logged
}

func get(t *testing.T, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestHandlerServes(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	want := string(readFixture(t, "CSFrado.cnf.xml"))
	const etag = `"1611743254-7e5b3c2a-8d41-4f0e-b6a9-2c1d0e9f8a7b"`

	res, body := get(t, "GET", srv.URL+"/CSFrado.cnf.xml", nil)
	if res.StatusCode != 200 || body != want {
		t.Fatalf("GET: %d, %d bytes", res.StatusCode, len(body))
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/xml; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if res.Header.Get("ETag") != etag || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", res.Header.Get("ETag"), res.Header.Get("Cache-Control"))
	}

	res, body = get(t, "GET", srv.URL+"/CSFrado.cnf.xml", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified || body != "" || res.Header.Get("ETag") != etag {
		t.Fatalf("If-None-Match: %d %q", res.StatusCode, body)
	}
	res, _ = get(t, "GET", srv.URL+"/CSFrado.cnf.xml", map[string]string{"If-None-Match": `"other", ` + etag})
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match list: %d", res.StatusCode)
	}
	res, body = get(t, "GET", srv.URL+"/CSFrado.cnf.xml", map[string]string{"If-None-Match": `"1585566188-old"`})
	if res.StatusCode != 200 || body != want {
		t.Fatalf("stale If-None-Match: %d", res.StatusCode)
	}
	res, body = get(t, "HEAD", srv.URL+"/SEP00562BA1C2D3.cnf.xml", nil)
	if res.StatusCode != 200 || body != "" || res.Header.Get("Content-Length") != "14594" {
		t.Fatalf("HEAD: %d %q length %q", res.StatusCode, body, res.Header.Get("Content-Length"))
	}
	res, _ = get(t, "POST", srv.URL+"/CSFrado.cnf.xml", nil)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d", res.StatusCode)
	}
}

func TestHandlerNotFoundAndBroken(t *testing.T) {
	t.Parallel()
	srv, logged := newTestServer(t)
	for _, p := range []string{"/CSFnobody.cnf.xml", "/CSFrado.xml", "/", "/CSFrado.cnf.xml/", "/sub/CSFrado.cnf.xml"} {
		if res, _ := get(t, "GET", srv.URL+p, nil); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
	res, body := get(t, "GET", srv.URL+"/CSFbroken.cnf.xml", nil)
	if res.StatusCode != 500 || strings.Contains(body, "phone") {
		t.Fatalf("broken file: %d %q", res.StatusCode, body)
	}
	if len(*logged) != 1 || !strings.Contains((*logged)[0], "CSFbroken: cnfxml: the root element is not <device>") {
		t.Fatalf("logged %q", *logged)
	}
}

// rawGet sends a request line as is, so that no client cleans the path.
func rawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: tftp\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestHandlerRefusesTraversal(t *testing.T) {
	t.Parallel()
	srv, _ := newTestServer(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, target := range []string{
		"/../secret.cnf.xml",
		"/%2e%2e/secret.cnf.xml",
		"/%2E%2E%2Fsecret.cnf.xml",
		"/..%2fsecret.cnf.xml",
		"/..%5csecret.cnf.xml",
		"/..\\secret.cnf.xml",
		"//tmp/secret.cnf.xml",
		"/%2ftmp%2fsecret.cnf.xml",
		"/secret%00.cnf.xml",
		"/CSFrado%00.cnf.xml",
		"/.cnf.xml",
		"/..cnf.xml",
		"/-x.cnf.xml",
		"http://tftp/../secret.cnf.xml",
		"/CSFlink.cnf.xml", // a symbolic link out of the directory
		"/" + strings.Repeat("A", 65) + ".cnf.xml",
	} {
		code, body := rawGet(t, addr, target)
		if code == 200 || strings.Contains(body, "SECRET") {
			t.Errorf("%s: %d %q", target, code, body)
		}
		if code != 404 && target != "/CSFlink.cnf.xml" {
			t.Errorf("%s: %d, want 404", target, code)
		}
	}
	if code, _ := rawGet(t, addr, "/CSFrado.cnf.xml"); code != 200 {
		t.Fatalf("the plain name: %d", code)
	}
}

func TestValidDeviceName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"CSFrado": true, "SEP00562BA1C2D3": true, "BOTrado": true, "TCT_x-1.2": true, "a": true,
		"": false, ".": false, "..": false, "-a": false, "a/b": false, `a\b`: false, "a\x00": false,
		"a b": false, "é": false, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
	} {
		if ValidDeviceName(name) != ok {
			t.Errorf("ValidDeviceName(%q) = %v", name, !ok)
		}
	}
}

func TestDirSource(t *testing.T) {
	t.Parallel()
	dir, _ := serveDir(t)
	d := Dir{Path: dir}
	if b, err := d.ReadConfig(context.Background(), "CSFrado"); err != nil || len(b) != 8841 {
		t.Fatalf("ReadConfig: %d bytes, %v", len(b), err)
	}
	if _, err := d.ReadConfig(context.Background(), "../secret"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("traversal: %v", err)
	}
	if _, err := d.ReadConfig(context.Background(), "CSFnobody"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := (Dir{Path: dir, MaxSize: 1000}).ReadConfig(context.Background(), "CSFrado"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit: %v", err)
	}
}

// etagSource hands out a file whose versionStamp cannot be an entity tag.
type etagSource string

func (s etagSource) ReadConfig(context.Context, string) ([]byte, error) { return []byte(s), nil }

func TestETagFallback(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{"<device/>", `<device><versionStamp>a"b</versionStamp></device>`} {
		rec := httptest.NewRecorder()
		(&Handler{Source: etagSource(doc)}).ServeHTTP(rec, httptest.NewRequest("GET", "/CSFx.cnf.xml", nil))
		tag := rec.Header().Get("ETag")
		if rec.Code != 200 || !strings.HasPrefix(tag, `"sha256-`) || len(tag) != len(`"sha256-`)+32+1 {
			t.Fatalf("%s: %d ETag %q", doc, rec.Code, tag)
		}
	}
}
