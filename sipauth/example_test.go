package sipauth_test

import (
	"context"
	"fmt"

	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
)

// tokens is a TokenValidator that knows a fixed set of tokens: a product
// with its own token service implements the interface the same way.
type tokens map[string]sipoauth.Identity

func (t tokens) ValidateRequest(_ context.Context, token string, req sipoauth.Request) (sipoauth.Identity, error) {
	id, ok := t[token]
	switch {
	case !ok:
		return sipoauth.Identity{}, sipoauth.ErrBadSignature
	case id.Device != "" && id.Device != req.Device:
		return sipoauth.Identity{}, sipoauth.ErrBindingMismatch
	}
	return id, nil
}

func Example() {
	auth := &sipauth.Bearer{Validator: tokens{"t0k3n": {User: "rado", Device: "CSFrado"}}}
	ctx := context.Background()
	req := sipoauth.Request{Device: "CSFrado", FromUser: "rado"}

	// The first REGISTER carries no credentials: challenged.
	v := auth.Authenticate(ctx, nil, req)
	fmt.Println(v.Status, v.Phrase, v.Reason)
	fmt.Printf("%s: %s\n", v.ChallengeHeader, v.Challenge)

	// The retry carries the token in Cisco's form.
	v = auth.Authenticate(ctx, []string{`Bearer token="t0k3n"`}, req)
	fmt.Println(v.Accepted(), v.Identity.User)

	// A token the validator refuses is challenged with RFC 6750's code.
	v = auth.Authenticate(ctx, []string{`Bearer token="forged"`}, req)
	fmt.Println(v.Status, v.Reason, v.Reason.Class())
	fmt.Printf("%s: %s\n", v.ChallengeHeader, v.Challenge)
	// Output:
	// 407 Proxy Authentication Required no-credentials
	// Proxy-Authenticate: Bearer realm="ccmsipline"
	// true rado
	// 407 bad-signature auth
	// Proxy-Authenticate: Bearer realm="ccmsipline", error="invalid_token"
}
