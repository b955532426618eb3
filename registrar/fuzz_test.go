package registrar

import (
	"context"
	"fmt"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/issuer"
)

// FuzzServe feeds REGISTERs that sipgo parses to the registrar: it must
// answer each with a final response and never panic.
func FuzzServe(f *testing.F) {
	reg, iss := unitRegistrar(f, true)
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	for _, extra := range []string{
		csfContact,
		csfContact + "\nProxy-Authorization: Bearer token=\"" + tok + "\"",
		"Contact: *\nProxy-Authorization: Bearer " + tok,
		"Contact: <sip:@x>;expires=abc",
		"",
	} {
		f.Add([]byte(fmt.Sprintf(rawRegister, extra)))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		msg, err := sip.ParseMessage(raw)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.Method != sip.REGISTER {
			return
		}
		res, r := reg.Serve(context.Background(), req, fakeTx{})
		if res == nil || res.StatusCode < 200 || r == nil {
			t.Fatalf("no final answer to %q", raw)
		}
	})
}
