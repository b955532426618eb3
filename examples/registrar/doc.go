// Command registrar shows the smallest correct SIP OAuth registrar built
// on the library: registrar.New with a sipoauth validator, the memory
// store, and the OAuth port (TLS, no client certificate: clients
// authenticate with a bearer token) behind siplimit's bounds on
// connections, time and message size.
//
//	go run ./examples/registrar -cert node.pem -key node.key \
//	    -jwks https://idp.example.com/.well-known/jwks.json \
//	    -cluster-key cluster-keys.json -devices devices.json
//
// Tokens are verified with the identity provider's JWKS, fetched now,
// hourly and when a token names an unknown key; the cluster key file, in
// any form package keyfile reads, decrypts the claims of Unified CM's
// nested tokens. devices.json lists who may register:
//
//	[{"name": "CSFrado", "owner": "rado", "lines": ["1001"], "oauth": true}]
//
// It prints the address it listens on, logs every REGISTER, and stops on
// Ctrl-C. cmd/sipoauth-registrar is the full program: the edge port for
// edge proxies, legacy Digest, Redis, metrics, and reloading of every
// file.
package main
