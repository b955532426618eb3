package client_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
)

// failTransport fails every request: a local file must not go through
// the HTTP client.
type failTransport struct{}

func (failTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("HTTP used for a local file")
}

// TestFetchConfigLocal reads the configuration from a path and from a
// file URL, never through HTTP.
func TestFetchConfigLocal(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../cnfxml/testdata/CSFrado.cnf.xml")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tftp dir") // a space, escaped in the URL
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "CSFrado.cnf.xml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	fileURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
	if !strings.HasPrefix(fileURL, "file:///") || !strings.Contains(fileURL, "tftp%20dir") {
		t.Fatalf("file URL %s", fileURL)
	}
	hc := &http.Client{Transport: failTransport{}}
	for _, u := range []string{path, fileURL, "file://localhost" + filepath.ToSlash(path)} {
		dc, err := client.FetchConfig(context.Background(), hc, u, 0)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if dc.DeviceName != "CSFrado" || dc.UserID != "rado" || dc.SIPOAuthMode != 1 || dc.Timers != (client.StackTimers{RegisterExpires: 3600, RegisterDelta: 5}) {
			t.Fatalf("%s: config %s %s %d %+v", u, dc.DeviceName, dc.UserID, dc.SIPOAuthMode, dc.Timers)
		}
	}

	// A client whose ConfigURL is a directory URL ending in / reads
	// <device>.cnf.xml in it.
	c, err := client.New(client.Config{DeviceName: "CSFrado", ConfigURL: fileURL[:strings.LastIndexByte(fileURL, '/')+1],
		Tokens: client.StaticTokenSource(&client.Token{AccessToken: "t"}), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	targets, err := c.Targets(context.Background())
	if err != nil || len(targets) != 2 || targets[0].Host != "10.10.10.1" || targets[0].Port != 5090 {
		t.Fatalf("targets %+v, %v", targets, err)
	}
}

// TestFetchConfigLocalErrors: a missing file is an error naming its
// path; a file over the limit, a directory and a remote file URL are
// refused with a clear error.
func TestFetchConfigLocalErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "CSFnobody.cnf.xml")
	_, err := client.FetchConfig(context.Background(), nil, "file://"+filepath.ToSlash(missing), 0)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	_, err = client.FetchConfig(context.Background(), nil, missing, 0)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing path: %v", err)
	}

	big := filepath.Join(dir, "CSFbig.cnf.xml")
	if err := os.WriteFile(big, []byte("<device>"+strings.Repeat(" ", 2000)+"</device>"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = client.FetchConfig(context.Background(), nil, big, 1000)
	if !errors.Is(err, cnfxml.ErrTooLarge) || !strings.Contains(err.Error(), big) {
		t.Errorf("file over the limit: %v", err)
	}

	_, err = client.FetchConfig(context.Background(), nil, dir, 0)
	if err == nil || !strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}

	_, err = client.FetchConfig(context.Background(), nil, "file://cucm.example.com/CSFrado.cnf.xml", 0)
	if err == nil || !strings.Contains(err.Error(), `not of "cucm.example.com"`) {
		t.Errorf("remote file URL: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := client.FetchConfig(ctx, nil, big, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}
