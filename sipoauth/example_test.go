package sipoauth_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sipoauth/sdk/sipoauth"
)

// A registrar validates the token of a REGISTER and, when it is refused,
// knows which error code to put in its challenge.
func ExampleValidator_ValidateRequest() {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{"lab-1": pub})
	now := time.Date(2026, 3, 30, 11, 3, 19, 0, time.UTC)
	v, err := sipoauth.New(sipoauth.Config{
		Keys:           keys,
		Issuers:        []string{"https://cucm.example.com"},
		RequiredScopes: []string{"sip:register"},
		Now:            func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mint := func(exp time.Time) string {
		t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
			"iss": "https://cucm.example.com", "sub": "rado", "device": "CSFrado",
			"scope": "sip:register", "iat": now.Unix(), "exp": exp.Unix(),
		})
		t.Header["kid"], t.Header["typ"] = "lab-1", "at+jwt"
		s, _ := t.SignedString(priv)
		return s
	}

	id, err := v.ValidateRequest(context.Background(), mint(now.Add(time.Hour)), sipoauth.Request{Device: "CSFrado"})
	fmt.Println(id.User, id.Device, id.Scopes, err)

	_, err = v.ValidateRequest(context.Background(), mint(now.Add(-time.Hour)), sipoauth.Request{Device: "CSFrado"})
	fmt.Println(errors.Is(err, sipoauth.ErrExpired), sipoauth.ErrorCode(err))

	_, err = v.ValidateRequest(context.Background(), mint(now.Add(time.Hour)), sipoauth.Request{Device: "CSFother"})
	fmt.Println(errors.Is(err, sipoauth.ErrBindingMismatch), sipoauth.ErrorCode(err))
	// Output:
	// rado CSFrado [sip:register] <nil>
	// true invalid_token
	// true invalid_token
}

// One rule compares users everywhere: a revocation of "bob" covers the
// tokens of "BOB", and a store keyed by user keys both alike.
func ExampleUserKey() {
	fmt.Println(sipoauth.SameUser("bob", "BOB"), sipoauth.UserKey("BOB"), sipoauth.UserKey("\u212Aelvin"))
	// Output: true bob kelvin
}
