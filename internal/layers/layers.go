package layers

import (
	"slices"
	"strings"
)

// layerOf gives each package of the module, by its path below the module, its
// layer: 0 facts (standard library and little else), 1 parsers, 2 core,
// 3 SIP, 4 optional backends, 5 programs. A package imports packages of
// its own layer or lower ones. Internal helpers not listed are -1: any
// layer may use them, and they import no layered package.
var layerOf = map[string]int{
	"bearer": 0, "ucm": 0, "diag": 0, "keyfile": 0, "wasm/web": 0,
	"cnfxml": 1, "certcheck": 1, "clientlog": 1,
	"sipoauth": 2, "issuer": 2, "mtlstrust": 2, "edgetable": 2, "inspect": 2,
	"sipauth": 3, "siplimit": 3, "sipserve": 3, "registrar": 3, "client": 3, "edge": 3,
	"internal/filekeys":    2, // keyfile's keys as a sipoauth.KeySource, for programs
	"internal/testnode":    3, // a node for the client programs' tests
	"internal/loaddevices": 2, // the load tests' devices and their tokens
	"redisstore":           4, "prommetrics": 4,
	"wasm": 5,
}

// programs are the directories whose packages are programs (layer 5):
// nothing imports them.
var programs = []string{"cmd/", "examples/", "bench/"}

// Of returns the layer of a package, by its path below the module; false
// for a package the layers do not know.
func Of(rel string) (int, bool) {
	if l, ok := layerOf[rel]; ok {
		return l, true
	}
	if strings.HasPrefix(rel, "internal/") {
		return -1, true
	}
	for _, p := range programs {
		if strings.HasPrefix(rel, p) {
			return 5, true
		}
	}
	return 0, false
}

// Forbidden returns the modules a package must not link.
func Forbidden(rel string) []string { return slices.Clone(forbidden[rel]) }

// Checked returns the packages Forbidden or Only say something of.
func Checked() []string {
	return slices.Compact(slices.Sorted(func(yield func(string) bool) {
		for p := range forbidden {
			if !yield(p) {
				return
			}
		}
		for p := range only {
			if !yield(p) {
				return
			}
		}
	}))
}

// forbidden lists, for a package, what it must not link (import path
// prefixes): the SIP stack for the packages any SIP stack can use, the
// optional backends for the registrar (each lives in a package of its
// own, so a product links only the backends it uses), the lab issuer for
// the validator (which validates and never mints, and whose tests import
// the issuer).
var forbidden = map[string][]string{
	"bearer": {Sipgo}, "cnfxml": {Sipgo}, "certcheck": {Sipgo}, "mtlstrust": {Sipgo}, "edgetable": {Sipgo},
	"issuer": {Sipgo}, "sipoauth": {Sipgo, Module + "issuer"},
	"registrar": {Redis, Prometheus},
}

// only lists, for a package that every other may use (the browser build
// among them), everything outside the standard library it may link,
// itself aside: nothing for the packages of facts and the internal
// helpers, jwkset for keyfile. A package listed here with nothing counts
// as the standard library for the others.
var only = map[string][]string{
	"ucm": {}, "diag": {}, "bearer": {},
	"internal/bounded": {}, "internal/watch": {}, "internal/defaults": {}, "internal/chans": {},
	"keyfile": {
		"github.com/MicahParks/jwkset", "golang.org/x/time/rate", // jwkset's
	},
}

// Only returns everything outside the standard library a package may
// link, and whether the package has such a rule.
func Only(rel string) ([]string, bool) {
	o, ok := only[rel]
	return slices.Clone(o), ok
}

// Module is the module's path, with its slash.
const Module = "github.com/sipoauth/sdk/"

// Modules Forbidden names.
const (
	Sipgo      = "github.com/emiago/sipgo"
	Redis      = "github.com/redis/go-redis/"
	Prometheus = "github.com/prometheus/"
)
