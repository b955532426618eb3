package layers

// Of gives each package of the module, by its path below the module, its
// layer: 0 facts (standard library and little else), 1 parsers, 2 core,
// 3 SIP, 4 optional backends, 5 programs. A package imports packages of
// its own layer or lower ones. Internal helpers not listed are -1: any
// layer may use them, and they import no layered package.
var Of = map[string]int{
	"bearer": 0, "ucm": 0, "diag": 0, "keyfile": 0, "wasm/web": 0,
	"cnfxml": 1, "certcheck": 1, "clientlog": 1,
	"sipoauth": 2, "issuer": 2, "mtlstrust": 2, "edgetable": 2, "inspect": 2,
	"sipauth": 3, "siplimit": 3, "registrar": 3, "client": 3, "edge": 3,
	"internal/filekeys": 2, // keyfile's keys as a sipoauth.KeySource, for programs
	"redisstore": 4, "prommetrics": 4,
	"wasm": 5,
}

// Programs are the directories whose packages are programs (layer 5):
// nothing imports them.
var Programs = []string{"cmd/", "examples/", "bench/"}

// Forbidden lists, for a package, modules it must not link: the SIP
// stack for the packages any SIP stack can use, the optional backends
// for the registrar.
var Forbidden = map[string][]string{
	"bearer": {Sipgo}, "ucm": {Sipgo}, "diag": {Sipgo}, "keyfile": {Sipgo}, "cnfxml": {Sipgo},
	"certcheck": {Sipgo}, "sipoauth": {Sipgo}, "mtlstrust": {Sipgo}, "edgetable": {Sipgo}, "issuer": {Sipgo},
	"registrar": {Redis, Prometheus},
}

// Modules named by Forbidden.
const (
	Sipgo      = "github.com/emiago/sipgo"
	Redis      = "github.com/redis/go-redis/"
	Prometheus = "github.com/prometheus/"
)
