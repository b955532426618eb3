package testoidc_test

import (
	"context"
	"testing"

	"github.com/sipoauth/sdk/internal/testoidc"
	"github.com/sipoauth/sdk/sipoauth"
)

// A test starts the provider and reads its metadata; the provider stops
// with the test. (Not run as an example: it needs node and oidc-provider.)
func Example() {
	_ = func(t *testing.T) {
		p := testoidc.Start(t)
		if _, err := sipoauth.Discover(context.Background(), p.Issuer, nil); err != nil {
			t.Fatal(err)
		}
	}
}
