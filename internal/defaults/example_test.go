package defaults_test

import (
	"fmt"
	"time"

	"github.com/sipoauth/sdk/internal/defaults"
)

func ExamplePositive() {
	fmt.Println(defaults.Positive(0, 10*time.Second))
	fmt.Println(defaults.Positive(-time.Second, 10*time.Second))
	fmt.Println(defaults.Positive(3*time.Second, 10*time.Second))
	// Output:
	// 10s
	// 10s
	// 3s
}
