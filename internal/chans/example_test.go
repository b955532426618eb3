package chans_test

import (
	"fmt"

	"github.com/sipoauth/sdk/internal/chans"
)

func ExampleClosed() {
	done := make(chan struct{})
	fmt.Println(chans.Closed(done))
	close(done)
	fmt.Println(chans.Closed(done))
	// Output:
	// false
	// true
}
