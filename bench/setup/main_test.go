package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/keyfile"
	"github.com/sipoauth/sdk/sipoauth"
)

// keySource looks tokens' keys up in a keyfile.KeySet, as the registrar does.
type keySource struct{ s *keyfile.KeySet }

func (k keySource) VerificationKey(_ context.Context, kid, alg string) (crypto.PublicKey, error) {
	key, err := k.s.Lookup(kid, alg)
	if err != nil {
		return nil, err
	}
	return key.Public, nil
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := write(options{dir: dir, devices: 3, issuer: "https://iss.test", audience: "sip", ttl: time.Hour}, io.Discard); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	var devs []struct {
		Name, Owner string
		OAuth       bool
	}
	if err := json.Unmarshal([]byte(read(DevicesFile)), &devs); err != nil {
		t.Fatal(err)
	}
	if len(devs) != 3 || devs[2].Name != "CSFload00002" || devs[2].Owner != "load00002" || !devs[2].OAuth {
		t.Fatalf("devices: %+v", devs)
	}

	var cfg map[string]any
	if err := json.Unmarshal([]byte(read(ConfigFile)), &cfg); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cert", "key", "keys", "decryption-key", "devices"} {
		if _, err := os.Stat(filepath.Join(dir, cfg[k].(string))); err != nil {
			t.Errorf("registrar.json %s: %v", k, err)
		}
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)); err != nil {
		t.Errorf("certificate and key: %v", err)
	}

	// every token validates with the files the registrar reads, and names its device
	set, err := keyfile.ParseKeySet([]byte(read(KeysFile)))
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := keyfile.ParseClusterKeys([]byte(read(ClusterFile)), 32)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := sipoauth.NewSymmetricKeys(cluster)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sipoauth.New(sipoauth.Config{Keys: keySource{set}, DecryptionKeys: dec, Issuers: []string{"https://iss.test"}, Audiences: []string{"sip"}})
	if err != nil {
		t.Fatal(err)
	}
	bearer := strings.Split(strings.TrimSpace(read(BearerCSV)), "\n")
	digest := strings.Split(strings.TrimSpace(read(DigestCSV)), "\n")
	table := strings.Split(strings.TrimSpace(read(filepath.Join(KamailioDBDir, "htable"))), "\n")
	if len(bearer) != 4 || bearer[0] != "SEQUENTIAL" || len(digest) != 4 || digest[0] != "SEQUENTIAL" || len(table) != 4 {
		t.Fatalf("want a header and 3 lines each: %d %d %d", len(bearer), len(digest), len(table))
	}
	for i := 1; i <= 3; i++ {
		f := strings.Split(bearer[i], ";")
		id, err := v.Validate(context.Background(), f[2])
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if id.User != f[0] || id.Device != f[1] || !id.Nested {
			t.Errorf("token %d names %s/%s nested=%v, want %s/%s nested", i, id.User, id.Device, id.Nested, f[0], f[1])
		}
		// the same user's password in the digest file and in Kamailio's table
		d := strings.Split(digest[i], ";")
		tf := strings.Split(table[i], ":")
		want := "[authentication username=" + f[0] + " password=" + tf[4] + "]"
		if d[0] != f[0] || d[1] != f[1] || d[2] != want || tf[1] != f[0] {
			t.Errorf("line %d: digest %q, table %q", i, digest[i], table[i])
		}
	}
}

func TestCheck(t *testing.T) {
	good := options{dir: "x", devices: 1, issuer: "i", audience: "a", ttl: time.Hour}
	if err := good.check(); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]options{
		"no dir":      {devices: 1, issuer: "i", audience: "a", ttl: time.Hour},
		"no devices":  {dir: "x", devices: 0, issuer: "i", audience: "a", ttl: time.Hour},
		"too many":    {dir: "x", devices: maxDevices + 1, issuer: "i", audience: "a", ttl: time.Hour},
		"ttl too big": {dir: "x", devices: 1, issuer: "i", audience: "a", ttl: 25 * time.Hour},
		"no audience": {dir: "x", devices: 1, issuer: "i", ttl: time.Hour},
	} {
		if err := o.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
