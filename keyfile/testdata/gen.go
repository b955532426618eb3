//go:build ignore

// Gen writes the fixtures of keyfile's tests. The files are committed;
// run it (go run gen.go, in this directory) only to change them. Files
// named ok-* must read; the names of the others say what is wrong with
// them. dsa-certificate-key-type-unsupported.pem is a copy of certcheck's
// dsa-key-unknown-eku.pem: Go does not make DSA certificates.
package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"time"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func write(name string, data []byte) {
	if err := os.WriteFile(name, data, 0o644); err != nil {
		panic(err)
	}
}

func block(typ string, der []byte, headers map[string]string) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Headers: headers, Bytes: der})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func main() {
	rsa2048 := must(rsa.GenerateKey(rand.Reader, 2048))
	rsa1024 := must(rsa.GenerateKey(rand.Reader, 1024))
	p256 := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	p384 := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	p224 := must(ecdsa.GenerateKey(elliptic.P224(), rand.Reader))
	edPub, edPriv := must2(ed25519.GenerateKey(rand.Reader))
	_ = edPub

	// PEM: good.
	write("ok-rsa2048-public-key.pem", block("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&rsa2048.PublicKey)), nil))
	write("ok-rsa2048-pkcs1-public-key.pem", block("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsa2048.PublicKey), nil))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "AUTHZ_cucm1.example.com"},
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)}
	write("ok-p256-certificate.pem", block("CERTIFICATE", must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p256.PublicKey, p256)), nil))
	write("ok-rsa2048-pkcs1-private-key.pem", block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa2048), nil))
	write("ok-ed25519-pkcs8-private-key.pem", block("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(edPriv)), nil))
	// openssl ecparam -genkey writes the curve's OID first.
	write("ok-p384-sec1-private-key-after-ec-parameters.pem", append(
		block("EC PARAMETERS", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}, nil),
		block("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(p384)), nil)...))
	write("ok-two-keys-second-with-key-id.pem", append(
		block("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p256.PublicKey)), nil),
		block("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p384.PublicKey)), map[string]string{"Key-ID": "authz-2"})...))
	write("ok-public-key-between-comments.pem", append(append([]byte("Unified CM AUTHZ key, exported 2026-01-05\n"),
		block("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p256.PublicKey)), nil)...), "end of file\n"...))

	// PEM: bad.
	write("rsa1024-public-key-under-2048-bits.pem", block("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&rsa1024.PublicKey)), nil))
	write("rsa1024-private-key-under-2048-bits.pem", block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa1024), nil))
	write("p224-public-key-curve-unsupported.pem", block("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p224.PublicKey)), nil))
	write("encrypted-private-key.pem", block("ENCRYPTED PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00}, nil))
	write("unexpected-x509-crl-block.pem", block("X509 CRL", []byte{0x30, 0x00}, nil))
	write("garbage-der-in-public-key.pem", block("PUBLIC KEY", []byte("not DER at all"), nil))
	write("garbage-der-in-rsa-private-key.pem", block("RSA PRIVATE KEY", []byte("junk"), nil))
	write("no-pem-blocks.txt", []byte("this is not a key\n"))
	write("public-key-only-no-private-key.pem", block("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p256.PublicKey)), nil))
	two := block("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p256.PublicKey)), nil)
	write("same-key-twice.pem", append(two, two...))

	// JWKS.
	rsaJWK := map[string]any{"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
		"n": b64(rsa2048.N.Bytes()), "e": b64(big.NewInt(int64(rsa2048.E)).Bytes())}
	raw := must(p256.PublicKey.Bytes())
	ecJWK := map[string]any{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
	jwks := func(name string, keys ...any) {
		write(name, must(json.MarshalIndent(map[string]any{"keys": keys}, "", "  ")))
	}
	jwks("ok-jwks-rsa-with-kid-and-ec-without.json", rsaJWK, ecJWK)
	ecPriv := map[string]any{"kty": "EC", "kid": "ec-private", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:]), "d": b64(p256.D.FillBytes(make([]byte, 32)))}
	jwks("ok-jwks-private-ec-key.json", ecPriv)
	jwks("jwks-empty-keys.json")
	write("jwks-truncated.json", []byte(`{"keys": [{"kty": "RSA"`))
	jwks("jwks-key-without-kty.json", map[string]any{})
	jwks("jwks-rsa1024-under-2048-bits.json", map[string]any{"kty": "RSA", "kid": "weak",
		"n": b64(rsa1024.N.Bytes()), "e": b64(big.NewInt(int64(rsa1024.E)).Bytes())})
	xpub := make([]byte, 32)
	xpub[0] = 9
	jwks("jwks-x25519-key-type-unsupported.json", map[string]any{"kty": "OKP", "crv": "X25519", "kid": "enc", "x": b64(xpub)})
	jwks("jwks-oct-key-not-a-public-key.json", map[string]any{"kty": "oct", "kid": "hmac", "k": b64(make([]byte, 32))})

	// Cluster keys: 32 bytes, A128CBC-HS256.
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(0xa0 + i)
	}
	write("ok-cluster-raw-32-bytes.bin", key)
	write("ok-cluster-hex-newline.txt", []byte(hex.EncodeToString(key)+"\n"))
	write("ok-cluster-base64-std-padded.txt", []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
	write("ok-cluster-base64url-unpadded.txt", []byte(base64.RawURLEncoding.EncodeToString(key)))
	write("ok-cluster-jwk-with-kid.json", must(json.Marshal(map[string]string{"kty": "oct", "kid": "cluster-1", "k": b64(key)})))
	write("ok-cluster-jwk-set-two-keys.json", must(json.Marshal(map[string]any{"keys": []any{
		map[string]string{"kty": "oct", "kid": "cluster-1", "k": b64(key)},
		map[string]string{"kty": "oct", "kid": "cluster-2", "k": base64.URLEncoding.EncodeToString(key)},
	}})))
	write("ok-cluster-kid-map-base64-and-hex.json", must(json.Marshal(map[string]string{
		"cluster-1": base64.StdEncoding.EncodeToString(key), "cluster-2": hex.EncodeToString(key)})))
	write("cluster-hex-16-bytes-want-32.txt", []byte(hex.EncodeToString(key[:16])+"\n"))
	write("cluster-31-raw-bytes.bin", key[:31])
	write("cluster-not-hex-or-base64.txt", []byte("not a key at all!\n"))
	write("cluster-empty.txt", []byte(" \n"))
	write("cluster-json-array.json", []byte(`["`+b64(key)+`"]`))
	write("cluster-jwk-kty-rsa.json", []byte(`{"kty":"RSA","k":"`+b64(key)+`"}`))
	write("cluster-jwk-k-not-base64url.json", []byte(`{"kty":"oct","k":"@@@@"}`))
	write("cluster-jwk-truncated.json", []byte(`{"kty":"oct","k":`))
	write("cluster-jwk-set-empty.json", []byte(`{"keys":[]}`))
	write("cluster-jwk-set-kid-twice.json", must(json.Marshal(map[string]any{"keys": []any{
		map[string]string{"kty": "oct", "kid": "c", "k": b64(key)}, map[string]string{"kty": "oct", "kid": "c", "k": b64(key)}}})))
	write("cluster-kid-map-empty.json", []byte(`{}`))
	write("cluster-kid-map-value-not-a-string.json", []byte(`{"cluster-1": 32}`))
	write("cluster-kid-map-value-not-base64.json", []byte(`{"cluster-1": "@@@"}`))
	write("cluster-kid-map-value-16-bytes.json", []byte(`{"cluster-1": "`+base64.StdEncoding.EncodeToString(key[:16])+`"}`))
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}
