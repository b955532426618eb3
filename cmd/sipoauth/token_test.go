package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/issuer"
)

// tokenLab is a signing key, a public key, an encryption key and an
// issuer over them, in files.
type tokenLab struct {
	dir                      string
	priv, pub, enc, otherPub string
	encKey                   []byte
	issuer                   *issuer.Issuer
}

func newTokenLab(t *testing.T) *tokenLab {
	t.Helper()
	l := &tokenLab{dir: t.TempDir(), encKey: make([]byte, 32)}
	rand.Read(l.encKey)
	priv, pub := rsaKey(t)
	_, other := rsaKey(t)
	l.priv = write(t, l.dir, "signing.pem", priv)
	l.pub = write(t, l.dir, "signing.pub.pem", pub)
	l.otherPub = write(t, l.dir, "other.pub.pem", other)
	l.enc = write(t, l.dir, "cluster.key", []byte(hex.EncodeToString(l.encKey)+"\n"))
	var err error
	l.issuer, err = issuer.New(issuer.Config{Issuer: "https://cucm.example.com", SigningKeyPEM: priv,
		EncryptionKey: l.encKey, EncryptionKeyID: "cluster-1"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *tokenLab) mint(t *testing.T, r issuer.TokenRequest) string {
	t.Helper()
	tok, err := l.issuer.Mint(r)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokenMintVerifyInspect(t *testing.T) {
	l := newTokenLab(t)
	tok := strings.TrimSpace(cli(t, "", "token", "mint", "--key", l.priv, "--sub", "rado", "--device", "CSFrado",
		"--iss", "https://cucm.example.com", "--aud", "cucm", "--scope", "sip:register openid").want(t, exitOK).stdout)
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \n") {
		t.Fatalf("mint printed %q", tok)
	}

	r := cli(t, "", "token", "verify", "--keys", l.pub, "--iss", "https://cucm.example.com", "--aud", "cucm", "--device", "CSFrado", tok).want(t, exitOK)
	for _, want := range []string{"valid token\n", "  user      rado\n", "  device    CSFrado\n", "  scope     sip:register openid\n",
		"  issuer    https://cucm.example.com\n", "  audience  cucm\n", "  nested    no\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "  expires   ") || !strings.Contains(r.stdout, "(in 59m") && !strings.Contains(r.stdout, "(in 1h0m0s)") {
		t.Errorf("verify expiry:\n%s", r.stdout)
	}
	// The signing key file itself verifies too (its public half is used).
	cli(t, tok, "token", "verify", "--keys", l.priv, "-").want(t, exitOK).contains(t, "valid token\n")

	var rep verifyReport
	r = cli(t, "", "token", "verify", "--json", "--keys", l.pub, tok).want(t, exitOK)
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Valid || rep.Identity.User != "rado" || rep.Identity.Device != "CSFrado" || !reflect.DeepEqual(rep.Identity.Scopes, []string{"sip:register", "openid"}) ||
		rep.Error != "" || len(rep.Findings) != 0 || !strings.Contains(r.stdout, `"findings": []`) {
		t.Errorf("verify JSON:\n%s", r.stdout)
	}

	res := cli(t, "", "token", "inspect", "--json", tok).want(t, exitOK).result(t)
	if v := res.Token; v.Shape != "jws" || v.Use != "access" || v.Subject != "rado" || v.Device != "CSFrado" || v.Issuer != "https://cucm.example.com" || v.Scope != "sip:register openid" || v.Expired {
		t.Errorf("inspect: %+v", v)
	}
	r = cli(t, "", "token", "inspect", tok).want(t, exitOK)
	for _, want := range []string{"shape    jws (a signed JWT)\n", "use      access\n", "subject  rado\n", "device   CSFrado\n", "claims:\n", `  sub     "rado"` + "\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect lacks %q:\n%s", want, r.stdout)
		}
	}

	// JSON of mint: the token and what it is.
	var m mintReport
	r = cli(t, "", "token", "mint", "--json", "--key", l.priv, "--sub", "rado", "--kid", "lab-1", "--ttl", "10m").want(t, exitOK)
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil || m.Use != "access" || m.Shape != "jws" || m.KeyID != "lab-1" ||
		m.Findings == nil || len(m.Findings) != 0 || time.Until(m.ExpiresAt) > 10*time.Minute+time.Second || jwsKeyID(m.Token) != "lab-1" {
		t.Errorf("mint JSON (%v):\n%s", err, r.stdout)
	}
}

func TestTokenNestedAndRefresh(t *testing.T) {
	l := newTokenLab(t)
	nested := strings.TrimSpace(cli(t, "", "token", "mint", "--key", l.priv, "--sub", "rado", "--device", "CSFrado",
		"--nested", "--enc-key", l.enc, "--enc-kid", "cluster-1").want(t, exitOK).stdout)
	if jweKeyID(nested) != "cluster-1" {
		t.Fatalf("JWE kid %q", jweKeyID(nested))
	}
	cli(t, "", "token", "verify", "--keys", l.pub, "--decryption-key", l.enc, nested).want(t, exitOK).
		contains(t, "  user      rado\n", "  device    CSFrado\n", "  nested    yes\n")
	// The key as base64 and as a JWK decrypts it too.
	b64 := write(t, l.dir, "cluster.b64", []byte(base64.StdEncoding.EncodeToString(l.encKey)))
	cli(t, "", "token", "verify", "--keys", l.pub, "--decryption-key", b64, nested).want(t, exitOK)
	jwk := write(t, l.dir, "cluster.jwk", []byte(`{"kty":"oct","kid":"cluster-1","k":"`+base64.RawURLEncoding.EncodeToString(l.encKey)+`"}`))
	cli(t, "", "token", "verify", "--keys", l.pub, "--decryption-key", jwk, nested).want(t, exitOK)
	// So do the registrar's JSON object of keys by kid, and a JWK set
	// whose other key the token does not name.
	byKid := write(t, l.dir, "cluster.json", []byte(`{"cluster-1": "`+base64.StdEncoding.EncodeToString(l.encKey)+`"}`))
	cli(t, "", "token", "verify", "--keys", l.pub, "--decryption-key", byKid, nested).want(t, exitOK)
	other := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	set := write(t, l.dir, "cluster.jwks", []byte(`{"keys": [{"kty":"oct","kid":"cluster-0","k":"`+other+`"}, {"kty":"oct","kid":"cluster-1","k":"`+base64.RawURLEncoding.EncodeToString(l.encKey)+`"}]}`))
	cli(t, "", "token", "verify", "--keys", l.pub, "--decryption-key", set, nested).want(t, exitOK)
	// Minting with a set takes the key --enc-kid names, and needs it.
	cli(t, "", "token", "mint", "--key", l.priv, "--sub", "rado", "--nested", "--enc-key", set).want(t, exitUsage).
		errContains(t, "cluster.jwks: 2 keys and no --enc-kid that names one of them")
	again := strings.TrimSpace(cli(t, "", "token", "mint", "--key", l.priv, "--sub", "rado", "--nested", "--enc-key", set, "--enc-kid", "cluster-1").want(t, exitOK).stdout)
	cli(t, "", "token", "verify", "--keys", l.pub, "--decryption-key", l.enc, again).want(t, exitOK)
	// Without the key, the private claims cannot be read.
	r := cli(t, "", "token", "verify", "--keys", l.pub, nested).want(t, exitFindings)
	if !strings.HasPrefix(r.stdout, "token refused: sipoauth: cannot decrypt the token's private claims") ||
		!strings.Contains(r.stdout, "\nRFC 6750 error code: invalid_token\n1 finding: 1 error\nerror token-decrypt-failed token: ") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	res := cli(t, "", "token", "inspect", "--json", nested).want(t, exitOK).result(t)
	if res.Token.Shape != "nested" || res.Token.Header["alg"] != "RS256" || res.Token.EncryptedHeader["kid"] != "cluster-1" || res.Token.EncryptedHeader["enc"] != "A128CBC-HS256" {
		t.Errorf("nested inspect: %+v", res.Token)
	}
	// An issuer's nested token, minted by the library, verifies alike.
	libNested := l.mint(t, issuer.TokenRequest{User: "alice", Nested: ptr(true)})
	cli(t, "", "token", "verify", "--keys", l.pub, "--decryption-key", l.enc, libNested).want(t, exitOK).contains(t, "  user      alice\n")

	refresh := strings.TrimSpace(cli(t, "", "token", "mint", "--key", l.priv, "--sub", "rado", "--refresh", "--client-id", "jabber").want(t, exitOK).stdout)
	res = cli(t, "", "token", "inspect", "--json", refresh).result(t)
	if res.Token.Use != "refresh" || res.Token.Claims["ctyp"] != "refresh" {
		t.Errorf("refresh inspect: %+v", res.Token)
	}
	var rep verifyReport
	r = cli(t, "", "token", "verify", "--json", "--keys", l.pub, refresh).want(t, exitFindings)
	json.Unmarshal([]byte(r.stdout), &rep)
	if rep.Valid || rep.ErrorCode != "invalid_token" || codes(rep.Findings)[0] != "error token-refresh" || rep.Error != "sipoauth: a refresh token is not a credential" {
		t.Errorf("refresh verify:\n%s", r.stdout)
	}
	libRefresh, _ := l.issuer.MintRefresh("rado", "jabber")
	cli(t, "", "token", "verify", "--keys", l.pub, libRefresh).want(t, exitFindings).contains(t, "error token-refresh token: ")
}

func ptr[T any](v T) *T { return &v }

// TestTokenRefused: each reason has its code, its RFC 6750 error code,
// and exit status 1.
func TestTokenRefused(t *testing.T) {
	l := newTokenLab(t)
	good := l.mint(t, issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	expired := strings.TrimSpace(cli(t, "", "token", "mint", "--key", l.priv, "--sub", "rado", "--ttl", "-1h").want(t, exitOK).stdout)
	cases := []struct {
		name  string
		args  []string
		code  string
		rfc   string
		error string
	}{
		{"expired", []string{"--keys", l.pub, expired}, CodeTokenExpired, "invalid_token", "sipoauth: token expired"},
		{"wrong key", []string{"--keys", l.otherPub, good}, CodeTokenBadSignature, "invalid_token", "sipoauth: bad signature"},
		{"wrong issuer", []string{"--keys", l.pub, "--iss", "https://other.example.com", good}, CodeTokenWrongIssuer, "invalid_token", "sipoauth: wrong issuer"},
		{"wrong audience", []string{"--keys", l.pub, "--aud", "cucm", good}, CodeTokenWrongAudience, "invalid_token", "sipoauth: wrong audience"},
		{"other device", []string{"--keys", l.pub, "--device", "CSFalice", good}, CodeTokenDeviceMismatch, "invalid_token", "sipoauth: token not bound to this request"},
		{"garbage", []string{"--keys", l.pub, "not.a.token"}, CodeTokenMalformed, "invalid_token", "sipoauth: malformed token"},
		{"two parts", []string{"--keys", l.pub, "abc.def"}, CodeTokenMalformed, "invalid_token", "sipoauth: malformed token: not three dot-separated parts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rep verifyReport
			r := cli(t, "", append([]string{"token", "verify", "--json"}, tc.args...)...).want(t, exitFindings)
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Valid || rep.ErrorCode != tc.rfc || !strings.HasPrefix(rep.Error, tc.error) || len(rep.Findings) != 1 ||
				rep.Findings[0].Code != tc.code || rep.Findings[0].Path != "token" || rep.Findings[0].Message != rep.Error || rep.Findings[0].Fix == "" {
				t.Errorf("JSON:\n%s", r.stdout)
			}
			h := cli(t, "", append([]string{"token", "verify"}, tc.args...)...).want(t, exitFindings)
			if want := "token refused: " + rep.Error + "\nRFC 6750 error code: " + tc.rfc + "\n1 finding: 1 error\nerror " + tc.code + " token: " + rep.Error + "\n  fix: " + rep.Findings[0].Fix + "\n"; h.stdout != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", h.stdout, want)
			}
		})
	}
	// token inspect says an expired token is expired without any key.
	res := cli(t, "", "token", "inspect", "--json", expired).want(t, exitFindings).result(t)
	if !res.Token.Expired || codes(res.Findings)[0] != "error token-expired" {
		t.Errorf("inspect of an expired token: %+v %+v", res.Token, res.Findings)
	}
}

