package loaddevices_test

import (
	"fmt"

	"github.com/sipoauth/sdk/internal/loaddevices"
)

func Example() {
	fmt.Println(loaddevices.DeviceName(7), loaddevices.UserName(7))
	// Output: CSFload00007 load00007
}
