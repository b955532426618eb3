package buildinfo_test

import (
	"fmt"
	"runtime/debug"

	"github.com/sipoauth/sdk/internal/buildinfo"
)

// A binary built by go install github.com/sipoauth/sdk/cmd/sipoauth@v0.1.0
// carries its version; one built in a clone carries (devel) and the commit.
func ExampleFormat() {
	released := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.1.0"}}
	fmt.Println(buildinfo.Format("sipoauth", released))

	clone := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "01b8725c3f1e9a7d2b4c6e8f0a1b2c3d4e5f6a7b"},
			{Key: "vcs.time", Value: "2026-12-07T01:20:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	fmt.Println(buildinfo.Format("sipoauth", clone))
	// Output:
	// sipoauth v0.1.0 go1.26.8
	// sipoauth devel (rev 01b8725c3f1e, 2026-12-07T01:20:00Z, modified) go1.26.8
}
