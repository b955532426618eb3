package loaddevices

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipoauth/sdk/issuer"
)

// UserName is the user who owns load device i.
func UserName(i int) string { return fmt.Sprintf("load%05d", i) }

// DeviceName is the name of load device i.
func DeviceName(i int) string { return fmt.Sprintf("CSFload%05d", i) }

// Mint mints one token of iss for each of the devices 0 to n-1, for its
// owner, valid for ttl, on all CPUs; tokens[i] is device i's.
func Mint(iss *issuer.Issuer, n int, ttl time.Duration) ([]string, error) {
	tokens := make([]string, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				tokens[i], errs[i] = iss.Mint(issuer.TokenRequest{User: UserName(i), Device: DeviceName(i), TTL: ttl})
			}
		})
	}
	wg.Wait()
	return tokens, errors.Join(errs...)
}
