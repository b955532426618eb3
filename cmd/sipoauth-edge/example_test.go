package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Example shows the program refusing to start without its certificate:
// a usage error, which exits with status 2.
func Example() {
	err := run(context.Background(), nil, io.Discard, nil)
	fmt.Println(err, errors.Is(err, errUsage))
	// Output: usage: -cert and -key are required true
}
