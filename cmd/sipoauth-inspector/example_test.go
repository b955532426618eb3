package main

import (
	"fmt"
	"net/http/httptest"

	"github.com/sipoauth/sdk/wasm/web"
)

// The handler sends the program gzipped to a browser that accepts it,
// with the type browsers need to compile it while it downloads.
func Example_handler() {
	program := make([]byte, 100_000) // stands for sipoauth.wasm
	copy(program, "\x00asm\x01\x00\x00\x00")
	h, err := newHandler(web.FS(), program, []byte("// wasm_exec.js"))
	if err != nil {
		panic(err)
	}
	for _, enc := range []string{"gzip, deflate, br", ""} {
		r := httptest.NewRequest("GET", "/sipoauth.wasm", nil)
		if enc != "" {
			r.Header.Set("Accept-Encoding", enc)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Encoding"), w.Header().Get("Content-Length"))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	fmt.Println(w.Code, w.Header().Get("Allow"))
	// Output:
	// 200 application/wasm gzip 142
	// 200 application/wasm  100000
	// 405 GET, HEAD
}
