package keyfile

import (
	"slices"
	"strconv"
	"strings"
)

// KeySet is a set of public keys with distinct ids, in which a token's key
// is looked up by the package's key-id rule. It does not change once made;
// a reload makes a new one. Safe for concurrent use.
type KeySet struct {
	keys []Key
	byID map[string]int // index in keys
}

// NewKeySet returns the set of keys. Two keys under one id are an error,
// as is an empty set.
func NewKeySet(keys []Key) (*KeySet, error) {
	if len(keys) == 0 {
		return nil, fail(ErrNoKey, "no key")
	}
	s := &KeySet{keys: slices.Clone(keys), byID: make(map[string]int, len(keys))}
	for i, k := range keys {
		if _, dup := s.byID[k.ID]; dup {
			return nil, fail(ErrDuplicateID, "key %d: key id %q given twice", i+1, k.ID)
		}
		s.byID[k.ID] = i
	}
	return s, nil
}

// ParseKeySet is ParsePublicKeys and NewKeySet: the key set of a PEM
// bundle or a JWKS document.
func ParseKeySet(data []byte) (*KeySet, error) {
	keys, err := ParsePublicKeys(data)
	if err != nil {
		return nil, err
	}
	return NewKeySet(keys)
}

// Keys returns the keys of the set, in the order they were read.
func (s *KeySet) Keys() []Key { return slices.Clone(s.keys) }

// Len returns the number of keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Lookup returns the key a token signed with alg names by kid: the key
// whose id is kid; for a kid "<prefix>:<x>", the key whose id is x
// (Unified CM names its key "<cluster-uuid>:<fingerprint>"); for an empty
// kid, the set's only key. The error wraps ErrUnknownKey when no key
// answers, ErrAlgorithm when the key is a JWK for another algorithm.
func (s *KeySet) Lookup(kid, alg string) (Key, error) {
	i, ok := s.byID[kid]
	if !ok {
		if c := strings.LastIndexByte(kid, ':'); c >= 0 && c < len(kid)-1 {
			i, ok = s.byID[kid[c+1:]]
		}
	}
	if !ok && kid == "" && len(s.keys) == 1 {
		i, ok = 0, true
	}
	if !ok {
		if kid == "" {
			return Key{}, fail(ErrUnknownKey, "the token names no key and the set has %d", len(s.keys))
		}
		return Key{}, fail(ErrUnknownKey, "no key %s", strconv.Quote(kid))
	}
	k := s.keys[i]
	if k.Alg != "" && k.Alg != alg {
		return Key{}, fail(ErrAlgorithm, "key %q is for %s, the token is %s", k.ID, k.Alg, alg)
	}
	return k, nil
}
