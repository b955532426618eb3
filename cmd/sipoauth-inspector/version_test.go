package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/internal/buildinfo"
)

func TestVersion(t *testing.T) {
	f := flag.CommandLine.Lookup("version")
	if f == nil || f.DefValue != "false" || !strings.Contains(f.Usage, "version") {
		t.Fatalf("-version flag: %+v", f)
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
		t.Fatal("-version takes no value")
	}
	var out bytes.Buffer
	printVersion(&out)
	if want := buildinfo.String("sipoauth-inspector") + "\n"; out.String() != want || !strings.HasPrefix(want, "sipoauth-inspector ") {
		t.Fatalf("printVersion: %q, want %q", &out, want)
	}
}
