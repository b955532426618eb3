package edgetable

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sipoauth/sdk/certcheck"
)

var (
	expc1 = Entry{HostNameOrIP: "expc1.example.com", Description: "Expressway-C 1", Names: []string{"expc1.example.com", "*.mra.example.com", "192.0.2.10"}}
	expc2 = Entry{HostNameOrIP: "expc2.example.com", Description: "Expressway-C 2", Names: []string{"expc2.example.com"}}
	expc3 = Entry{HostNameOrIP: "192.0.2.30", Names: []string{"192.0.2.30", "expc3.example.com"}}
)

func mustList(t testing.TB, tab Table) []Entry {
	t.Helper()
	l, err := tab.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return l
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func TestFilePersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "edge-proxies.json")
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile on a missing file: %v", err)
	}
	if ft.Path() != path {
		t.Errorf("Path() = %q, want %q", ft.Path(), path)
	}
	if l := mustList(t, ft); len(l) != 0 {
		t.Fatalf("new table lists %v, want nothing", l)
	}
	// Removing what is not there writes nothing.
	if ok, err := ft.Remove("expc1.example.com"); ok || err != nil {
		t.Fatalf("Remove on an empty table = %v, %v; want false, nil", ok, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file exists before the first change: %v", err)
	}
	// An invalid entry is refused before anything is written.
	if err := ft.Put(Entry{HostNameOrIP: "bad.example.com"}); !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("Put of an entry without names = %v, want ErrInvalidEntry", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file exists after a refused Put: %v", err)
	}

	for _, e := range []Entry{expc2, expc1, expc3} {
		if err := ft.Put(e); err != nil {
			t.Fatalf("Put(%s): %v", e.HostNameOrIP, err)
		}
	}
	if ok, err := ft.Remove("EXPC2.example.com"); !ok || err != nil {
		t.Fatalf("Remove(EXPC2.example.com) = %v, %v; want true, nil", ok, err)
	}
	replaced := expc3
	replaced.Description = "Expressway-C 3, by address"
	if err := ft.Put(replaced); err != nil {
		t.Fatal(err)
	}
	want := []Entry{replaced, expc1} // "192..." sorts before "expc1..."
	if got := mustList(t, ft); !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %+v, want %+v", got, want)
	}

	const wantFile = `{
  "entries": [
    {
      "hostNameOrIp": "192.0.2.30",
      "description": "Expressway-C 3, by address",
      "names": [
        "192.0.2.30",
        "expc3.example.com"
      ]
    },
    {
      "hostNameOrIp": "expc1.example.com",
      "description": "Expressway-C 1",
      "names": [
        "expc1.example.com",
        "*.mra.example.com",
        "192.0.2.10"
      ]
    }
  ]
}
`
	if got := string(readFile(t, path)); got != wantFile {
		t.Fatalf("file content:\n%s\nwant:\n%s", got, wantFile)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("new file mode %v, want 0600", perm)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"edge-proxies.json"}) {
		t.Errorf("directory holds %v, want only the table file", names)
	}

	re, err := OpenFile(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got := mustList(t, re); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen List = %+v, want %+v", got, want)
	}
	e, ok := re.Match(certcheck.Names{DNS: []string{"node7.mra.example.com"}})
	if !ok || e.HostNameOrIP != "expc1.example.com" {
		t.Errorf("Match(node7.mra.example.com) after reopen = %+v, %v; want expc1.example.com", e, ok)
	}
	e, ok = re.Match(certcheck.Names{IPs: []netip.Addr{netip.MustParseAddr("192.0.2.30")}})
	if !ok || e.Description != replaced.Description {
		t.Errorf("Match(192.0.2.30) after reopen = %+v, %v; want the replaced entry", e, ok)
	}
	if _, ok := re.Match(certcheck.Names{DNS: []string{"expc2.example.com"}}); ok {
		t.Error("removed expc2.example.com still matches after reopen")
	}

	// Removing the last entries leaves an empty, valid file.
	for _, h := range []string{"192.0.2.30", "expc1.example.com"} {
		if ok, err := re.Remove(h); !ok || err != nil {
			t.Fatalf("Remove(%s) = %v, %v", h, ok, err)
		}
	}
	if got := string(readFile(t, path)); got != "{\n  \"entries\": []\n}\n" {
		t.Errorf("empty table file = %q", got)
	}
}

func TestFileKeepsMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.json")
	if err := os.WriteFile(path, []byte(`{"entries":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // umask-proof
		t.Fatal(err)
	}
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Put(expc1); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o644 {
		t.Errorf("mode after a change %v, want the file's 0644", perm)
	}
}

// Not parallel: it replaces the package's renameFile.
func TestFileFailedWriteChangesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.json")
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{expc1, expc2} {
		if err := ft.Put(e); err != nil {
			t.Fatal(err)
		}
	}
	before := readFile(t, path)
	wantList := []Entry{expc1, expc2}

	errDiskFull := errors.New("no space left on device (simulated)")
	var tried []string
	renameFile = func(from, to string) error {
		tried = append(tried, from)
		if _, err := os.Stat(from); err != nil {
			t.Errorf("temporary file %s missing at rename: %v", from, err)
		}
		if filepath.Dir(from) != dir || to != path {
			t.Errorf("rename %s -> %s, want a temporary file in %s renamed to %s", from, to, dir, path)
		}
		return errDiskFull
	}
	t.Cleanup(func() { renameFile = os.Rename })

	changed := expc1
	changed.Names = []string{"other.example.com"}
	if err := ft.Put(changed); !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Put with a failing rename = %v, want the rename error naming %s", err, path)
	}
	if err := ft.Put(expc3); !errors.Is(err, errDiskFull) {
		t.Fatalf("Put of a new entry with a failing rename = %v", err)
	}
	if ok, err := ft.Remove("expc2.example.com"); ok || !errors.Is(err, errDiskFull) {
		t.Fatalf("Remove with a failing rename = %v, %v; want false and the rename error", ok, err)
	}
	if len(tried) != 3 {
		t.Fatalf("rename tried %d times, want 3", len(tried))
	}

	if got := mustList(t, ft); !reflect.DeepEqual(got, wantList) {
		t.Errorf("List after failed writes = %+v, want %+v", got, wantList)
	}
	if _, ok := ft.Match(certcheck.Names{DNS: []string{"other.example.com"}}); ok {
		t.Error("the entry of a failed Put matches")
	}
	if e, ok := ft.Match(certcheck.Names{DNS: []string{"expc2.example.com"}}); !ok || e.HostNameOrIP != "expc2.example.com" {
		t.Error("the entry of a failed Remove no longer matches")
	}
	if after := readFile(t, path); !bytes.Equal(after, before) {
		t.Errorf("file changed by failed writes:\n%s", after)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"edge.json"}) {
		t.Errorf("directory holds %v after failed writes, want the temporary files removed", names)
	}

	// Once writes work again, the table moves on from its old content.
	renameFile = os.Rename
	if err := ft.Put(expc3); err != nil {
		t.Fatal(err)
	}
	re, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mustList(t, re), []Entry{expc3, expc1, expc2}; !reflect.DeepEqual(got, want) {
		t.Errorf("after recovery List = %+v, want %+v", got, want)
	}
}

// Not parallel: it replaces the package's syncDir.
func TestFileDirectorySyncFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.json")
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Put(expc1); err != nil {
		t.Fatal(err)
	}
	errIO := errors.New("input/output error (simulated)")
	syncDir = func(d string) error {
		if filepath.Clean(d) != dir {
			t.Errorf("synced %s, want %s", d, dir)
		}
		return errIO
	}
	t.Cleanup(func() { syncDir = syncDirectory })

	// The new file is in place, so the table follows it, and the error
	// still reports that the change may not be durable.
	err = ft.Put(expc2)
	if !errors.Is(err, errIO) || !strings.Contains(err.Error(), "not confirmed durable") {
		t.Fatalf("Put with a failing directory sync = %v", err)
	}
	want := []Entry{expc1, expc2}
	if got := mustList(t, ft); !reflect.DeepEqual(got, want) {
		t.Errorf("List = %+v, want %+v", got, want)
	}
	if ok, err := ft.Remove("expc1.example.com"); !ok || !errors.Is(err, errIO) {
		t.Fatalf("Remove with a failing directory sync = %v, %v; want true and the error", ok, err)
	}
	syncDir = syncDirectory
	re, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mustList(t, re), []Entry{expc2}; !reflect.DeepEqual(got, want) {
		t.Errorf("file holds %+v, want %+v", got, want)
	}
	if got := mustList(t, ft); !reflect.DeepEqual(got, []Entry{expc2}) {
		t.Errorf("table holds %+v, want the file's %+v", got, []Entry{expc2})
	}
}

func TestFileDirectoryGone(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ft, err := OpenFile(filepath.Join(dir, "t.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Put(expc1); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := ft.Put(expc2); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Put into a removed directory = %v, want a not-exist error", err)
	}
	if got := mustList(t, ft); !reflect.DeepEqual(got, []Entry{expc1}) {
		t.Errorf("List = %+v, want only expc1", got)
	}
}

func TestFileCorrupt(t *testing.T) {
	t.Parallel()
	valid := `{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"]}`
	tests := []struct {
		name    string
		content string
		want    string // in the error, after the file name
		invalid bool   // wraps ErrInvalidEntry
	}{
		{"syntax", `{"entries":[` + valid + `,}`, "invalid character '}'", false},
		{"not an object", `[]`, "cannot unmarshal array", false},
		{"empty file", ``, "EOF", false},
		{"trailing data", `{"entries":[]} {}`, "unexpected data after the JSON value", false},
		{"unknown top-level field", `{"entries":[],"version":2}`, `unknown field "version"`, false},
		{"entry without names", `{"entries":[` + valid + `,{"hostNameOrIp":"expc2.example.com","names":[]}]}`, "entry 1: edgetable: invalid edge-proxy entry: 0 names", true},
		{"names of the wrong type", `{"entries":[` + valid + `,{"hostNameOrIp":"y","names":["y.example.com"]},{"hostNameOrIp":"x","names":5}]}`, "entry 2: json: cannot unmarshal number", false},
		{"unknown entry field", `{"entries":[{"hostNameOrIp":"x","names":["x.example.com"],"hostname":"y"}]}`, `entry 0: json: unknown field "hostname"`, false},
		{"duplicate", `{"entries":[` + valid + `,{"hostNameOrIp":"EXPC1.example.com","names":["a.example.com"]}]}`, `entry 1: edgetable: invalid edge-proxy entry: hostNameOrIp "EXPC1.example.com" already in entry 0`, true},
		{"entry not an object", `{"entries":["expc1.example.com"]}`, "entry 0: json: cannot unmarshal string", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "edge.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			ft, err := OpenFile(path)
			if err == nil {
				t.Fatalf("OpenFile accepted %s: %+v", tc.content, mustList(t, ft))
			}
			if ft != nil {
				t.Error("OpenFile returned a table with its error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "edgetable: "+path+": ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want the file %s and %q", msg, path, tc.want)
			}
			if got := errors.Is(err, ErrInvalidEntry); got != tc.invalid {
				t.Errorf("errors.Is(err, ErrInvalidEntry) = %v, want %v", got, tc.invalid)
			}
		})
	}
	t.Run("bad name message", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "edge.json")
		content := `{"entries":[` + valid + `,{"hostNameOrIp":"expc2.example.com","names":["expc2.example.com","bad name!"]}]}`
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenFile(path)
		want := "edgetable: " + path + `: entry 1: edgetable: invalid edge-proxy entry: name "bad name!" is neither a DNS name nor an IP address`
		if err == nil || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := OpenFile(dir); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("OpenFile(directory) = %v, want an error naming %s", err, dir)
		}
	})
}

func TestFileSizeLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	body := `{"entries":[{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"]}]}`
	pad := func(n int) []byte {
		b := make([]byte, n)
		copy(b, body)
		for i := len(body); i < n; i++ {
			b[i] = ' '
		}
		return b
	}

	atLimit := filepath.Join(dir, "at-limit.json")
	if err := os.WriteFile(atLimit, pad(MaxFileSize), 0o600); err != nil {
		t.Fatal(err)
	}
	ft, err := OpenFile(atLimit)
	if err != nil {
		t.Fatalf("file of exactly %d bytes refused: %v", MaxFileSize, err)
	}
	if l := mustList(t, ft); len(l) != 1 || l[0].HostNameOrIP != "expc1.example.com" {
		t.Errorf("List = %+v", l)
	}

	over := filepath.Join(dir, "over.json")
	if err := os.WriteFile(over, pad(MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = OpenFile(over)
	want := fmt.Sprintf("edgetable: read %s: larger than 16777216 bytes", over)
	if err == nil || err.Error() != want {
		t.Errorf("OpenFile(16 MiB + 1) = %v, want %s", err, want)
	}
}

func TestFileConcurrentPuts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "edge.json")
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				host := fmt.Sprintf("expc-%d-%02d.example.com", w, i)
				errs <- ft.Put(Entry{HostNameOrIP: host, Names: []string{host}})
				// Readers run alongside the writers.
				if _, ok := ft.Match(certcheck.Names{DNS: []string{host}}); !ok {
					errs <- fmt.Errorf("%s does not match right after its Put", host)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	re, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := mustList(t, re)
	if len(got) != workers*each {
		t.Fatalf("reopened table holds %d entries, want %d", len(got), workers*each)
	}
	for w := range workers {
		for i := range each {
			host := fmt.Sprintf("expc-%d-%02d.example.com", w, i)
			if e := got[w*each+i]; e.HostNameOrIP != host || !slices.Equal(e.Names, []string{host}) {
				t.Fatalf("entry %d = %+v, want %s", w*each+i, e, host)
			}
		}
	}
}

