package main

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/keyforms"
)

// TestKeyForms: the registrar reads the signing key and the cluster key in
// every form keyforms writes (the edge proxy's and sipoauth token verify's
// tests read the same forms), and registers a nested token with Unified
// CM's "<uuid>:<fingerprint>" kid with each.
func TestKeyForms(t *testing.T) {
	f := newFixture(t)
	kid, key := f.issuer.EncryptionKey()
	pairs, err := keyforms.Pairs(t.TempDir(), f.issuer.PublicKeyPEM(), f.issuer.JWKS(), kid, key)
	if err != nil {
		t.Fatal(err)
	}
	register := func(t *testing.T, keys, dk string) {
		r := f.start("-edge", "", "-keys", keys, "-decryption-key", dk)
		c := f.client(r.addr("oauth", "tls"), "TLS", nil)
		req := c.register("CSFrado", "rado")
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`))
		if res := c.do(t, req); res.StatusCode != 200 {
			t.Fatalf("nested token:\n%s", res)
		}
	}
	for _, p := range pairs {
		t.Run(p.Name, func(t *testing.T) { register(t, p.Signing, p.Cluster) })
	}
}
