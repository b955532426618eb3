package filekeys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/sipoauth/sdk/keyfile"
	"github.com/sipoauth/sdk/sipoauth"
)

// Source is a sipoauth.KeySource and sipoauth.Generational over a
// keyfile.KeySet that Set or Load replaces whole. The zero value holds no
// key. Safe for concurrent use.
type Source struct {
	set atomic.Pointer[keyfile.KeySet]
	gen atomic.Uint64
}

var (
	_ sipoauth.KeySource    = (*Source)(nil)
	_ sipoauth.Generational = (*Source)(nil)
)

// Set replaces the keys.
func (s *Source) Set(set *keyfile.KeySet) {
	s.set.Store(set)
	s.gen.Add(1) // after the keys: see sipoauth.Generational
}

// Load reads a key file's content, PEM public keys and certificates or a
// JWKS, and replaces the keys with its keys; it is a keyfile.File's load
// function. It refuses private keys, which have no place where tokens are
// only verified, and keeps the keys it had when it fails.
func (s *Source) Load(data []byte) error {
	keys, err := keyfile.ParsePublicKeys(data)
	if err != nil {
		return err
	}
	set, err := NewSet(keys)
	if err != nil {
		return err
	}
	s.Set(set)
	return nil
}

// NewSet is keyfile.NewKeySet refusing private keys.
func NewSet(keys []keyfile.Key) (*keyfile.KeySet, error) {
	for i, k := range keys {
		if k.From == keyfile.FromPrivateKey {
			return nil, fmt.Errorf("key %d is a private key: give its public key or certificate", i+1)
		}
	}
	return keyfile.NewKeySet(keys)
}

// Generation implements sipoauth.Generational: it changes with every Set.
func (s *Source) Generation() uint64 { return s.gen.Load() }

// VerificationKey implements sipoauth.KeySource by keyfile's key-id rule.
func (s *Source) VerificationKey(_ context.Context, kid, alg string) (crypto.PublicKey, error) {
	set := s.set.Load()
	if set == nil {
		return nil, fmt.Errorf("%w: no keys", sipoauth.ErrUnknownKey)
	}
	k, err := set.Lookup(kid, alg)
	switch {
	case errors.Is(err, keyfile.ErrAlgorithm):
		return nil, fmt.Errorf("%w: %v", sipoauth.ErrAlgorithm, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", sipoauth.ErrUnknownKey, err)
	}
	return k.Public, nil
}