func TestTokenVerifyJWKS(t *testing.T) {
	l := newTokenLab(t)
	tok := l.mint(t, issuer.TokenRequest{User: "rado", Device: "CSFrado", Scopes: []string{"sip:register"}})
	jwks := write(t, l.dir, "jwks.json", l.issuer.JWKS())
	cli(t, "", "token", "verify", "--keys", jwks, tok).want(t, exitOK).contains(t, "  user      rado\n", "  scope     sip:register\n")

	srv := httptest.NewServer(l.issuer.Handler())
	defer srv.Close()
	cli(t, tok+"\n", "token", "verify", "--keys", srv.URL+"/.well-known/jwks.json", "-").want(t, exitOK).contains(t, "  user      rado\n")
	// A token of another issuer is signed by a key the set lacks.
	other, _ := issuer.New(issuer.Config{})
	foreign, _ := other.Mint(issuer.TokenRequest{User: "eve"})
	cli(t, "", "token", "verify", "--keys", srv.URL+"/.well-known/jwks.json", foreign).want(t, exitFindings).contains(t, "error token-unknown-key token: ")
	// A URL that serves no JWKS cannot be used.
	cli(t, "", "token", "verify", "--keys", srv.URL+"/nothing-here", tok).want(t, exitUsage).errContains(t, "sipoauth token verify: ")
}

func FuzzTokenKeyIDs(f *testing.F) {
	for _, s := range []string{"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.sig", "a.b.c", "..", "", "eyJ.eyJwcml2YXRlIjoiZXlKcmFXUWlPaUpqTVNKOS5hLmIuYy5kIn0.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		jwsKeyID(s)
		jweKeyID(s)
	})
}
