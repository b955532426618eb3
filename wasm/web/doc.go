// Package web holds the SIP OAuth inspector's page: index.html, app.js and
// style.css, embedded so that a server can serve them (cmd/sipoauth-inspector
// does). The page loads WasmExecName and WasmName from its own directory,
// which the server provides beside these files: the checks of package
// inspect compiled to WebAssembly (package wasm) and the Go release's
// wasm_exec.js. It loads nothing else, and once loaded it makes no network
// calls: what is pasted stays in the browser.
//
// Each input area offers samples (the program's sipoauth.samples): a
// button fills the area and its options and checks, so that a first visit
// shows what the checks find. The tabs keep one row (scrolling sideways
// when the column is narrow), each file control is a label for a hidden
// input; below 900 px the page is one column, below 600 px the findings
// are cards.
//
// The page keeps a stable structure for tests and tools: each finding is
// a row tr.finding with data-code and data-severity; the result JSON of
// the last check is in window.sipoauthLast and #result-json; #output's
// data-seq counts the results shown and data-sample names the sample
// checked last, if any.
package web
