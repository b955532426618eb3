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
	// Output: -cert, -key, -jwks and -devices are required
}
