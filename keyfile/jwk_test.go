package keyfile

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestParseSingleJWK: a JWK alone reads as the set of that key, with its
// kid; an object that is neither a set nor a key has no keys.
func TestParseSingleJWK(t *testing.T) {
	data := fixture(t, "ok-jwks-rsa-with-kid-and-ec-without.json")
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("testdata: %v", err)
	}
	fromSet, err := ParseJWKS(data)
	if err != nil {
		t.Fatal(err)
	}
	one, err := ParsePublicKeys(set.Keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].ID != fromSet[0].ID || one[0].From != FromJWK {
		t.Fatalf("single JWK: %+v, want the set's first key %+v", one, fromSet[0])
	}
	if _, err := ParseJWKS([]byte(`{"kid":"k1"}`)); !errors.Is(err, ErrNoKey) {
		t.Errorf("an object without kty: %v", err)
	}
}
