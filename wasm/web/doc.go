// Package web holds the SIP OAuth inspector's page: index.html, app.js and
// style.css, embedded so that a server can serve them (cmd/sipoauth-inspector
// does). The page loads WasmExecName and WasmName from its own directory,
// which the server provides beside these files: the checks of package
// inspect compiled to WebAssembly (package wasm) and the Go release's
// wasm_exec.js. It loads nothing else, and once loaded it makes no network
// calls: what is pasted stays in the browser.
//
// The page keeps a stable structure for tests and tools: each finding is
// a row tr.finding with data-code and data-severity; the result JSON of
// the last check is in window.sipoauthLast and #result-json; #output's
// data-seq counts the results shown.
package web
