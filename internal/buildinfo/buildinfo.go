package buildinfo

import (
	"runtime/debug"
	"strings"
)

// String returns the line a program's -version flag prints: the program's
// name, the module version ("devel" when the binary carries none, as with
// go build in a clone), and the VCS revision, its commit time and
// "modified" when the binary records them, then the Go version. For
// example:
//
//	sipoauth-registrar v0.1.0 (rev 01b8725c3f1e, 2026-12-07T01:20:00Z) go1.26.8
//	sipoauth devel (rev 01b8725c3f1e, 2026-12-07T01:20:00Z, modified) go1.26.8
func String(program string) string {
	bi, _ := debug.ReadBuildInfo() // nil without build information
	return Format(program, bi)
}

// Format is [String] for the build information bi; a nil bi (a binary
// built without module support) gives "devel" and no revision.
func Format(program string, bi *debug.BuildInfo) string {
	var b strings.Builder
	b.WriteString(program)
	b.WriteByte(' ')
	version := ""
	if bi != nil {
		version = bi.Main.Version
	}
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	b.WriteString(version)
	if bi == nil {
		return b.String()
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		b.WriteString(" (rev ")
		b.WriteString(rev)
		if at != "" {
			b.WriteString(", ")
			b.WriteString(at)
		}
		if modified {
			b.WriteString(", modified")
		}
		b.WriteByte(')')
	}
	if bi.GoVersion != "" {
		b.WriteByte(' ')
		b.WriteString(bi.GoVersion)
	}
	return b.String()
}
