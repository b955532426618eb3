package loaddevices

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
)

// TestMint: each device's token names its device and owner.
func TestMint(t *testing.T) {
	iss, err := issuer.New(issuer.Config{Issuer: "https://load.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := Mint(iss, 5, time.Hour)
	if err != nil || len(tokens) != 5 {
		t.Fatalf("%d tokens, %v", len(tokens), err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, Issuers: []string{"https://load.invalid"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, tok := range tokens {
		id, err := v.Validate(context.Background(), tok)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if id.User != UserName(i) || id.Device != DeviceName(i) {
			t.Errorf("token %d: user %q device %q", i, id.User, id.Device)
		}
	}
}
