package ucmtoken_test

import (
	"fmt"

	"github.com/sipoauth/sdk/internal/ucmtoken"
)

// The headers and claims that tell Unified CM's two token shapes apart.
func Example() {
	fmt.Printf("nested access token: alg %s, typ %s, claim %q: JWE alg %s, enc %s\n",
		ucmtoken.OuterAlg, ucmtoken.OuterType, ucmtoken.ClaimPrivate, ucmtoken.KeyAlg, ucmtoken.ContentEnc)
	fmt.Printf("refresh token: typ %s, %s %q\n", ucmtoken.OuterType, ucmtoken.ClaimCType, ucmtoken.RefreshCType)
	// Output:
	// nested access token: alg RS256, typ JWT, claim "private": JWE alg dir, enc A128CBC-HS256
	// refresh token: typ JWT, ctyp "refresh"
}

// The refresh markers: Unified CM's ctyp, and the words other issuers use.
func ExampleIsRefreshMarker() {
	for _, w := range []string{"refresh", "Refresh_Token", "rt+jwt", "JWT", "user"} {
		fmt.Println(w, ucmtoken.IsRefreshMarker(w))
	}
	// Output:
	// refresh true
	// Refresh_Token true
	// rt+jwt true
	// JWT false
	// user false
}
