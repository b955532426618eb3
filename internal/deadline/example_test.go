package deadline_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sipoauth/sdk/internal/deadline"
)

func Example() {
	ctx := deadline.New(context.Background(), 5*time.Second)
	defer ctx.Release()
	_, ok := ctx.Deadline()
	fmt.Println(ok, ctx.Err())
	// Output: true <nil>
}
