package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// Example shows the program refusing a configuration it cannot serve:
// it says why and exits with status 2.
func Example() {
	var stderr bytes.Buffer
	status := run(context.Background(), []string{"-node-name", "UCM2-PUB"}, io.Discard, &stderr)
	fmt.Println(status, strings.SplitN(stderr.String(), "\n", 2)[0])
	// Output: 2 registrar: bad configuration:
}
