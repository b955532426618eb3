package watch_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sipoauth/sdk/internal/watch"
)

func ExamplePoll() {
	path := filepath.Join(os.TempDir(), "watch-example.txt")
	os.WriteFile(path, []byte("v1"), 0o600)
	defer os.Remove(path)
	content := func() [32]byte { b, _ := os.ReadFile(path); return sha256.Sum256(b) }

	var loaded *[32]byte // nothing loaded yet: the first check loads
	reloaded := make(chan string, 1)
	reload := func() error {
		cur := content()
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		loaded = &cur
		reloaded <- string(b)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go watch.Poll(ctx, 10*time.Millisecond, content, func() *[32]byte { return loaded }, reload, nil)
	fmt.Println(<-reloaded)
	os.WriteFile(path, []byte("v2"), 0o600)
	fmt.Println(<-reloaded)
	// Output:
	// v1
	// v2
}
