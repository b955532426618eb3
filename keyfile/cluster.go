package keyfile

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// MaxClusterKeysSize bounds the input of ParseClusterKeys: room for a
// thousand keys with their ids.
const MaxClusterKeysSize = 64 << 10

// ClusterKeySize is the size of Unified CM's cluster key, an A128CBC-HS256
// key (RFC 7518 §5.2.3: 16 bytes of MAC key and 16 of AES key).
const ClusterKeySize = 32

// ParseClusterKeys reads symmetric keys of size bytes, such as Unified
// CM's cluster key (size ClusterKeySize), in whichever of these forms
// data is:
//
//   - the raw key: data of exactly size bytes, whatever they are;
//   - the key in hex, or in base64 (standard or URL alphabet, padded or
//     not), surrounding white space ignored;
//   - a JWK {"kty":"oct","k":"<base64url>","kid":"<kid>"};
//   - a JWK set {"keys":[<oct JWK>, ...]};
//   - a JSON object {"<kid>": "<key in hex or base64>", ...}.
//
// It returns the keys by kid; a key given without one, raw, as text or as
// a JWK without "kid", is under "". The error says which form data was
// taken for and what is wrong with it.
func ParseClusterKeys(data []byte, size int) (map[string][]byte, error) {
	if size <= 0 {
		return nil, fail(ErrKeySize, "a key size of %d bytes asked for", size)
	}
	if len(data) > MaxClusterKeysSize {
		return nil, fail(ErrTooLarge, "cluster key material of %d bytes, over %d", len(data), MaxClusterKeysSize)
	}
	if len(data) == size {
		return map[string][]byte{"": bytes.Clone(data)}, nil
	}
	t := bytes.TrimSpace(data)
	switch {
	case len(t) == 0:
		return nil, fail(ErrNoKey, "no cluster key: the input is empty")
	case t[0] == '{':
		return parseClusterJSON(t, size)
	case t[0] == '[':
		return nil, fail(ErrFormat, `cluster keys: want a JSON object, a JWK or a JWK set, not a JSON array`)
	}
	k, err := decodeText(string(t), size, false)
	if errors.Is(err, ErrFormat) {
		return nil, fail(ErrFormat, "cluster key is neither %d raw bytes, hex, base64, a JWK, a JWK set nor a JSON object of keys by kid", size)
	}
	if err != nil {
		return nil, wrapAt(err, "cluster key")
	}
	return map[string][]byte{"": k}, nil
}

// decodeText decodes a key of size bytes written in hex or base64 (any
// of the four alphabets and paddings). No string is both the hex and the
// base64 of a key of one size, so the decoding that gives size bytes is
// the key; when none does, the error gives the size of the first that
// decodes, trying base64 first if base64First (a JSON object of keys by
// kid has held base64 keys from the start), hex first otherwise.
func decodeText(s string, size int, base64First bool) ([]byte, error) {
	decoders := []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString}
	if base64First {
		decoders = append(decoders[1:], decoders[0])
	}
	var first []byte
	decoded := false
	for _, dec := range decoders {
		k, err := dec(s)
		if err != nil {
			continue
		}
		if len(k) == size {
			return k, nil
		}
		if !decoded {
			first, decoded = k, true
		}
	}
	if decoded {
		return nil, fail(ErrKeySize, "%d bytes, want %d", len(first), size)
	}
	return nil, fail(ErrFormat, "not hex or base64")
}

func sized(k []byte, size int) ([]byte, error) {
	if len(k) != size {
		return nil, fail(ErrKeySize, "%d bytes, want %d", len(k), size)
	}
	return k, nil
}

// octJWK is the part of a JWK a symmetric key needs.
type octJWK struct {
	Kty string `json:"kty"`
	K   string `json:"k"`
	Kid string `json:"kid"`
}

// parseClusterJSON reads the JSON forms: a JWK, a JWK set, an object of
// keys by kid; which one is told by the members "kty" and "keys".
func parseClusterJSON(t []byte, size int) (map[string][]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(t, &obj); err != nil {
		return nil, failCause(ErrFormat, err, `cluster keys: not a JSON object (a JWK, a JWK set, or {"<kid>": "<key>"})`)
	}
	switch {
	case obj["kty"] != nil:
		var jwk octJWK
		if err := json.Unmarshal(t, &jwk); err != nil {
			return nil, failCause(ErrFormat, err, "cluster key: not a valid JWK")
		}
		k, err := octKey(jwk, size)
		if err != nil {
			return nil, wrapAt(err, "cluster key")
		}
		return map[string][]byte{jwk.Kid: k}, nil
	case obj["keys"] != nil:
		var set struct {
			Keys []octJWK `json:"keys"`
		}
		if err := json.Unmarshal(t, &set); err != nil {
			return nil, failCause(ErrFormat, err, `cluster keys: not a JWK set {"keys": [...]}`)
		}
		if len(set.Keys) == 0 {
			return nil, fail(ErrNoKey, "cluster keys: the JWK set has no keys")
		}
		keys := make(map[string][]byte, len(set.Keys))
		for i, jwk := range set.Keys {
			k, err := octKey(jwk, size)
			if err != nil {
				return nil, wrapAt(err, "cluster keys: JWK %d", i+1)
			}
			if _, dup := keys[jwk.Kid]; dup {
				return nil, fail(ErrDuplicateID, "cluster keys: JWK %d: key id %q given twice", i+1, jwk.Kid)
			}
			keys[jwk.Kid] = k
		}
		return keys, nil
	}
	if len(obj) == 0 {
		return nil, fail(ErrNoKey, `cluster keys: no key in the JSON object; want {"<kid>": "<key>"}`)
	}
	keys := make(map[string][]byte, len(obj))
	for kid, v := range obj {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fail(ErrFormat, `cluster keys: want a JSON object {"<kid>": "<hex or base64 key>"}: key %q is not a string`, kid)
		}
		k, err := decodeText(strings.TrimSpace(s), size, true)
		if err != nil {
			return nil, wrapAt(err, "cluster keys: key %q", kid)
		}
		keys[kid] = k
	}
	return keys, nil
}

// octKey returns the key of an oct JWK.
func octKey(jwk octJWK, size int) ([]byte, error) {
	if jwk.Kty != "oct" {
		return nil, fail(ErrFormat, "JWK kty is %q, want oct", jwk.Kty)
	}
	k, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(jwk.K, "="))
	if err != nil {
		return nil, failCause(ErrFormat, err, "JWK k is not base64url")
	}
	return sized(k, size)
}
