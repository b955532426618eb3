package redisstore_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/redisstore"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
)

// Registrar nodes that share one Redis share their bindings and their
// token revocations. The client connects on first use, so nothing here
// reaches Redis; the keys printed are those every node reads and writes.
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:6379",
		// A Redis that hangs answers within the REGISTER's deadline.
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	bindings := redisstore.NewBindings(client, "")
	revocations := redisstore.NewRevocations(client, "")

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{"idp-1": key.Public()})
	v, _ := sipoauth.New(sipoauth.Config{Keys: keys, Revocation: revocations})
	_, err := registrar.New(registrar.Config{
		NodeName:  "UCM2-PUB",
		Devices:   registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Validator: v,
		Store:     bindings,
		Timeout:   5 * time.Second,
	})
	fmt.Println(err)
	fmt.Println(bindings.Key("rado@10.10.10.1"))
	fmt.Println(revocations.TokenKey("8e5b2f0c"))
	fmt.Println(revocations.UserKey("Rado"))
	// Output:
	// <nil>
	// sipoauth:aor:{rado@10.10.10.1}
	// sipoauth:revoked:jti:8e5b2f0c
	// sipoauth:revoked:user:rado
}
