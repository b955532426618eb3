package keyforms

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
)

// File is a key file written in one form.
type File struct {
	Form string // e.g. "PEM public key", "hex"
	Path string
}

// Signing writes the signing key's forms into dir: its PEM public key
// (known by its fingerprint, the end of Unified CM's kid), the JWKS
// document jwks, and the JWKS's first key alone as a JWK.
func Signing(dir string, publicPEM, jwks []byte) ([]File, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) == 0 {
		return nil, errors.New("keyforms: not a JWKS with a key")
	}
	return write(dir, []File{
		{"PEM public key", "signing.pem"}, {"JWKS", "signing.jwks.json"}, {"JWK", "signing.jwk.json"},
	}, [][]byte{publicPEM, jwks, set.Keys[0]})
}

// Cluster writes the cluster key's forms into dir: a JSON object
// {"<kid>": "<base64>"}, a JWK of kty oct with its kid, a JWK set of it,
// and without its kid the raw bytes, hex and base64.
func Cluster(dir, kid string, key []byte) ([]File, error) {
	b64 := base64.StdEncoding.EncodeToString(key)
	byKID, _ := json.Marshal(map[string]string{kid: b64})
	jwk, _ := json.Marshal(map[string]string{"kty": "oct", "kid": kid, "k": base64.RawURLEncoding.EncodeToString(key)})
	set := []byte(`{"keys":[` + string(jwk) + `]}`)
	return write(dir, []File{
		{"{kid: base64}", "cluster.json"}, {"JWK oct", "cluster.jwk.json"}, {"JWK set", "cluster.jwks.json"},
		{"raw bytes", "cluster.key"}, {"hex", "cluster.hex"}, {"base64", "cluster.b64"},
	}, [][]byte{byKID, jwk, set, key, []byte(hex.EncodeToString(key) + "\n"), []byte(b64 + "\n")})
}

// Pair is a signing key file and a cluster key file a reader is tried
// with together.
type Pair struct {
	Name             string // e.g. "signing key as JWK"
	Signing, Cluster string // the files' paths
}

// Pairs writes both keys' forms into dir (Signing, Cluster) and returns
// every signing form with the first cluster form, then every cluster form
// with the first signing form: each form is tried once.
func Pairs(dir string, publicPEM, jwks []byte, kid string, key []byte) ([]Pair, error) {
	signing, err := Signing(dir, publicPEM, jwks)
	if err != nil {
		return nil, err
	}
	cluster, err := Cluster(dir, kid, key)
	if err != nil {
		return nil, err
	}
	var out []Pair
	for _, k := range signing {
		out = append(out, Pair{"signing key as " + k.Form, k.Path, cluster[0].Path})
	}
	for _, k := range cluster {
		out = append(out, Pair{"cluster key as " + k.Form, signing[0].Path, k.Path})
	}
	return out, nil
}

func write(dir string, files []File, data [][]byte) ([]File, error) {
	for i := range files {
		files[i].Path = filepath.Join(dir, files[i].Path)
		if err := os.WriteFile(files[i].Path, data[i], 0o600); err != nil {
			return nil, err
		}
	}
	return files, nil
}
