package web_test

import (
	"fmt"
	"io/fs"

	"github.com/sipoauth/sdk/wasm/web"
)

// The files a server serves for the page, besides WasmName and
// WasmExecName.
func Example() {
	names, _ := fs.Glob(web.FS(), "*")
	fmt.Println(names)
	fmt.Println(web.WasmName, web.WasmExecName)
	// Output:
	// [app.js index.html style.css]
	// sipoauth.wasm wasm_exec.js
}
