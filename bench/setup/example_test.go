package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Two devices: the registrar's files, the injection files and Kamailio's table.
func Example() {
	dir, err := os.MkdirTemp("", "setup-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := write(options{dir: dir, devices: 2, issuer: "https://bench.invalid", audience: "sip", ttl: time.Hour}, io.Discard); err != nil {
		fmt.Println(err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	table, _ := os.ReadFile(filepath.Join(dir, "kamailio-db", "htable"))
	fmt.Printf("%.16s\n", table[len("id(int,auto) key_name(str) key_type(int) value_type(int) key_value(str) expires(int)\n"):])
	// Output:
	// bearer.csv
	// cluster-key.json
	// devices.json
	// digest.csv
	// kamailio-db
	// node.key
	// node.pem
	// registrar.json
	// signing-key.pub.pem
	// 1:load00000:0:0:
}
