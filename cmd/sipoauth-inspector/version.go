package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/sipoauth/sdk/internal/buildinfo"
)

// showVersion is the -version flag: print the version and exit.
var showVersion = flag.Bool("version", false, "print the version (module version and VCS revision) and exit")

// printVersion writes the program's version line to w.
func printVersion(w io.Writer) { fmt.Fprintln(w, buildinfo.String("sipoauth-inspector")) }
