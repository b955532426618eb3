package inspect

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/issuer"
)

// issued is the time of the source document's registration.
var issued = time.Date(2020, 3, 30, 11, 3, 19, 0, time.UTC)

func newIssuer(t *testing.T) *issuer.Issuer {
	t.Helper()
	iss, err := issuer.New(issuer.Config{
		Issuer: "https://cucm-pub.example.com:8443/ssosp/oauth",
		KeyID:  "7c1e2a38-0f0a-4a86-9d3c-4b2f8a1e5d10:8f14e45fceea167a5a36dedd4bea2543b0fb8a1b8a6c6e8d0e2a1c3d4f5a6b7c",
		Now:    func() time.Time { return issued },
	})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func mint(t *testing.T, iss *issuer.Issuer, nested bool) string {
	t.Helper()
	tok, err := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", Scopes: []string{"sip:register"}, Nested: &nested})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func checkToken1(t *testing.T, tok string, now time.Time) Result {
	t.Helper()
	r, err := Check(KindToken, []byte(tok), Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindToken {
		t.Fatalf("kind %q", r.Kind)
	}
	return r
}

func TestCheckTokenPlain(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	tok := mint(t, iss, false)
	r := checkToken1(t, "Bearer "+tok+"\n", issued.Add(10*time.Minute))
	if len(r.Findings) != 0 {
		t.Fatalf("findings %v", r.Findings)
	}
	v := r.Token
	iat, exp := issued, issued.Add(time.Hour)
	if v.Shape != ShapeJWS || v.Use != UseAccess || v.Issuer != "https://cucm-pub.example.com:8443/ssosp/oauth" || v.Subject != "rado" ||
		v.Device != "CSFrado" || v.Scope != "sip:register" || !v.IssuedAt.Equal(iat) || !v.ExpiresAt.Equal(exp) || v.Expired ||
		v.ExpiresIn != "50m0s" || v.EncryptedHeader != nil {
		t.Fatalf("view %+v", v)
	}
	wantHeader := map[string]any{"alg": "RS256", "kid": iss.KeyID(), "typ": "at+jwt"}
	if !reflect.DeepEqual(v.Header, wantHeader) {
		t.Fatalf("header %v", v.Header)
	}
	if v.Claims["exp"] != json.Number("1585569799") || v.Claims["sub"] != "rado" || len(v.Claims) != 8 {
		t.Fatalf("claims %v", v.Claims)
	}
	// The view never holds the signature.
	b, _ := json.Marshal(r)
	if sig := tok[strings.LastIndexByte(tok, '.')+1:]; strings.Contains(string(b), sig) {
		t.Fatal("the JSON holds the signature")
	}
}

func TestCheckTokenExpired(t *testing.T) {
	t.Parallel()
	tok := mint(t, newIssuer(t), false)
	r := checkToken1(t, tok, issued.Add(2*time.Hour))
	want := diag.Findings{{Code: CodeTokenExpired, Severity: diag.Error, Path: "claims.exp",
		Message: "the token expired at 2020-03-30T12:03:19Z, 1h0m0s before the time checked",
		Fix:     "get a new access token: a client refreshes it with its refresh token before it expires (Unified CM's access tokens live 60 minutes by default)"}}
	if !reflect.DeepEqual(r.Findings, want) || !r.Token.Expired || r.Token.ExpiresIn != "-1h0m0s" {
		t.Fatalf("got %v, view %+v", r.Findings, r.Token)
	}
	// Expired at exp itself (RFC 7519 §4.1.4: before, not at).
	if r := checkToken1(t, tok, issued.Add(time.Hour)); !r.Token.Expired || r.Findings.Codes()[0] != CodeTokenExpired {
		t.Fatalf("at exp: %v", r.Findings)
	}
	// Issued with a negative lifetime.
	expired, err := newIssuer(t).Mint(issuer.TokenRequest{User: "rado", TTL: -time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if r := checkToken1(t, expired, issued); !reflect.DeepEqual(r.Findings.Codes(), []string{CodeTokenExpired}) {
		t.Fatalf("negative TTL: %v", r.Findings)
	}
}

func TestCheckTokenNested(t *testing.T) {
	t.Parallel()
	iss := newIssuer(t)
	r := checkToken1(t, mint(t, iss, true), issued)
	kid, _ := iss.EncryptionKey()
	want := diag.Findings{{Code: CodeTokenEncryptedClaims, Severity: diag.Info, Path: "claims.private",
		Message: "Unified CM's nested token: the claims (user, device, scope, expiry) are encrypted in the private claim (JWE alg dir, enc A128CBC-HS256, kid " + kid +
			") and readable only with the cluster's encryption key",
		Fix: "check the token where the cluster's key is configured: sipoauth.Config.DecryptionKeys, or an Expressway that fetched it from Unified CM"}}
	if !reflect.DeepEqual(r.Findings, want) {
		t.Fatalf("findings %v", r.Findings)
	}
	v := r.Token
	if v.Shape != ShapeNested || v.Use != UseAccess || v.Claims != nil || v.ExpiresAt != nil || v.Header["alg"] != "RS256" || v.Header["typ"] != "JWT" ||
		!reflect.DeepEqual(v.EncryptedHeader, map[string]any{"alg": "dir", "enc": "A128CBC-HS256", "kid": kid}) {
		t.Fatalf("view %+v", v)
	}
}

func TestCheckTokenRefresh(t *testing.T) {
	t.Parallel()
	tok, err := newIssuer(t).MintRefresh("rado", "jabber")
	if err != nil {
		t.Fatal(err)
	}
	r := checkToken1(t, tok, issued.Add(24*time.Hour))
	want := diag.Findings{{Code: CodeTokenRefresh, Severity: diag.Error, Path: "claims.ctyp",
		Message: `this is a refresh token (ctyp "refresh"): it obtains access tokens from the authorization server and is never accepted as a SIP credential`,
		Fix:     "send the access token in Proxy-Authorization; use the refresh token only with the token endpoint's refresh_token grant"}}
	if !reflect.DeepEqual(r.Findings, want) {
		t.Fatalf("findings %v", r.Findings)
	}
	if v := r.Token; v.Use != UseRefresh || v.Shape != ShapeJWS || v.Claims["typ"] != "user" || v.Claims["ccid"] != "jabber" ||
		!v.ExpiresAt.Equal(issued.Add(60*24*time.Hour)) || v.ExpiresIn != "1416h0m0s" {
		t.Fatalf("view %+v", v)
	}
}

// jws builds an unsigned-looking compact JWS from JSON texts.
func jws(header, claims string) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(header)) + "." + e([]byte(claims)) + "." + e([]byte("signature"))
}

func TestCheckTokenFindings(t *testing.T) {
	t.Parallel()
	const exp = `"exp":1585569799`
	cases := []struct {
		name  string
		token string
		codes []string
		paths []string
	}{
		{"alg none", jws(`{"alg":"none"}`, `{"sub":"rado",`+exp+`}`), []string{CodeTokenAlgNone}, []string{"header.alg"}},
		{"alg NONE", jws(`{"alg":"NONE"}`, `{"sub":"rado",`+exp+`}`), []string{CodeTokenAlgNone}, []string{"header.alg"}},
		{"HS256", jws(`{"alg":"HS256"}`, `{"sub":"rado",`+exp+`}`), []string{CodeTokenHMAC}, []string{"header.alg"}},
		{"no alg", jws(`{"typ":"JWT"}`, `{`+exp+`}`), []string{CodeTokenUnreadable}, []string{"header.alg"}},
		{"no exp", jws(`{"alg":"RS256"}`, `{"sub":"rado"}`), []string{CodeTokenNoExp}, []string{"claims.exp"}},
		{"exp not a number", jws(`{"alg":"RS256"}`, `{"exp":"tomorrow"}`), []string{CodeTokenUnreadable}, []string{"claims.exp"}},
		{"exp out of range", jws(`{"alg":"RS256"}`, `{"exp":-1}`), []string{CodeTokenUnreadable}, []string{"claims.exp"}},
		{"nbf and iat in the future", jws(`{"alg":"RS256"}`, `{"iat":1585569799,"nbf":1585569799,`+exp+`}`),
			[]string{CodeTokenNotYetValid, CodeTokenNotYetValid}, []string{"claims.iat", "claims.nbf"}},
		{"typ refresh_token claim", jws(`{"alg":"RS256"}`, `{"token_type":"refresh_token",`+exp+`}`), []string{CodeTokenRefresh}, []string{"claims.token_type"}},
		{"header typ rt+jwt", jws(`{"alg":"RS256","typ":"rt+jwt"}`, `{`+exp+`}`), []string{CodeTokenRefresh}, []string{"header.typ"}},
		{"typ claim refresh", jws(`{"alg":"RS256"}`, `{"typ":"Refresh",`+exp+`}`), []string{CodeTokenRefresh}, []string{"claims.typ"}},
		{"everything wrong", jws(`{"alg":"none"}`, `{"ctyp":"refresh"}`),
			[]string{CodeTokenRefresh, CodeTokenAlgNone, CodeTokenNoExp}, []string{"claims.ctyp", "header.alg", "claims.exp"}},
		{"jwe", "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0..aXY.Y3Q.dGFn", []string{CodeTokenEncryptedClaims}, []string{"token"}},
		{"four parts", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln.eHg", []string{CodeTokenUnreadable}, []string{"token"}},
		{"header not base64url", "ey!!.e30.c2ln", []string{CodeTokenUnreadable}, []string{"header"}},
		{"header not JSON", "eyJhbGci.e30.c2ln", []string{CodeTokenUnreadable}, []string{"header"}},
		{"header an array", jws(`["alg"]`, `{}`), []string{CodeTokenUnreadable}, []string{"header"}},
		{"claims not JSON", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", []string{CodeTokenUnreadable}, []string{"claims"}},
		{"claims with data after them", jws(`{"alg":"RS256"}`, `{"exp":1}{}`), []string{CodeTokenUnreadable}, []string{"claims"}},
		{"signature not base64url", jws(`{"alg":"RS256"}`, `{}`) + "*", []string{CodeTokenUnreadable}, []string{"signature"}},
		{"private claim not a JWE", jws(`{"alg":"RS256"}`, `{"private":"x",`+exp+`}`), []string{}, []string{}},
		{"private claim with a bad JWE header", jws(`{"alg":"RS256"}`, `{"private":"e30x.a.b.c.d"}`), []string{CodeTokenUnreadable}, []string{"claims.private"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := checkToken1(t, tc.token, issued)
			paths := []string{}
			for _, f := range r.Findings {
				paths = append(paths, f.Path)
			}
			if !reflect.DeepEqual(r.Findings.Codes(), tc.codes) || !reflect.DeepEqual(paths, tc.paths) {
				t.Fatalf("codes %v paths %v, want %v %v\n%v", r.Findings.Codes(), paths, tc.codes, tc.paths, r.Findings)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCheckTokenMessages(t *testing.T) {
	t.Parallel()
	r := checkToken1(t, jws(`{"alg":"HS256"}`, `{"nbf":1585566259,"exp":1585569799}`), issued)
	want := diag.Findings{
		{Code: CodeTokenHMAC, Severity: diag.Warning, Path: "header.alg",
			Message: "the token is signed with a shared secret (HS256): whoever can check it can also mint one",
			Fix:     "sign with a private key (RS256, ES256) and give validators the public key; a validator accepts HMAC only with a secret configured for it"},
		{Code: CodeTokenNotYetValid, Severity: diag.Error, Path: "claims.nbf",
			Message: "the token is valid only from 2020-03-30T11:04:19Z, 1m0s after the time checked",
			Fix:     "check the clocks of the authorization server and the registrar (NTP); validators allow a small skew only"},
	}
	if !reflect.DeepEqual(r.Findings, want) {
		t.Fatalf("findings %v", r.Findings)
	}
	r = checkToken1(t, "eyJhbGciOiJSUzI1NiJ9.e30", issued)
	want = diag.Findings{{Code: CodeTokenUnreadable, Severity: diag.Error, Path: "token",
		Message: "a token has three dot-separated parts (JWS) or five (JWE); this one has 2",
		Fix:     "paste the whole token: three base64url parts separated by dots (a signed JWT) or five (an encrypted JWE), as the token endpoint returned it"}}
	if !reflect.DeepEqual(r.Findings, want) || r.Token != nil {
		t.Fatalf("findings %v, view %+v", r.Findings, r.Token)
	}
}
