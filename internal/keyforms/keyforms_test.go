package keyforms

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCluster(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	files, err := Cluster(t.TempDir(), "k1", key)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cluster.json": `{"k1":"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="}`,
		"cluster.hex":  hex.EncodeToString(key) + "\n",
		"cluster.key":  string(key),
	}
	if len(files) != 6 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[filepath.Base(f.Path)]; ok && string(b) != w {
			t.Errorf("%s: %q, want %q", f.Form, b, w)
		}
	}
}

func TestSigning(t *testing.T) {
	files, err := Signing(t.TempDir(), []byte("-----BEGIN PUBLIC KEY-----\n"), []byte(`{"keys":[{"kty":"EC","kid":"a"},{"kty":"EC","kid":"b"}]}`))
	if err != nil || len(files) != 3 {
		t.Fatal(files, err)
	}
	b, _ := os.ReadFile(files[2].Path)
	if string(b) != `{"kty":"EC","kid":"a"}` {
		t.Errorf("JWK %s", b)
	}
	if _, err := Signing(t.TempDir(), nil, []byte(`{"keys":[]}`)); err == nil || !strings.Contains(err.Error(), "JWKS") {
		t.Errorf("empty set: %v", err)
	}
}

func TestPairs(t *testing.T) {
	jwks := []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}`)
	pairs, err := Pairs(t.TempDir(), []byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"), jwks, "c1", make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 9 || pairs[0].Name != "signing key as PEM public key" || pairs[3].Name != "cluster key as {kid: base64}" {
		t.Fatalf("pairs %+v", pairs)
	}
	for i, p := range pairs {
		// Each form once: the first three vary the signing file, the rest
		// the cluster file.
		if (i < 3 && p.Cluster != pairs[0].Cluster) || (i >= 3 && p.Signing != pairs[0].Signing) {
			t.Fatalf("pair %d: %+v", i, p)
		}
	}
}
