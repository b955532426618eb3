package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// Example runs the whole deployment and prints the verdict's first word
// and the exit status.
func Example() {
	var out, errs bytes.Buffer
	status := run(context.Background(), nil, &out, &errs)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	fmt.Println(strings.Fields(lines[len(lines)-1])[0], status)
	// Output: OK: 0
}
