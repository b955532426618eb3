package registrar

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/issuer"
)

// BenchmarkServeCachedToken runs a refresh REGISTER through the whole
// pipeline with a token already validated: the registrar's own cost.
func BenchmarkServeCachedToken(b *testing.B) {
	reg, iss := unitRegistrar(b, true)
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	raw := fmt.Sprintf(rawRegister, csfContact+"\nProxy-Authorization: Bearer token=\""+tok+"\"")
	b.ReportAllocs()
	cseq := 3000
	for b.Loop() {
		cseq++
		req := parseRequest(b, strings.Replace(raw, "CSeq: 2270", fmt.Sprintf("CSeq: %d", cseq), 1))
		res, _ := reg.Serve(context.Background(), req, fakeTx{})
		if res.StatusCode != 200 {
			b.Fatal(res.StatusCode)
		}
	}
}
