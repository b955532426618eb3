//go:build !(js && wasm)

package main

import (
	"fmt"
	"os"
)

// main only says how to build the program: it runs in a browser.
func main() {
	fmt.Fprintln(os.Stderr, "the sipoauth inspector runs in a web browser: build it with\n\tGOOS=js GOARCH=wasm go build -o sipoauth.wasm ./wasm\nor serve it with\n\tgo run ./cmd/sipoauth-inspector")
	os.Exit(2)
}
