package keyfile

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
)

func TestParsePrivateKey(t *testing.T) {
	for _, tc := range []struct {
		file    string
		want    string // the key's type
		reason  error
		message string
	}{
		{file: "ok-rsa2048-pkcs1-private-key.pem", want: "RSA"},
		{file: "ok-ed25519-pkcs8-private-key.pem", want: "Ed25519"},
		{file: "ok-p384-sec1-private-key-after-ec-parameters.pem", want: "ECDSA"},
		{file: "rsa1024-private-key-under-2048-bits.pem", reason: ErrUnsupportedKey, message: "keyfile: PEM block 1 (RSA PRIVATE KEY): RSA key of 1024 bits, under 2048"},
		{file: "encrypted-private-key.pem", reason: ErrEncrypted, message: "keyfile: PEM block 1 (ENCRYPTED PRIVATE KEY): encrypted private keys are not supported"},
		{file: "garbage-der-in-rsa-private-key.pem", reason: ErrFormat, message: "keyfile: PEM block 1 (RSA PRIVATE KEY): asn1: structure error"},
		{file: "public-key-only-no-private-key.pem", reason: ErrNoKey, message: "keyfile: no private key in PEM data"},
		{file: "no-pem-blocks.txt", reason: ErrNoKey, message: "keyfile: no private key in PEM data"},
		// Blocks other than private keys are skipped, whatever they are.
		{file: "unexpected-x509-crl-block.pem", reason: ErrNoKey, message: "keyfile: no private key in PEM data"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			k, err := ParsePrivateKey(fixture(t, tc.file))
			if tc.reason != nil {
				if !errors.Is(err, tc.reason) || !strings.HasPrefix(err.Error(), tc.message) {
					t.Fatalf("error %v, want %v starting %q", err, tc.reason, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "?"
			switch k.(type) {
			case *rsa.PrivateKey:
				got = "RSA"
			case *ecdsa.PrivateKey:
				got = "ECDSA"
			case ed25519.PrivateKey:
				got = "Ed25519"
			}
			if got != tc.want {
				t.Errorf("%T, want %s", k, tc.want)
			}
		})
	}
}

// TestPrivateAndPublicAgree: the public key read from a private key file
// is the private key's, under the same fingerprint.
func TestPrivateAndPublicAgree(t *testing.T) {
	for _, f := range []string{"ok-rsa2048-pkcs1-private-key.pem", "ok-ed25519-pkcs8-private-key.pem", "ok-p384-sec1-private-key-after-ec-parameters.pem"} {
		priv, err := ParsePrivateKey(fixture(t, f))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := ParsePEM(fixture(t, f))
		if err != nil {
			t.Fatal(err)
		}
		fp, _ := Fingerprint(priv.Public())
		if len(keys) != 1 || keys[0].Fingerprint != fp || keys[0].From != FromPrivateKey {
			t.Errorf("%s: %+v, private key's fingerprint %s", f, keys, fp)
		}
	}
}
