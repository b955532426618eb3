package inspect

import (
	"reflect"
	"testing"
	"time"

	"github.com/sipoauth/sdk/diag"
)

func checkHeader1(t *testing.T, in string) Result {
	t.Helper()
	r, err := Check(KindHeader, []byte(in), Options{Now: issued})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheckHeaderChallenges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		view *HeaderView
		want diag.Findings
	}{
		{
			name: "unified CM, from the source document's 407",
			in:   `Proxy-Authenticate: Bearer realm="ccmsipline"`,
			view: &HeaderView{Name: "Proxy-Authenticate", Type: TypeChallenge, Realm: "ccmsipline"},
			want: diag.Findings{{Code: CodeChallenge, Severity: diag.Info, Path: "Proxy-Authenticate",
				Message: `a Bearer challenge (realm "ccmsipline"): the registrar asks for an access token`,
				Fix:     `retry the REGISTER with Proxy-Authorization: Bearer token="<access token>", as Jabber answers Unified CM`}},
		},
		{
			name: "RFC 6750 §3 example of an expired token",
			in:   `WWW-Authenticate: Bearer realm="example", error="invalid_token", error_description="The access token expired"`,
			view: &HeaderView{Name: "WWW-Authenticate", Type: TypeChallenge, Realm: "example", Error: "invalid_token",
				Params: map[string]string{"error_description": "The access token expired"}},
			want: diag.Findings{{Code: CodeHeaderInvalidToken, Severity: diag.Error, Path: "WWW-Authenticate",
				Message: `the registrar refused the token (error="invalid_token"): The access token expired`,
				Fix:     "get a new access token and retry; if it is refused again, inspect the token: it is expired or revoked, or its issuer, audience or signing key is not the one the registrar trusts"}},
		},
		{
			name: "insufficient scope, bare value",
			in:   `Bearer error_uri="https://as.example.com/e", error="insufficient_scope", scope="sip", realm="r", error_description="need sip", authz_server="https://as.example.com"`,
			view: &HeaderView{Type: TypeChallenge, Realm: "r", Error: "insufficient_scope", Params: map[string]string{
				"scope": "sip", "authz_server": "https://as.example.com", "error_description": "need sip", "error_uri": "https://as.example.com/e"}},
			want: diag.Findings{{Code: CodeHeaderInsufficientScope, Severity: diag.Error, Path: "header",
				Message: `the token lacks a scope the registrar requires (error="insufficient_scope") (scope="sip"): need sip`,
				Fix:     "request an access token with the scope the challenge names; the user or client may need to be granted it on the authorization server"}},
		},
		{
			name: "another error",
			in:   `WWW-Authenticate: Bearer realm=ccmsipline, error=invalid_request`,
			view: &HeaderView{Name: "WWW-Authenticate", Type: TypeChallenge, Realm: "ccmsipline", Error: "invalid_request"},
			want: diag.Findings{{Code: CodeHeaderChallengeError, Severity: diag.Error, Path: "WWW-Authenticate",
				Message: `the registrar refused the request (error="invalid_request")`,
				Fix:     "check the credentials header: one Bearer token, in the form the registrar expects"}},
		},
		{
			name: "RFC 8898 challenge without error, bare",
			in:   `Bearer realm="atlanta.example.com", scope="sip:register openid", authz_server="https://as.example.com:8443/"`,
			view: &HeaderView{Type: TypeChallenge, Realm: "atlanta.example.com", Params: map[string]string{
				"scope": "sip:register openid", "authz_server": "https://as.example.com:8443/"}},
			want: diag.Findings{{Code: CodeChallenge, Severity: diag.Info, Path: "header",
				Message: `a Bearer challenge (realm "atlanta.example.com"): the registrar asks for an access token`,
				Fix:     "retry the REGISTER with Authorization: Bearer <access token> (RFC 8898)"}},
		},
		{
			name: "folded and unknown parameters",
			in:   "WWW-Authenticate: Bearer realm=\"r\",\r\n qop=auth",
			view: &HeaderView{Name: "WWW-Authenticate", Type: TypeChallenge, Realm: "r", Params: map[string]string{"qop": "auth"}},
			want: diag.Findings{{Code: CodeChallenge, Severity: diag.Info, Path: "WWW-Authenticate",
				Message: `a Bearer challenge (realm "r"): the registrar asks for an access token`,
				Fix:     "retry the REGISTER with Authorization: Bearer <access token> (RFC 8898)"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := checkHeader1(t, tc.in)
			if !reflect.DeepEqual(r.Header, tc.view) || !reflect.DeepEqual(r.Findings, tc.want) {
				t.Fatalf("view %+v\nfindings %v\nwant %+v\n%v", r.Header, r.Findings, tc.view, tc.want)
			}
		})
	}
}

