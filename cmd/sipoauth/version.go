package main

import (
	"fmt"

	"github.com/sipoauth/sdk/internal/buildinfo"
)

// version prints the program's version line: the module version and the
// VCS revision it was built from.
func (e *env) version(args []string) int {
	if len(args) > 0 {
		fmt.Fprintf(e.stderr, "usage: sipoauth version\n")
		return exitUsage
	}
	fmt.Fprintln(e.stdout, buildinfo.String("sipoauth"))
	return exitOK
}
