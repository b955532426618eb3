package main

import (
	"bytes"
	"fmt"
	"strings"
)

// Example runs the program and shows the answers of its two exchanges:
// Unified CM's challenge, then RFC 8898's, which refuses the expired token
// before it takes the valid one.
func Example() {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		fmt.Println(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "===") || strings.HasPrefix(line, "<-- SIP/2.0 ") {
			fmt.Println(line)
		}
	}
	// Output:
	// === Unified CM dialect: Jabber registers on port 5090 ===
	// <-- SIP/2.0 407 Proxy Authentication Required
	// <-- SIP/2.0 200 OK
	// === RFC 8898 dialect, with an expired token first ===
	// <-- SIP/2.0 401 Unauthorized
	// <-- SIP/2.0 401 Unauthorized
	// <-- SIP/2.0 200 OK
}
