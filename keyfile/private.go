package keyfile

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
)

// ParsePrivateKey reads the first private key of a PEM bundle: PRIVATE
// KEY (PKCS#8), RSA PRIVATE KEY (PKCS#1) or EC PRIVATE KEY (SEC 1). Other
// blocks, such as the certificate kept beside the key or openssl's EC
// PARAMETERS, are skipped; an encrypted key is an error. The key must be
// one the package reads (see MinRSABits).
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	if len(data) > MaxSize {
		return nil, fail(ErrTooLarge, "PEM data of %d bytes, over %d", len(data), MaxSize)
	}
	for n := 1; ; n++ {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return nil, fail(ErrNoKey, "no private key in PEM data")
		}
		switch b.Type {
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			return privateKey(n, b)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fail(ErrEncrypted, "PEM block %d (%s): encrypted private keys are not supported", n, b.Type)
		}
	}
}

// privateKey reads the private key of block n.
func privateKey(n int, b *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, failCause(ErrFormat, err, "PEM block %d (%s)", n, b.Type)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fail(ErrUnsupportedKey, "PEM block %d (%s): key type %T cannot sign", n, b.Type, k)
	}
	if err := checkKey(s.Public()); err != nil {
		return nil, wrapAt(err, "PEM block %d (%s)", n, b.Type)
	}
	return s, nil
}
