package web

import (
	"embed"
	"io/fs"
)

// Names of the files the page loads beside its own.
const (
	WasmName     = "sipoauth.wasm" // the checks: GOOS=js GOARCH=wasm go build ./wasm
	WasmExecName = "wasm_exec.js"  // the Go release's loader, $(go env GOROOT)/lib/wasm/wasm_exec.js
)

//go:embed index.html app.js style.css
var files embed.FS

// FS returns the page's files: index.html, app.js and style.css.
func FS() fs.FS { return files }
