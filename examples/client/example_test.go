package main

import (
	"context"
	"fmt"
	"io"
)

// Example shows the program refusing to start without what it needs.
func Example() {
	err := run(context.Background(), nil, io.Discard, io.Discard)
	fmt.Println(err)
	// Output: -config and -device are required, and one of -token, -token-url with -refresh-token, or -login with -issuer and -client-id
}