func TestFileReload(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "edge.json")
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Put(expc1); err != nil {
		t.Fatal(err)
	}

	// An edit by hand is picked up.
	edited, err := json.Marshal(map[string][]Entry{"entries": {expc2, expc3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, edited, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ft.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	want := []Entry{expc3, expc2}
	if got := mustList(t, ft); !reflect.DeepEqual(got, want) {
		t.Fatalf("after Reload List = %+v, want %+v", got, want)
	}
	if _, ok := ft.Match(certcheck.Names{DNS: []string{"expc1.example.com"}}); ok {
		t.Error("entry dropped by the edit still matches")
	}

	// A bad edit is refused and the table keeps serving what it had.
	for _, bad := range []string{
		`{"entries":[{"hostNameOrIp":"expc2.example.com","names":["expc2.example.com"]}`,
		`{"entries":[{"hostNameOrIp":"expc2.example.com","names":[]}]}`,
	} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ft.Reload(); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Reload of %s = %v, want an error naming the file", bad, err)
		}
		if got := mustList(t, ft); !reflect.DeepEqual(got, want) {
			t.Fatalf("after a failed Reload List = %+v, want %+v", got, want)
		}
		if e, ok := ft.Match(certcheck.Names{DNS: []string{"expc3.example.com"}}); !ok || e.HostNameOrIP != "192.0.2.30" {
			t.Fatalf("after a failed Reload Match(expc3.example.com) = %+v, %v", e, ok)
		}
	}

	// A removed file is an empty table, as at open.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := ft.Reload(); err != nil {
		t.Fatalf("Reload of a removed file: %v", err)
	}
	if got := mustList(t, ft); len(got) != 0 {
		t.Fatalf("after Reload of a removed file List = %+v, want empty", got)
	}
}

