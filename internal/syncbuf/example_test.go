package syncbuf_test

import (
	"fmt"
	"sync"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

func Example() {
	var b syncbuf.Buffer
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { b.Write([]byte("x")) })
	}
	wg.Wait()
	fmt.Println(b.String())
	// Output: xxx
}
