package keyfile

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"testing"
)

// clusterKey is the key of the ok-cluster-* fixtures.
func clusterKey() []byte {
	k := make([]byte, ClusterKeySize)
	for i := range k {
		k[i] = byte(0xa0 + i)
	}
	return k
}

var clusterCases = []struct {
	file    string
	kids    []string // the kids of the keys read, each clusterKey()
	reason  error
	message string // the whole error
}{
	{file: "ok-cluster-raw-32-bytes.bin", kids: []string{""}},
	{file: "ok-cluster-hex-newline.txt", kids: []string{""}},
	{file: "ok-cluster-base64-std-padded.txt", kids: []string{""}},
	{file: "ok-cluster-base64url-unpadded.txt", kids: []string{""}},
	{file: "ok-cluster-jwk-with-kid.json", kids: []string{"cluster-1"}},
	{file: "ok-cluster-jwk-set-two-keys.json", kids: []string{"cluster-1", "cluster-2"}},
	{file: "ok-cluster-kid-map-base64-and-hex.json", kids: []string{"cluster-1", "cluster-2"}},

	{file: "cluster-hex-16-bytes-want-32.txt", reason: ErrKeySize, message: "keyfile: cluster key: 16 bytes, want 32"},
	{file: "cluster-31-raw-bytes.bin", reason: ErrFormat, message: "keyfile: cluster key is neither 32 raw bytes, hex, base64, a JWK, a JWK set nor a JSON object of keys by kid"},
	{file: "cluster-not-hex-or-base64.txt", reason: ErrFormat, message: "keyfile: cluster key is neither 32 raw bytes, hex, base64, a JWK, a JWK set nor a JSON object of keys by kid"},
	{file: "cluster-empty.txt", reason: ErrNoKey, message: "keyfile: no cluster key: the input is empty"},
	{file: "cluster-json-array.json", reason: ErrFormat, message: "keyfile: cluster keys: want a JSON object, a JWK or a JWK set, not a JSON array"},
	{file: "cluster-jwk-kty-rsa.json", reason: ErrFormat, message: `keyfile: cluster key: JWK kty is "RSA", want oct`},
	{file: "cluster-jwk-k-not-base64url.json", reason: ErrFormat, message: "keyfile: cluster key: JWK k is not base64url: illegal base64 data at input byte 0"},
	{file: "cluster-jwk-truncated.json", reason: ErrFormat, message: `keyfile: cluster keys: not a JSON object (a JWK, a JWK set, or {"<kid>": "<key>"}): unexpected end of JSON input`},
	{file: "cluster-jwk-set-empty.json", reason: ErrNoKey, message: "keyfile: cluster keys: the JWK set has no keys"},
	{file: "cluster-jwk-set-kid-twice.json", reason: ErrDuplicateID, message: `keyfile: cluster keys: JWK 2: key id "c" given twice`},
	{file: "cluster-kid-map-empty.json", reason: ErrNoKey, message: `keyfile: cluster keys: no key in the JSON object; want {"<kid>": "<key>"}`},
	{file: "cluster-kid-map-value-not-a-string.json", reason: ErrFormat, message: `keyfile: cluster keys: want a JSON object {"<kid>": "<hex or base64 key>"}: key "cluster-1" is not a string`},
	{file: "cluster-kid-map-value-not-base64.json", reason: ErrFormat, message: `keyfile: cluster keys: key "cluster-1": not hex or base64`},
	{file: "cluster-kid-map-value-16-bytes.json", reason: ErrKeySize, message: `keyfile: cluster keys: key "cluster-1": 16 bytes, want 32`},
}

