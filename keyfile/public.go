package keyfile

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strconv"

	"github.com/MicahParks/jwkset"
)

// MaxSize bounds every input of ParsePublicKeys, ParsePEM, ParseJWKS,
// ParsePrivateKey and ReadFile: a JWKS or a PEM bundle of certificates
// fits many times over.
const MaxSize = 4 << 20

// MinRSABits is the smallest RSA key read (RFC 7518 §3.3).
const MinRSABits = 2048

// KeyIDHeader is the PEM header that gives a key its id.
const KeyIDHeader = "Key-ID"

// Kind says what a key was read from.
type Kind uint8

// The kinds of key material a Key is read from.
const (
	FromPublicKey   Kind = iota + 1 // a PEM PUBLIC KEY or RSA PUBLIC KEY block
	FromCertificate                 // a PEM CERTIFICATE block: the certificate's key
	FromPrivateKey                  // a PEM private key: its public half
	FromJWK                         // a key of a JWKS
)

// String names the kind as the package's messages do.
func (k Kind) String() string {
	switch k {
	case FromPublicKey:
		return "public key"
	case FromCertificate:
		return "certificate"
	case FromPrivateKey:
		return "private key"
	case FromJWK:
		return "JWK"
	}
	return "unknown"
}

// Key is a public key read from key material, with the id tokens name it
// by (see the package documentation for the rule).
type Key struct {
	// ID is the key's kid: the one its file gives, else its fingerprint.
	ID string
	// Alg is the one algorithm a JWK's "alg" restricts the key to; empty
	// when the key is for any algorithm of its type.
	Alg string
	// Public is an *rsa.PublicKey, an *ecdsa.PublicKey or an
	// ed25519.PublicKey.
	Public crypto.PublicKey
	// From says what the key was read from.
	From Kind
	// Fingerprint is the lowercase hex SHA-256 of the key's DER
	// SubjectPublicKeyInfo.
	Fingerprint string
}

// Fingerprint returns the lowercase hex SHA-256 of the DER
// SubjectPublicKeyInfo of pub: the second half of Unified CM's key ids,
// and the id of a key its file gives none.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", failCause(ErrUnsupportedKey, err, "%T", pub)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// ParsePublicKeys reads the public keys of a JWKS document or a single JWK
// (when the input is a JSON object) or of a PEM bundle (otherwise), in
// order. See ParseJWKS
// and ParsePEM.
func ParsePublicKeys(data []byte) ([]Key, error) {
	if len(data) > MaxSize {
		return nil, fail(ErrTooLarge, "key material of %d bytes, over %d", len(data), MaxSize)
	}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return ParseJWKS(data)
	}
	return ParsePEM(data)
}

// ParsePEM reads the public keys of a PEM bundle, in order: PUBLIC KEY,
// RSA PUBLIC KEY and CERTIFICATE blocks, and the public half of PRIVATE
// KEY, RSA PRIVATE KEY and EC PRIVATE KEY blocks. EC PARAMETERS blocks,
// which openssl writes before an EC key, are skipped, as is text between
// blocks; any other block is an error. A block's Key-ID header is its
// key's id.
func ParsePEM(data []byte) ([]Key, error) {
	if len(data) > MaxSize {
		return nil, fail(ErrTooLarge, "PEM data of %d bytes, over %d", len(data), MaxSize)
	}
	var keys []Key
	for n := 1; ; n++ {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		var pub crypto.PublicKey
		var from Kind
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(b.Bytes)
			from = FromPublicKey
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
			from = FromPublicKey
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b.Bytes); err == nil {
				pub = c.PublicKey
			}
			from = FromCertificate
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			var priv crypto.Signer
			if priv, err = privateKey(n, b); err != nil {
				return nil, err
			}
			pub, from = priv.Public(), FromPrivateKey
		case "ENCRYPTED PRIVATE KEY":
			return nil, fail(ErrEncrypted, "PEM block %d (%s): encrypted private keys are not supported", n, b.Type)
		case "EC PARAMETERS":
			continue
		default:
			return nil, fail(ErrFormat, "PEM block %d: unexpected %q block; want PUBLIC KEY, CERTIFICATE or a private key", n, b.Type)
		}
		if err != nil {
			return nil, failCause(ErrFormat, err, "PEM block %d (%s)", n, b.Type)
		}
		k, err := newKey(pub, b.Headers[KeyIDHeader], "", from)
		if err != nil {
			return nil, wrapAt(err, "PEM block %d (%s)", n, b.Type)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fail(ErrNoKey, "no public key, certificate or private key in PEM data")
	}
	return keys, nil
}

