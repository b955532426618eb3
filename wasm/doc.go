// Command wasm is the SIP OAuth inspector that runs in a web browser: an
// engineer pastes a device configuration file, a PEM certificate chain, a
// token, a Bearer header, a SIP response, a TLS error or a soft client's
// log into the page (package web), and sees findings with fixes and a
// decoded view. The checks are those of package inspect, compiled to
// WebAssembly and run in the page: nothing is sent to a server.
//
// Build it with
//
//	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o sipoauth.wasm ./wasm
//
// and serve it beside the page and the wasm_exec.js of the same Go
// release ($(go env GOROOT)/lib/wasm/wasm_exec.js); cmd/sipoauth-inspector
// does all three:
//
//	go run ./cmd/sipoauth-inspector
//
// The program defines one global JavaScript object, sipoauth:
//
//	sipoauth.version                      // e.g. "(devel) go1.26.8"
//	sipoauth.check(kind, text, options)   // the inspect.Result as a JSON string
//	sipoauth.detect(text)                 // "cnf", "cert", ..., or "" when unknown
//	sipoauth.samples                      // the samples the page offers, as a JSON string
//
// kind is one of cnf, cert, token, header, response, tls, log, or "" to
// detect it. options is a JSON string (or a plain object) with the
// optional fields now (RFC 3339), role ("node" or "edge"), host,
// deployment ("on-premises" or "mra") and side ("node" or "edge"). When
// the check cannot run, check returns {"error": "..."} instead of a
// result. samples is an array of objects: id, area (the page's input
// area: cnf, cert, token, header, log or auto), label, title, kind,
// options (as check takes them), expect (findings the check gives for it,
// as "severity code"; none means no findings) and text. They are copies
// of the repository's test inputs (a good and a broken configuration
// file, an expired certificate chain, an expired token, a Bearer
// challenge, the 403 port mismatch, a TLS error and a Jabber log), built
// into the program. Once the object is defined the program calls the global
// function sipoauthReady, if the page defined one.
//
// The program makes no network calls, and it does not import net/http,
// crypto/tls or the JWT libraries, to keep the download small. Built for
// any other platform it only prints how to build it.
package main
