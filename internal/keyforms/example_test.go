package keyforms_test

import (
	"bytes"
	"fmt"
	"os"

	"github.com/sipoauth/sdk/internal/keyforms"
)

func ExampleCluster() {
	dir, _ := os.MkdirTemp("", "keyforms")
	defer os.RemoveAll(dir)
	files, _ := keyforms.Cluster(dir, "78a4f044-f810-469c-bf89-72b39129813b", bytes.Repeat([]byte{1}, 32))
	for _, f := range files {
		fmt.Println(f.Form)
	}
	// Output:
	// {kid: base64}
	// JWK oct
	// JWK set
	// raw bytes
	// hex
	// base64
}