func TestCheckHeaderCredentials(t *testing.T) {
	t.Parallel()
	form := func(path, msg string) diag.Finding {
		return diag.Finding{Code: CodeHeaderForm, Severity: diag.Info, Path: path, Message: msg}
	}
	cases := []struct {
		name string
		in   string
		view *HeaderView
		want diag.Findings
	}{
		{
			name: "pjsip with another realm",
			in:   `Proxy-Authorization: Bearer token="abc.def.ghi", username="rado", realm="sip.example.org"`,
			view: &HeaderView{Name: "Proxy-Authorization", Type: TypeCredentials, Form: "pjsip", Realm: "sip.example.org",
				Token: "abc.d…(11 bytes)", Params: map[string]string{"username": "rado"}},
			want: diag.Findings{
				form("Proxy-Authorization", "credentials in PJSIP's form, a token parameter with other parameters beside it"),
				{Code: CodeHeaderRealmMismatch, Severity: diag.Warning, Path: "Proxy-Authorization",
					Message: `the credentials are for realm "sip.example.org": a Unified CM registrar (realm "ccmsipline") skips credentials for another realm`,
					Fix:     "answer with the realm of the challenge, or with no realm"},
			},
		},
		{
			name: "RFC 6750 §2.1 example token",
			in:   `Authorization: Bearer mF_9.B5f-4.1JqM`,
			view: &HeaderView{Name: "Authorization", Type: TypeCredentials, Form: "rfc6750", Token: "mF_9.B5…(15 bytes)"},
			want: diag.Findings{form("Authorization", "credentials in RFC 6750's form, Bearer <token>, as RFC 8898 specifies for SIP")},
		},
		{
			name: "belle-sip, its realm is its server's",
			in:   `Bearer mF_9.B5f-4.1JqM, realm="sip.example.org"`,
			view: &HeaderView{Type: TypeCredentials, Form: "belle-sip", Realm: "sip.example.org", Token: "mF_9.B5…(15 bytes)"},
			want: diag.Findings{form("header", "credentials in belle-sip's form, a bare token followed by parameters")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := checkHeader1(t, tc.in)
			if !reflect.DeepEqual(r.Header, tc.view) || !reflect.DeepEqual(r.Findings, tc.want) || r.Token != nil {
				t.Fatalf("view %+v\nfindings %v\nwant %+v\n%v", r.Header, r.Findings, tc.view, tc.want)
			}
		})
	}
}

// TestCheckHeaderToken: credentials carrying a JWT get the token's
// findings and view too.
func TestCheckHeaderToken(t *testing.T) {
	t.Parallel()
	tok := mint(t, newIssuer(t), false)
	r, err := Check(KindHeader, []byte(`Proxy-Authorization: Bearer token="`+tok+`"`), Options{Now: issued.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Findings.Codes(), []string{CodeHeaderForm, CodeTokenExpired}) || r.Header.Form != "cisco" ||
		r.Header.Token != tok[:12]+"…(801 bytes)" || len(tok) != 801 || r.Token == nil || r.Token.Subject != "rado" {
		t.Fatalf("findings %v, header %+v, token %+v (%d bytes)", r.Findings, r.Header, r.Token, len(tok))
	}
	if r.Findings[0].Message != `credentials in Cisco's form, Bearer token="…", as Jabber sends them to Unified CM` {
		t.Fatalf("form message %q", r.Findings[0].Message)
	}
}

func TestCheckHeaderUnreadable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		view     *HeaderView
		want     diag.Finding
	}{
		{"unterminated quote", `Proxy-Authenticate: Bearer realm="ccmsipline`, &HeaderView{Name: "Proxy-Authenticate", Type: TypeChallenge},
			diag.Finding{Code: CodeHeaderUnreadable, Severity: diag.Error, Path: "Proxy-Authenticate@13",
				Message: `bearer: unterminated quoted string at offset 13 in parameter "realm"`,
				Fix:     `check the header's syntax: Bearer, then the token or parameters such as realm="ccmsipline" (RFC 3261 §25.1 quoting)`}},
		{"bare, unterminated quote", `Bearer realm="ccmsipline`, nil,
			diag.Finding{Code: CodeHeaderUnreadable, Severity: diag.Error, Path: "header@13",
				Message: `bearer: unterminated quoted string at offset 13 in parameter "realm"`,
				Fix:     `check the header's syntax: Bearer, then the token or parameters such as realm="ccmsipline" (RFC 3261 §25.1 quoting)`}},
		{"credentials without a token", `Proxy-Authorization: Bearer realm="ccmsipline"`, &HeaderView{Name: "Proxy-Authorization", Type: TypeCredentials},
			diag.Finding{Code: CodeHeaderUnreadable, Severity: diag.Error, Path: "Proxy-Authorization@25",
				Message: `bearer: missing token at offset 25`,
				Fix:     `check the header's syntax: Bearer, then the token or parameters such as realm="ccmsipline" (RFC 3261 §25.1 quoting)`}},
		{"digest challenge", `Proxy-Authenticate: Digest realm="ccmsipline", nonce="abc"`, &HeaderView{Name: "Proxy-Authenticate", Type: TypeChallenge, Scheme: "Digest"},
			diag.Finding{Code: CodeHeaderNotBearer, Severity: diag.Error, Path: "Proxy-Authenticate",
				Message: `the header uses the "Digest" scheme, not Bearer`,
				Fix:     `a registrar in SIP OAuth mode challenges with Bearer (Proxy-Authenticate: Bearer realm="ccmsipline"): another scheme means the request reached a port or a device whose profile does not enable OAuth`}},
		{"bare digest credentials", `Digest username="rado", realm="ccmsipline"`, nil,
			diag.Finding{Code: CodeHeaderNotBearer, Severity: diag.Error, Path: "header",
				Message: `the header uses the "Digest" scheme, not Bearer`,
				Fix:     `in SIP OAuth mode the client answers with its access token (Proxy-Authorization: Bearer token="<token>"); digest authentication is not supported with SIP OAuth`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := checkHeader1(t, tc.in)
			if !reflect.DeepEqual(r.Header, tc.view) || !reflect.DeepEqual(r.Findings, diag.Findings{tc.want}) {
				t.Fatalf("view %+v\nfindings %+v\nwant %+v", r.Header, r.Findings, tc.want)
			}
		})
	}
}

func TestShortToken(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                          "",
		"a":                         "…(1 bytes)",
		"abcd":                      "ab…(4 bytes)",
		"eyJhbGciOiJSUzI1NiJ9.e30.": "eyJhbGciOiJS…(25 bytes)",
	} {
		if got := shortToken(in); got != want {
			t.Errorf("shortToken(%q) = %q, want %q", in, got, want)
		}
	}
}
