package main

import "fmt"

// Example shows how the load target reports the answers it gave: by
// status, in order.
func Example() {
	var c statusCounts
	fmt.Println(c.String())
	for _, s := range []int{407, 200, 407, 200, 503} {
		c.add(s)
	}
	fmt.Println(c.String())
	// Output:
	// nothing
	// 200=2 407=2 503=1
}
