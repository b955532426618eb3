package bounded_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sipoauth/sdk/internal/bounded"
)

func ExampleReadAll() {
	b, err := bounded.ReadAll(strings.NewReader("[]"), 64)
	fmt.Printf("%s %v\n", b, err)
	_, err = bounded.ReadAll(strings.NewReader(strings.Repeat("x", 65)), 64)
	fmt.Println(err, errors.Is(err, bounded.ErrTooLarge))
	// Output:
	// [] <nil>
	// larger than 64 bytes true
}
