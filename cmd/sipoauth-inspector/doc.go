// Command sipoauth-inspector serves the SIP OAuth inspector: a page where an
// engineer pastes a device configuration file, a PEM certificate chain, a
// token, a Bearer header, a SIP response, a TLS error or a soft client's
// log and sees findings with fixes. The checks run in the browser
// (package wasm compiled to WebAssembly): what is pasted is never sent to
// this server or anywhere else.
//
//	go run ./cmd/sipoauth-inspector [-listen 127.0.0.1:8080] [-go go] [-cache dir]
//	go run ./cmd/sipoauth-inspector -export dir [-go go] [-cache dir]
//
// At every start it builds the WebAssembly program with the go tool of the
// toolchain that `go env GOROOT` names (GOOS=js GOARCH=wasm, -trimpath,
// -ldflags='-s -w') into the cache directory, by default
// $XDG_CACHE_HOME/sipoauth-inspector (see os.UserCacheDir). Go's build
// cache makes a rebuild of unchanged sources quick: only the link step
// runs. It takes wasm_exec.js from the same GOROOT (lib/wasm, or misc/wasm
// before Go 1.24), so that loader and program always match. Run it from
// within the module.
//
// It then serves the page (package wasm/web), wasm_exec.js and
// sipoauth.wasm, compressed with gzip once at start and sent compressed to
// browsers that accept it, and prints the address and the size of the
// program, raw and gzipped. Only GET and HEAD of those files are answered.
// It listens on the loopback interface unless -listen says otherwise.
//
// With -export dir it serves nothing: it writes the page's files into dir
// (index.html, app.js, style.css, wasm_exec.js and sipoauth.wasm, each
// with a gzipped copy name.gz for servers that send precompressed files),
// prints their sizes and exits, so that any static web server can serve
// the page and the toolchain is needed only where the files are made. The
// server should send sipoauth.wasm as application/wasm (the page also
// loads it otherwise, a little slower); the page's Content-Security-Policy
// is in its meta element, and frame-ancestors 'none', which only a header
// can carry, is the server's to add.
package main
