package keyfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedFixtures adds every fixture of testdata to f's corpus.
func seedFixtures(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		if filepath.Ext(n) == ".go" {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"kty":"oct","k":"` + string(bytes.Repeat([]byte("A"), 43)) + `"}`))
	f.Add([]byte(nil))
}

// checkErr fails on an error that wraps none of the package's reasons.
func checkErr(t *testing.T, err error) {
	for _, reason := range []error{ErrTooLarge, ErrNoKey, ErrFormat, ErrEncrypted, ErrUnsupportedKey, ErrKeySize, ErrDuplicateID} {
		if errors.Is(err, reason) {
			return
		}
	}
	t.Fatalf("error %v wraps no reason of the package", err)
}

// FuzzParsePublicKeys: whatever comes in, the keys that come out are keys
// the package reads, named by the rule, and a set of them looks them up.
func FuzzParsePublicKeys(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParsePublicKeys(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		for _, k := range keys {
			if err := checkKey(k.Public); err != nil {
				t.Fatalf("key %s read but refused: %v", k.ID, err)
			}
			if fp, err := Fingerprint(k.Public); err != nil || fp != k.Fingerprint || k.ID == "" {
				t.Fatalf("key %q: fingerprint %q, computed %q (%v)", k.ID, k.Fingerprint, fp, err)
			}
		}
		set, err := NewKeySet(keys)
		if err != nil {
			checkErr(t, err)
			return
		}
		for _, k := range keys {
			if got, err := set.Lookup(k.ID, k.Alg); err != nil || got.ID != k.ID {
				t.Fatalf("Lookup(%q): %+v %v", k.ID, got, err)
			}
		}
	})
}

// FuzzParsePEM: the same of PEM data, read by the PEM reader only.
func FuzzParsePEM(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParsePEM(data); err != nil {
			checkErr(t, err)
		}
	})
}

// FuzzParseJWKS: the same of JWKS documents.
func FuzzParseJWKS(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseJWKS(data); err != nil {
			checkErr(t, err)
		}
	})
}

// FuzzParsePrivateKey: a private key read is one the package reads.
func FuzzParsePrivateKey(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKey(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		if err := checkKey(k.Public()); err != nil {
			t.Fatalf("private key read but refused: %v", err)
		}
	})
}

// FuzzParseClusterKeys: every key read is of the size asked for.
func FuzzParseClusterKeys(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, size := range []int{16, ClusterKeySize} {
			keys, err := ParseClusterKeys(data, size)
			if err != nil {
				checkErr(t, err)
				continue
			}
			if len(keys) == 0 {
				t.Fatalf("%q: no keys and no error", data)
			}
			for kid, k := range keys {
				if len(k) != size {
					t.Fatalf("%q: key %q of %d bytes, want %d", data, kid, len(k), size)
				}
			}
		}
	})
}
