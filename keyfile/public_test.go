package keyfile

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyShape says what a key is, for the tables: "RSA 2048", "P-256",
// "Ed25519".
func keyShape(k Key) string {
	switch p := k.Public.(type) {
	case *rsa.PublicKey:
		return "RSA " + strconv.Itoa(p.N.BitLen())
	case *ecdsa.PublicKey:
		return p.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return "?"
}

// publicCases are the fixtures of ParsePublicKeys: the keys they give, as
// "shape from id-or-fp alg", or the reason and a piece of the message.
var publicCases = []struct {
	file    string
	want    []string
	reason  error
	message string
}{
	{file: "ok-rsa2048-public-key.pem", want: []string{"RSA 2048 public key fp"}},
	{file: "ok-rsa2048-pkcs1-public-key.pem", want: []string{"RSA 2048 public key fp"}},
	{file: "ok-p256-certificate.pem", want: []string{"P-256 certificate fp"}},
	{file: "ok-rsa2048-pkcs1-private-key.pem", want: []string{"RSA 2048 private key fp"}},
	{file: "ok-ed25519-pkcs8-private-key.pem", want: []string{"Ed25519 private key fp"}},
	{file: "ok-p384-sec1-private-key-after-ec-parameters.pem", want: []string{"P-384 private key fp"}},
	{file: "ok-two-keys-second-with-key-id.pem", want: []string{"P-256 public key fp", "P-384 public key authz-2"}},
	{file: "ok-public-key-between-comments.pem", want: []string{"P-256 public key fp"}},
	{file: "ok-jwks-rsa-with-kid-and-ec-without.json", want: []string{"RSA 2048 JWK rsa-1 RS256", "P-256 JWK fp"}},
	{file: "ok-jwks-private-ec-key.json", want: []string{"P-256 JWK ec-private"}},
	// Two keys under one id are NewKeySet's business, not the parser's.
	{file: "same-key-twice.pem", want: []string{"P-256 public key fp", "P-256 public key fp"}},

	{file: "rsa1024-public-key-under-2048-bits.pem", reason: ErrUnsupportedKey, message: "keyfile: PEM block 1 (PUBLIC KEY): RSA key of 1024 bits, under 2048"},
	{file: "rsa1024-private-key-under-2048-bits.pem", reason: ErrUnsupportedKey, message: "keyfile: PEM block 1 (RSA PRIVATE KEY): RSA key of 1024 bits, under 2048"},
	{file: "p224-public-key-curve-unsupported.pem", reason: ErrUnsupportedKey, message: "keyfile: PEM block 1 (PUBLIC KEY): elliptic curve P-224; want P-256, P-384 or P-521"},
	{file: "dsa-certificate-key-type-unsupported.pem", reason: ErrUnsupportedKey, message: "keyfile: PEM block 1 (CERTIFICATE): key type *dsa.PublicKey; want RSA, ECDSA or Ed25519"},
	{file: "encrypted-private-key.pem", reason: ErrEncrypted, message: "keyfile: PEM block 1 (ENCRYPTED PRIVATE KEY): encrypted private keys are not supported"},
	{file: "unexpected-x509-crl-block.pem", reason: ErrFormat, message: `keyfile: PEM block 1: unexpected "X509 CRL" block; want PUBLIC KEY, CERTIFICATE or a private key`},
	{file: "garbage-der-in-public-key.pem", reason: ErrFormat, message: "keyfile: PEM block 1 (PUBLIC KEY): asn1: structure error"},
	{file: "garbage-der-in-rsa-private-key.pem", reason: ErrFormat, message: "keyfile: PEM block 1 (RSA PRIVATE KEY): asn1: structure error"},
	{file: "no-pem-blocks.txt", reason: ErrNoKey, message: "keyfile: no public key, certificate or private key in PEM data"},
	{file: "jwks-empty-keys.json", reason: ErrNoKey, message: "keyfile: the JWKS document has no keys"},
	{file: "jwks-truncated.json", reason: ErrFormat, message: `keyfile: not a JWKS document {"keys": [...]}: unexpected end of JSON input`},
	{file: "jwks-key-without-kty.json", reason: ErrFormat, message: "keyfile: JWKS key 1: "},
	{file: "jwks-rsa1024-under-2048-bits.json", reason: ErrUnsupportedKey, message: `keyfile: JWKS key 1 (kid "weak"): RSA key of 1024 bits, under 2048`},
	{file: "jwks-x25519-key-type-unsupported.json", reason: ErrUnsupportedKey, message: `keyfile: JWKS key 1 (kid "enc"): key type *ecdh.PublicKey; want RSA, ECDSA or Ed25519`},
	{file: "jwks-oct-key-not-a-public-key.json", reason: ErrUnsupportedKey, message: `keyfile: JWKS key 1 (kid "hmac"): key type []uint8; want RSA, ECDSA or Ed25519`},
}

func TestParsePublicKeys(t *testing.T) {
	for _, tc := range publicCases {
		t.Run(tc.file, func(t *testing.T) {
			keys, err := ParsePublicKeys(fixture(t, tc.file))
			if tc.reason != nil {
				if !errors.Is(err, tc.reason) || !strings.HasPrefix(err.Error(), tc.message) {
					t.Fatalf("error %v, want %v starting %q", err, tc.reason, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range keys {
				fp, err := Fingerprint(k.Public)
				if err != nil || fp != k.Fingerprint || len(fp) != 64 || strings.ToLower(fp) != fp {
					t.Errorf("key %s: fingerprint %q, computed %q %v", k.ID, k.Fingerprint, fp, err)
				}
				id := k.ID
				if id == k.Fingerprint {
					id = "fp"
				}
				s := keyShape(k) + " " + k.From.String() + " " + id
				if k.Alg != "" {
					s += " " + k.Alg
				}
				got = append(got, s)
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("keys %q, want %q", got, tc.want)
			}
		})
	}
}

// TestParsePEMAndJWKS: each reader refuses the other's format, in words
// that name its own.
func TestParsePEMAndJWKS(t *testing.T) {
	if _, err := ParsePEM(fixture(t, "ok-jwks-private-ec-key.json")); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "PEM") {
		t.Errorf("ParsePEM of a JWKS: %v", err)
	}
	if _, err := ParseJWKS(fixture(t, "ok-rsa2048-public-key.pem")); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "not a JWKS document") {
		t.Errorf("ParseJWKS of a PEM: %v", err)
	}
	// A PEM private key is one that a public key reader takes the public
	// half of; a JWKS's private key too.
	keys, err := ParseJWKS(fixture(t, "ok-jwks-private-ec-key.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys[0].Public.(*ecdsa.PublicKey); !ok {
		t.Errorf("private JWK read as %T", keys[0].Public)
	}
}

func TestSizeBounds(t *testing.T) {
	big := make([]byte, MaxSize+1)
	for name, parse := range map[string]func([]byte) error{
		"ParsePublicKeys": func(b []byte) error { _, err := ParsePublicKeys(b); return err },
		"ParsePEM":        func(b []byte) error { _, err := ParsePEM(b); return err },
		"ParseJWKS":       func(b []byte) error { _, err := ParseJWKS(b); return err },
		"ParsePrivateKey": func(b []byte) error { _, err := ParsePrivateKey(b); return err },
		"ParseClusterKeys": func(b []byte) error {
			_, err := ParseClusterKeys(b[:MaxClusterKeysSize+1], ClusterKeySize)
			return err
		},
	} {
		if err := parse(big); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s of %d bytes: %v", name, len(big), err)
		}
	}
	p := filepath.Join(t.TempDir(), "big.pem")
	if err := os.WriteFile(p, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(p); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), p) {
		t.Errorf("ReadFile of %d bytes: %v", len(big), err)
	}
}

func TestFingerprintRefusesUnknownTypes(t *testing.T) {
	if _, err := Fingerprint(struct{}{}); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("Fingerprint(struct{}{}): %v", err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := Fingerprint(&k.PublicKey); err != nil {
		t.Error(err)
	}
}