func FuzzOpenFile(f *testing.F) {
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"expc1.example.com","description":"Expressway-C 1","names":["expc1.example.com","*.mra.example.com","192.0.2.10"]}]}`))
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"192.0.2.30","names":["192.0.2.30","2001:db8::30"]},{"hostNameOrIp":"expc2.example.com","description":"Expressway-C 2","names":["expc2.example.com"]}]}`))
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"FUZZ-PUT.example.com","names":["old.example.com"]}]}`))
	f.Add([]byte(`{"entries":[]}`))
	f.Add([]byte(`{"entries":null}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"x","names":[]}]}`))
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"x\u00e9","names":["\u00e9.example.com"]}]}`))
	f.Add([]byte{})
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com","*.mra.example.com"],"allowWildcardCertificate":true},{"hostNameOrIp":"expc2.example.com","names":["expc2.example.com"],"allowWildcardCertificate":false}]}`))
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"192.0.2.30","names":["192.0.2.30"],"allowWildcardCertificate":true}]}`))
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"],"allowWildcardCertificate":"yes"}]}`))
	f.Add([]byte(`{"entries":[{"hostNameOrIp":"expc1.example.com","names":["EXPC1.Example.COM."],"allowWildcardCertificate":null}]}`))

	put := Entry{HostNameOrIP: "fuzz-put.example.com", Description: "added", Names: []string{"fuzz-put.example.com", "198.51.100.7"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "edge.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ft, err := OpenFile(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		before := mustList(t, ft)
		for i, e := range before {
			if err := e.Validate(); err != nil {
				t.Fatalf("loaded entry %d does not validate: %v", i, err)
			}
			checkWildcardCertificates(t, ft, e)
		}
		if err := ft.Put(put); err != nil {
			t.Fatalf("Put: %v", err)
		}
		// Entries are keyed by the lower-cased host, which is not quite
		// what strings.EqualFold compares.
		key := strings.ToLower(put.HostNameOrIP)
		want := slices.DeleteFunc(slices.Clone(before), func(e Entry) bool {
			return strings.ToLower(e.HostNameOrIP) == key
		})
		want = append(want, put)
		sortEntries(want)
		if got := mustList(t, ft); !reflect.DeepEqual(got, want) {
			t.Fatalf("after Put List = %+v, want %+v", got, want)
		}
		re, err := OpenFile(path)
		if err != nil {
			t.Fatalf("reopen after Put: %v", err)
		}
		if got := mustList(t, re); !reflect.DeepEqual(got, want) {
			t.Fatalf("after reopen List = %+v, want %+v", got, want)
		}
	})
}

// checkWildcardCertificates: the wildcard that covers each DNS name of e
// matches, if anything, an entry that allows wildcard certificates, and
// does match one when e allows them.
func checkWildcardCertificates(t *testing.T, tab Table, e Entry) {
	t.Helper()
	for _, n := range e.Names {
		w := n
		if !strings.HasPrefix(n, "*.") {
			_, parent, ok := strings.Cut(n, ".")
			if !ok {
				continue
			}
			w = "*." + parent
		}
		names := certcheck.PeerNames(&x509.Certificate{DNSNames: []string{w}}, certcheck.CNNever)
		if len(names.DNS) == 0 {
			continue // no certificate name: "*.com", or n is an IP address
		}
		got, ok := tab.Match(names)
		if ok && !got.AllowWildcardCertificate {
			t.Fatalf("wildcard certificate %q matched %+v, which does not allow wildcard certificates", w, got)
		}
		if !ok && e.AllowWildcardCertificate {
			t.Fatalf("wildcard certificate %q matched nothing, but %+v allows it", w, e)
		}
	}
}
