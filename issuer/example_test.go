package issuer_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sipoauth/sdk/issuer"
)

// A lab authorization server in Unified CM's style: Jabber-like clients get
// nested tokens from its token endpoint, and validators fetch its JWKS.
func Example() {
	iss, err := issuer.New(issuer.Config{
		Issuer:   "https://cucm.example.com:8443",
		Audience: []string{"ccmsipline"},
		Nested:   true,
		Users:    map[string]string{"alice": "wonderland"},
		Clients:  map[string]string{"jabber": "s3cret"},
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(iss.Handler())
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second}

	// The password grant, as a client logs its user in.
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"},
		"scope": {"sip:register"}, "device": {"CSFALICE"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("jabber", "s3cret")
	resp, err := client.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		panic(err)
	}
	fmt.Println(resp.Status, tr.TokenType, tr.ExpiresIn, tr.RefreshToken != "")

	// The outer JWS verifies with the issuer's key; its only claim holds
	// the encrypted claims.
	outer := jwt.MapClaims{}
	tok, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"})).ParseWithClaims(tr.AccessToken, outer,
		func(*jwt.Token) (any, error) { return iss.PublicKey(), nil })
	if err != nil {
		panic(err)
	}
	kidForm := regexp.MustCompile(`^[0-9a-f-]{36}:[0-9a-f]{64}$`)
	fmt.Println(tok.Header["typ"], kidForm.MatchString(tok.Header["kid"].(string)))

	jwe, err := jose.ParseEncryptedCompact(outer["private"].(string),
		[]jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A128CBC_HS256})
	if err != nil {
		panic(err)
	}
	_, key := iss.EncryptionKey()
	plain, err := jwe.Decrypt(key)
	if err != nil {
		panic(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(plain, &claims); err != nil {
		panic(err)
	}
	for _, name := range []string{"iss", "sub", "aud", "scope", "device", "client_id"} {
		fmt.Printf("%s: %v\n", name, claims[name])
	}
	// Output:
	// 200 OK Bearer 3600 true
	// JWT true
	// iss: https://cucm.example.com:8443
	// sub: alice
	// aud: ccmsipline
	// scope: sip:register
	// device: CSFALICE
	// client_id: jabber
}

// Mint makes tokens directly, for tests; a fixed clock makes them
// predictable.
func ExampleIssuer_Mint() {
	iss, err := issuer.New(issuer.Config{
		Algorithm: "ES256",
		Now:       func() time.Time { return time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	s, err := iss.Mint(issuer.TokenRequest{User: "bob", Device: "SEP001122334455", Scopes: []string{"sip:register"}})
	if err != nil {
		panic(err)
	}
	claims := jwt.MapClaims{}
	tok, _, err := jwt.NewParser().ParseUnverified(s, claims)
	if err != nil {
		panic(err)
	}
	delete(claims, "jti") // random
	header, _ := json.Marshal(map[string]any{"alg": tok.Header["alg"], "typ": tok.Header["typ"]})
	body, _ := json.Marshal(claims)
	fmt.Println(string(header))
	fmt.Println(string(body))
	// Output:
	// {"alg":"ES256","typ":"at+jwt"}
	// {"device":"SEP001122334455","exp":1748773800,"iat":1748770200,"iss":"https://issuer.example.test","nbf":1748770200,"scope":"sip:register","sub":"bob"}
}
