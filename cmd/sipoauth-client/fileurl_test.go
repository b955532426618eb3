package main

import (
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
)

// TestFileURLConfig: -config as a file URL (of the file, or of its
// directory ending in /) is read by package client, without HTTP.
func TestFileURLConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := cnfxml.NewCSF("CSFrado")
	cfg.UserID = "rado"
	cfg.CallManagers = []cnfxml.CallManager{{Name: "127.0.0.1", Ports: cnfxml.Ports{SIPOAuth: 5090, SIPMRAOAuth: 5091}}}
	if err := os.WriteFile(filepath.Join(dir, "CSFrado.cnf.xml"), cfg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dirURL := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/"}).String()
	for _, u := range []string{dirURL, dirURL + "CSFrado.cnf.xml"} {
		o, err := parseFlags([]string{"-config", u, "-device", "CSFrado", "-token", "t"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := o.clientConfig(io.Discard, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if cc.Tokens, _, err = o.tokenSource(context.Background(), io.Discard, cc.TLSConfig); err != nil {
			t.Fatal(err)
		}
		c, err := client.New(cc)
		if err != nil {
			t.Fatal(err)
		}
		targets, err := c.Targets(context.Background())
		c.Close()
		if err != nil || len(targets) != 1 || targets[0].Addr != "127.0.0.1:5090" {
			t.Fatalf("%s: targets %+v, %v", u, targets, err)
		}
	}
}
