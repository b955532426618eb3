module github.com/sipoauth/sdk

go 1.26.0

require (
	github.com/MicahParks/keyfunc/v3 v3.9.1
	github.com/beevik/etree v1.8.1
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/golang-jwt/jwt/v5 v5.3.1
	golang.org/x/crypto v0.59.0
	golang.org/x/time v0.15.0
	software.sslmate.com/src/go-pkcs12 v0.7.4
)

require github.com/MicahParks/jwkset v0.11.4 // indirect