func TestParseClusterKeys(t *testing.T) {
	for _, tc := range clusterCases {
		t.Run(tc.file, func(t *testing.T) {
			keys, err := ParseClusterKeys(fixture(t, tc.file), ClusterKeySize)
			if tc.reason != nil {
				if !errors.Is(err, tc.reason) || err.Error() != tc.message {
					t.Fatalf("error %v,\nwant %v: %s", err, tc.reason, tc.message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, tc.kids) {
				t.Errorf("kids %q, want %q", got, tc.kids)
			}
			for kid, k := range keys {
				if !bytes.Equal(k, clusterKey()) {
					t.Errorf("key %q: %x", kid, k)
				}
			}
		})
	}
}

// TestClusterKeyText: inputs that are not files of the fixtures, among them
// the forms sipoauth token verify and mint were given before they read
// keys through this package.
func TestClusterKeyText(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	for _, in := range [][]byte{
		key,
		[]byte(hex.EncodeToString(key) + "\n"),
		[]byte(base64.StdEncoding.EncodeToString(key)),
		[]byte(base64.RawURLEncoding.EncodeToString(key) + "\r\n"),
		[]byte(`{"kty":"oct","k":"` + base64.RawURLEncoding.EncodeToString(key) + `"}`),
		[]byte(`{"kty":"oct","k":"` + base64.URLEncoding.EncodeToString(key) + `"}`),
	} {
		m, err := ParseClusterKeys(in, ClusterKeySize)
		if err != nil || len(m) != 1 || !bytes.Equal(m[""], key) {
			t.Errorf("%q: %x %v", in, m, err)
		}
	}
	// The registrar's JSON object, its keys in each base64 alphabet.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		m, err := ParseClusterKeys([]byte(`{"kid-1": "`+enc.EncodeToString(key)+`"}`), ClusterKeySize)
		if err != nil || len(m) != 1 || !bytes.Equal(m["kid-1"], key) {
			t.Errorf("%v: %x %v", enc, m, err)
		}
	}
	for in, msg := range map[string]string{
		"abcd":                   "keyfile: cluster key: 2 bytes, want 32",
		"not a key at all!":      "keyfile: cluster key is neither 32 raw bytes, hex, base64, a JWK, a JWK set nor a JSON object of keys by kid",
		`{"kty":"RSA","k":"AA"}`: `keyfile: cluster key: JWK kty is "RSA", want oct`,
		`{"kty":"oct","k":"AA"}`: "keyfile: cluster key: 1 bytes, want 32",
		`{"kty":`:                `keyfile: cluster keys: not a JSON object (a JWK, a JWK set, or {"<kid>": "<key>"}): unexpected end of JSON input`,
		// The values of a JSON object by kid are base64 first, as they
		// always were; bare text is hex first.
		`{"k1": "AAAA"}`: `keyfile: cluster keys: key "k1": 3 bytes, want 32`,
		`{"keys":{}}`:    `keyfile: cluster keys: not a JWK set {"keys": [...]}: json: cannot unmarshal object into Go struct field .keys of type []keyfile.octJWK`,
	} {
		if _, err := ParseClusterKeys([]byte(in), ClusterKeySize); err == nil || err.Error() != msg {
			t.Errorf("%q: %v, want %q", in, err, msg)
		}
	}
}

// TestClusterKeySizes: the size asked for decides what raw input is, and
// which keys are the right size.
func TestClusterKeySizes(t *testing.T) {
	k16 := clusterKey()[:16]
	// 32 bytes of hex text are the raw key when 32 bytes are asked for,
	// the hex of a 16-byte key when 16 are.
	h := []byte(hex.EncodeToString(k16))
	if m, err := ParseClusterKeys(h, 32); err != nil || !bytes.Equal(m[""], h) {
		t.Errorf("32 bytes, size 32: %x %v", m[""], err)
	}
	if m, err := ParseClusterKeys(h, 16); err != nil || !bytes.Equal(m[""], k16) {
		t.Errorf("32 hex digits, size 16: %x %v", m[""], err)
	}
	if m, err := ParseClusterKeys(k16, 16); err != nil || !bytes.Equal(m[""], k16) {
		t.Errorf("16 raw bytes, size 16: %x %v", m[""], err)
	}
	for _, size := range []int{0, -1} {
		if _, err := ParseClusterKeys(k16, size); !errors.Is(err, ErrKeySize) {
			t.Errorf("size %d: %v", size, err)
		}
	}
	// The key returned is a copy.
	raw := clusterKey()
	m, _ := ParseClusterKeys(raw, 32)
	raw[0] ^= 0xff
	if !bytes.Equal(m[""], clusterKey()) {
		t.Error("the raw key returned aliases the input")
	}
}