// ParseJWKS reads the keys of a JWKS document (RFC 7517) with jwkset, as
// package sipoauth reads the sets it fetches, in order; a single JWK
// ({"kty": ...} without "keys") is read as a set of one. Every key must be
// one the package reads (see MinRSABits); a private JWK gives its public
// half. A key without "kid" is known by its fingerprint.
func ParseJWKS(data []byte) ([]Key, error) {
	if len(data) > MaxSize {
		return nil, fail(ErrTooLarge, "JWKS of %d bytes, over %d", len(data), MaxSize)
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, failCause(ErrFormat, err, `not a JWKS document {"keys": [...]}`)
	}
	if len(set.Keys) == 0 {
		// A single JWK {"kty": ...}, as a key is often handed out alone.
		var one jwkset.JWKMarshal
		if json.Unmarshal(data, &one) == nil && one.KTY != "" {
			set.Keys = []jwkset.JWKMarshal{one}
		}
	}
	if len(set.Keys) == 0 {
		return nil, fail(ErrNoKey, "the JWKS document has no keys")
	}
	keys := make([]Key, 0, len(set.Keys))
	for i, m := range set.Keys {
		// JWKSlice, one key at a time, so that an error names the key.
		one, err := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{m}}.JWKSlice()
		if err != nil {
			return nil, failCause(ErrFormat, err, "JWKS key %d%s", i+1, quoteKID(m.KID))
		}
		pub := one[0].Key()
		if p, ok := pub.(interface{ Public() crypto.PublicKey }); ok {
			pub = p.Public()
		}
		k, err := newKey(pub, m.KID, m.ALG.String(), FromJWK)
		if err != nil {
			return nil, wrapAt(err, "JWKS key %d%s", i+1, quoteKID(m.KID))
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func quoteKID(kid string) string {
	if kid == "" {
		return ""
	}
	return " (kid " + strconv.Quote(kid) + ")"
}

// newKey checks pub and names it: id, else its fingerprint.
func newKey(pub crypto.PublicKey, id, alg string, from Kind) (Key, error) {
	if err := checkKey(pub); err != nil {
		return Key{}, err
	}
	fp, err := Fingerprint(pub)
	if err != nil {
		return Key{}, err
	}
	if id == "" {
		id = fp
	}
	return Key{ID: id, Alg: alg, Public: pub, From: from, Fingerprint: fp}, nil
}

// checkKey refuses the keys a JOSE validator refuses: RSA under
// MinRSABits, curves other than P-256, P-384 and P-521, and types other
// than RSA, ECDSA and Ed25519.
func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return fail(ErrUnsupportedKey, "RSA key of %d bits, under %d", bits, MinRSABits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fail(ErrUnsupportedKey, "elliptic curve %s; want P-256, P-384 or P-521", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return fail(ErrUnsupportedKey, "Ed25519 key of %d bytes", len(k))
		}
	default:
		return fail(ErrUnsupportedKey, "key type %T; want RSA, ECDSA or Ed25519", pub)
	}
	return nil
}

// wrapAt puts where in front of a keyError's message.
func wrapAt(err error, format string, args ...any) error {
	if e, ok := err.(*keyError); ok {
		return &keyError{reason: e.reason, msg: fmt.Sprintf(format, args...) + ": " + e.msg, cause: e.cause}
	}
	return err
}
