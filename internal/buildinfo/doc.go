// Package buildinfo states a program's version once for every program of
// the module: the module version and the VCS revision the binary was built
// from, read from [runtime/debug.ReadBuildInfo], as its -version flag
// prints them.
//
// A binary built by "go install module@version" carries that version; one
// built in a clone (go build, go install ./cmd/..., go run) carries
// "(devel)", or a pseudo-version computed from the commit, and the
// revision, its time and whether the tree had uncommitted changes
// (vcs.modified) when the go command found a git checkout. [String] says
// "devel" for the first, and leaves out what the binary does not carry.
package buildinfo
