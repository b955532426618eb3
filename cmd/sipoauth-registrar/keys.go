package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/sipoauth/sdk/sipoauth"
)

// maxKeyFile bounds the -keys and -decryption-key files.
const maxKeyFile = 4 << 20

// keyIDHeader is the optional PEM header that gives a key its kid.
const keyIDHeader = "Key-ID"

// swapKeys is a KeySource that can be replaced whole, for a -keys file
// that changes while the registrar runs. It is sipoauth.Generational, so
// that the validator's cache drops the tokens of a key as soon as a reload
// or a JWKS refresh removes it.
type swapKeys struct {
	cur  atomic.Pointer[keysBox]
	sets atomic.Uint64 // set calls so far
	// never numbers the generations of a source that cannot tell its own.
	never atomic.Uint64
}

type keysBox struct {
	ks sipoauth.KeySource
	n  uint64 // the set call that stored it
}

func (s *swapKeys) set(ks sipoauth.KeySource) { s.cur.Store(&keysBox{ks, s.sets.Add(1)}) }

// Generation implements sipoauth.Generational: it changes with every set
// and with the generation of the source set. For a source that cannot
// tell when its keys change it changes on every call, so that the cache
// never serves a token of it.
func (s *swapKeys) Generation() uint64 {
	b := s.cur.Load()
	if b == nil {
		return 0
	}
	g, ok := b.ks.(sipoauth.Generational)
	if !ok {
		return 1<<63 | s.never.Add(1)
	}
	// The set call in the high half, the source's generation in the low.
	return b.n<<32 | g.Generation()&(1<<32-1)
}

// VerificationKey implements sipoauth.KeySource.
func (s *swapKeys) VerificationKey(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	return s.cur.Load().ks.VerificationKey(ctx, kid, alg)
}

// loadKeysFile reads a -keys file: a JWKS document when it is a JSON
// object, PEM public keys or certificates otherwise.
func loadKeysFile(path string) (sipoauth.KeySource, error) {
	data, err := readLimited(path, maxKeyFile)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(data, &set); err != nil {
			return nil, fmt.Errorf("%s: not a JWKS document: %v", path, err)
		}
		if len(set.Keys) == 0 {
			return nil, fmt.Errorf("%s: the JWKS document has no keys", path)
		}
		ks, err := sipoauth.NewJWKS(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		return ks, nil
	}
	ks, err := parsePEMKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return ks, nil
}

// pemKeys is a KeySource over the keys of a PEM file. A PEM file carries
// no key ids, so each key is known by its fingerprint, the hex SHA-256 of
// its DER SubjectPublicKeyInfo, unless its block has a Key-ID header.
// Unified CM's kid "<cluster-uuid>:<fingerprint>" matches by the part
// after its last colon; a token that names no key is verified with the
// file's only key.
type pemKeys struct{ static *sipoauth.StaticKeys }

// Generation implements sipoauth.Generational.
func (p pemKeys) Generation() uint64 { return p.static.Generation() }

// VerificationKey implements sipoauth.KeySource.
func (p pemKeys) VerificationKey(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	k, err := p.static.VerificationKey(ctx, kid, alg)
	if err == nil {
		return k, nil
	}
	if i := strings.LastIndexByte(kid, ':'); i >= 0 && i < len(kid)-1 {
		if k, err2 := p.static.VerificationKey(ctx, kid[i+1:], alg); err2 == nil {
			return k, nil
		}
	}
	return nil, err
}

// parsePEMKeys reads the PUBLIC KEY, RSA PUBLIC KEY and CERTIFICATE
// blocks of a PEM file.
func parsePEMKeys(data []byte) (pemKeys, error) {
	keys, err := sipoauth.ParsePublicKeysPEM(data)
	if err != nil {
		return pemKeys{}, err
	}
	// ParsePublicKeysPEM refuses any other block, so the blocks and the
	// keys are in step.
	var ids []string
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		ids = append(ids, b.Headers[keyIDHeader])
	}
	if len(ids) != len(keys) {
		return pemKeys{}, fmt.Errorf("%d PEM blocks but %d keys", len(ids), len(keys))
	}
	m := make(map[string]crypto.PublicKey, len(keys))
	for i, k := range keys {
		id := ids[i]
		if id == "" {
			if id, err = keyFingerprint(k); err != nil {
				return pemKeys{}, fmt.Errorf("PEM block %d: %v", i+1, err)
			}
		}
		if _, dup := m[id]; dup {
			return pemKeys{}, fmt.Errorf("PEM block %d: key id %q given twice", i+1, id)
		}
		m[id] = k
	}
	static, err := sipoauth.NewStaticKeys(m)
	if err != nil {
		return pemKeys{}, err
	}
	return pemKeys{static}, nil
}

// keyFingerprint is the hex SHA-256 of the key's DER SubjectPublicKeyInfo,
// the second half of a Unified CM key id.
func keyFingerprint(k crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// loadDecryptionKeys reads a -decryption-key file: a JSON object of key
// ids to base64 keys (standard or URL alphabet, padded or not), each 32
// bytes, the A128CBC-HS256 key of Unified CM's nested tokens.
func loadDecryptionKeys(path string) (map[string][]byte, error) {
	data, err := readLimited(path, maxKeyFile)
	if err != nil {
		return nil, err
	}
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf(`%s: want a JSON object {"<kid>": "<base64 key>"}: %v`, path, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: no key", path)
	}
	keys := make(map[string][]byte, len(raw))
	for kid, v := range raw {
		k, err := decodeBase64(v)
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: not base64", path, kid)
		}
		if len(k) != 32 {
			return nil, fmt.Errorf("%s: key %q: %d bytes, want 32 (A128CBC-HS256)", path, kid, len(k))
		}
		keys[kid] = k
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
