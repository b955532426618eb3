package ucm_test

import (
	"fmt"

	"github.com/sipoauth/sdk/ucm"
)

// Example writes the port mismatch's Warning as a node sends it and reads
// it back as a client does.
func Example() {
	w := ucm.PortMismatchWarning("UCM2-PUB")
	fmt.Println("Warning:", w)
	fmt.Println("Retry-After:", int(ucm.PortMismatchRetryAfter.Seconds()))

	node, ok := ucm.PortMismatchNode(w.String())
	fmt.Println(node, ok)
	// Output:
	// Warning: 399 UCM2-PUB "SIP OAuth Registration port Mismatch"
	// Retry-After: 35
	// UCM2-PUB true
}

func ExampleParseWarnings() {
	ws, err := ucm.ParseWarnings(`307 isi.edu "Session parameter 'foo' not understood", 399 - "a \"quoted\" word"`)
	fmt.Println(err)
	for _, w := range ws {
		fmt.Printf("%d %s %s\n", w.Code, w.Agent, w.Text)
	}
	// Output:
	// <nil>
	// 307 isi.edu Session parameter 'foo' not understood
	// 399 - a "quoted" word
}
