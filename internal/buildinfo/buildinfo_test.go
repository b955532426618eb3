package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "-compiler", Value: "gc"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "01b8725c3f1e9a7d2b4c6e8f0a1b2c3d4e5f6a7b"},
		{Key: "vcs.time", Value: "2026-12-07T01:20:00Z"},
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "prog devel"},
		{"released", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/sipoauth/sdk", Version: "v0.1.0"}},
			"prog v0.1.0 go1.26.8"},
		{"devel in a clean clone", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"prog devel (rev 01b8725c3f1e, 2026-12-07T01:20:00Z) go1.26.8"},
		{"devel, modified", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: append(vcs[:4:4], debug.BuildSetting{Key: "vcs.modified", Value: "true"})},
			"prog devel (rev 01b8725c3f1e, 2026-12-07T01:20:00Z, modified) go1.26.8"},
		{"pseudo-version, not modified", &debug.BuildInfo{GoVersion: "go1.26.8",
			Main:     debug.Module{Version: "v0.1.1-0.20261207012000-01b8725c3f1e"},
			Settings: append(vcs[:4:4], debug.BuildSetting{Key: "vcs.modified", Value: "false"})},
			"prog v0.1.1-0.20261207012000-01b8725c3f1e (rev 01b8725c3f1e, 2026-12-07T01:20:00Z) go1.26.8"},
		{"short revision, no time", &debug.BuildInfo{Main: debug.Module{Version: ""},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}},
			"prog devel (rev abc123)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format("prog", tt.bi); got != tt.want {
				t.Errorf("Format = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	// A test binary carries build information; its main module is this
	// module, at no released version.
	got := String("sipoauth")
	if !strings.HasPrefix(got, "sipoauth ") {
		t.Fatalf("String = %q, want the program's name first", got)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("test binary without build information")
	}
	if want := Format("sipoauth", bi); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if !strings.HasSuffix(got, bi.GoVersion) {
		t.Errorf("String = %q, want it to end with %s", got, bi.GoVersion)
	}
}
