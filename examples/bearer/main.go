package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/ucm"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bearer:", err)
		os.Exit(1)
	}
}

// registrar is the server side: it challenges, then checks the token.
type registrar struct {
	key       ed25519.PublicKey
	challenge bearer.Challenge
	status    string // "407 Proxy Authentication Required" or "401 Unauthorized"
	authn     string // the request header carrying credentials
	authz     string // the response header carrying the challenge
}

// handle answers a REGISTER given the values of its credentials header.
func (r *registrar) handle(values []string) (status string, headers []string) {
	creds, _, err := bearer.CredentialsFor(values, r.challenge.Realm)
	if err != nil {
		return "400 Bad Request", []string{"Warning: " + ucm.Warning{Code: ucm.WarnCode, Agent: "registrar", Text: err.Error()}.String()}
	}
	if len(creds) == 0 {
		return r.status, []string{r.authz + ": " + r.challenge.String()}
	}
	user, err := verify(creds[0].Token, r.key)
	if err != nil {
		c := r.challenge
		c.Error, c.ErrorDescription = bearer.InvalidToken, err.Error()
		return r.status, []string{r.authz + ": " + c.String()}
	}
	return "200 OK", []string{"Expires: 120", fmt.Sprintf("X-Registered-User: %s (%s form)", user, creds[0].Form)}
}

func run(w io.Writer) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	good := sign(priv, map[string]any{"sub": "rado", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	expired := sign(priv, map[string]any{"sub": "rado", "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})

	cisco := &registrar{key: pub, challenge: bearer.CiscoChallenge(),
		status: "407 Proxy Authentication Required", authn: "Proxy-Authorization", authz: "Proxy-Authenticate"}
	fmt.Fprintln(w, "=== Unified CM dialect: Jabber registers on port 5090 ===")
	dialog(w, cisco, bearer.FormCisco, good)

	rfc := &registrar{key: pub, status: "401 Unauthorized", authn: "Authorization", authz: "WWW-Authenticate",
		challenge: bearer.Challenge{Realm: "atlanta.example.com", Scope: "sip", AuthzServer: "https://as.example.com/"}}
	fmt.Fprintln(w, "\n=== RFC 8898 dialect, with an expired token first ===")
	dialog(w, rfc, bearer.FormRFC6750, expired, good)
	return nil
}

// dialog runs one registration: a REGISTER without credentials, then one
// per token, each answering the challenge of the previous response.
func dialog(w io.Writer, r *registrar, form bearer.Form, tokens ...string) {
	cseq := 2270
	var values []string
	for i := 0; ; i++ {
		fmt.Fprintf(w, "\n--> REGISTER sip:10.10.10.1 SIP/2.0\n    CSeq: %d REGISTER\n", cseq)
		for _, v := range values {
			fmt.Fprintf(w, "    %s: %s\n", r.authn, abbreviate(v))
		}
		status, headers := r.handle(values)
		fmt.Fprintf(w, "<-- SIP/2.0 %s\n    CSeq: %d REGISTER\n", status, cseq)
		for _, h := range headers {
			fmt.Fprintln(w, "    "+h)
		}
		if !strings.HasPrefix(status, "4") || i == len(tokens) {
			return
		}
		// The client reads the challenge back and answers it.
		_, chal, _ := strings.Cut(headers[0], ": ")
		c, err := bearer.ParseChallenge(chal)
		if err != nil {
			fmt.Fprintln(w, "    client cannot read the challenge:", err)
			return
		}
		if c.Error != "" {
			fmt.Fprintf(w, "    (client: token refused, %s: %s; fetching a new one from %s)\n", c.Error, c.ErrorDescription, orDefault(c.AuthzServer, "its OAuth server"))
		}
		cred := bearer.Credentials{Token: tokens[i], Form: form}
		values = []string{cred.String()}
		cseq++
	}
}

// sign makes a compact JWS (EdDSA) over claims.
func sign(key ed25519.PrivateKey, claims map[string]any) string {
	enc := base64.RawURLEncoding
	body, _ := json.Marshal(claims)
	input := enc.EncodeToString([]byte(`{"alg":"EdDSA","typ":"JWT"}`)) + "." + enc.EncodeToString(body)
	return input + "." + enc.EncodeToString(ed25519.Sign(key, []byte(input)))
}

// verify checks the signature and expiry of a token made by sign and
// returns its subject.
func verify(token string, key ed25519.PublicKey) (string, error) {
	enc := base64.RawURLEncoding
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", errors.New("not a JWS")
	}
	sig, err := enc.DecodeString(token[i+1:])
	if err != nil || !ed25519.Verify(key, []byte(token[:i]), sig) {
		return "", errors.New("bad signature")
	}
	_, payload, _ := strings.Cut(token[:i], ".")
	body, err := enc.DecodeString(payload)
	if err != nil {
		return "", err
	}
	var claims struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	if err := json.Unmarshal(body, &claims); err != nil {
		return "", err
	}
	if time.Now().Unix() >= claims.Exp {
		return "", errors.New("the access token expired")
	}
	return claims.Sub, nil
}

// abbreviate shortens long tokens for the terminal.
func abbreviate(v string) string {
	if len(v) <= 90 {
		return v
	}
	return v[:60] + "..." + v[len(v)-25:]
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
