package keyfile_test

import (
	"encoding/hex"
	"fmt"
	"os"

	"github.com/sipoauth/sdk/keyfile"
)

// A Unified CM AUTHZ key given as PEM answers to the key id its tokens
// carry, "<cluster-uuid>:<fingerprint>"; the cluster key that decrypts
// their private claims may come in any of its forms.
func Example() {
	pemData, err := os.ReadFile("testdata/ok-p256-certificate.pem")
	if err != nil {
		panic(err)
	}
	keys, err := keyfile.ParseKeySet(pemData)
	if err != nil {
		panic(err)
	}
	k := keys.Keys()[0]
	kid := "0e4bd1d7-5b5e-4a1c-9d1f-0c5f0ad3f0a1:" + k.Fingerprint
	found, err := keys.Lookup(kid, "ES256")
	fmt.Println(found.From, found.ID == k.Fingerprint, err)

	_, err = keys.Lookup("another-key", "ES256")
	fmt.Println(err)

	for _, in := range []string{
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\n",
		`{"kty":"oct","kid":"cluster-1","k":"oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8"}`,
		`{"cluster-1": "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8="}`,
		"a0a1a2a3\n",
	} {
		m, err := keyfile.ParseClusterKeys([]byte(in), keyfile.ClusterKeySize)
		for kid, key := range m {
			fmt.Printf("kid %q: %s…\n", kid, hex.EncodeToString(key[:4]))
		}
		if err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// certificate true <nil>
	// keyfile: no key "another-key"
	// kid "": a0a1a2a3…
	// kid "cluster-1": a0a1a2a3…
	// kid "cluster-1": a0a1a2a3…
	// keyfile: cluster key: 4 bytes, want 32
}
