package bearer

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// jwtLike returns a token of exactly n bytes shaped like a compact JWS:
// three base64url segments joined by dots.
func jwtLike(n int) string {
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"5e8f5d3e-29b4-4b4c-8a5a-0b1c2d3e4f50:0123456789abcdef","typ":"JWT"}`))
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(i*7 + 3)
	}
	body := base64.RawURLEncoding.EncodeToString(raw)
	tok := head + "." + body
	tok = tok[:n-44] + "." + body[:43]
	return tok
}

func TestJWTLike(t *testing.T) {
	t.Parallel()
	tok := jwtLike(1000)
	if len(tok) != 1000 || strings.Count(tok, ".") != 2 || checkB64Token(tok) != -1 {
		t.Fatalf("jwtLike(1000) = %d bytes, %d dots", len(tok), strings.Count(tok, "."))
	}
}

var credentialsCases = []struct {
	name string
	in   string
	want Credentials
	out  string
}{
	{
		name: "cisco jabber, from the source document",
		in:   `Bearer token="eyJhbGciOiJSUzI1NiJ9.eyJwcml2YXRlIjoiZXlKaGJHY2lPaUprYVhJaWZRIn0.c2lnbmF0dXJl"`,
		want: Credentials{Token: "eyJhbGciOiJSUzI1NiJ9.eyJwcml2YXRlIjoiZXlKaGJHY2lPaUprYVhJaWZRIn0.c2lnbmF0dXJl", Form: FormCisco},
		out:  `Bearer token="eyJhbGciOiJSUzI1NiJ9.eyJwcml2YXRlIjoiZXlKaGJHY2lPaUprYVhJaWZRIn0.c2lnbmF0dXJl"`,
	},
	{
		name: "pjsip",
		in:   `Bearer token="abc.def.ghi", username="rado", realm="ccmsipline"`,
		want: Credentials{Token: "abc.def.ghi", Form: FormPJSIP, Realm: "ccmsipline", Params: []Param{{"username", "rado", true}}},
		out:  `Bearer token="abc.def.ghi", realm="ccmsipline", username="rado"`,
	},
	{
		name: "RFC 6750 §2.1 example token",
		in:   `Bearer mF_9.B5f-4.1JqM`,
		want: Credentials{Token: "mF_9.B5f-4.1JqM", Form: FormRFC6750},
		out:  `Bearer mF_9.B5f-4.1JqM`,
	},
	{
		name: "belle-sip",
		in:   `Bearer mF_9.B5f-4.1JqM, realm="sip.example.org"`,
		want: Credentials{Token: "mF_9.B5f-4.1JqM", Form: FormBelleSIP, Realm: "sip.example.org"},
		out:  `Bearer mF_9.B5f-4.1JqM, realm="sip.example.org"`,
	},
	{
		name: "b64token with padding, + and /",
		in:   `Bearer YWJj+/d==`,
		want: Credentials{Token: "YWJj+/d==", Form: FormRFC6750},
		out:  `Bearer YWJj+/d==`,
	},
	{
		name: "padding then a parameter",
		in:   `Bearer YWI=,realm=r`,
		want: Credentials{Token: "YWI=", Form: FormBelleSIP, Realm: "r"},
		out:  `Bearer YWI=, realm="r"`,
	},
	{
		name: "case-insensitive scheme and names, unquoted token parameter",
		in:   `BEARER Token=abc.def`,
		want: Credentials{Token: "abc.def", Form: FormCisco},
		out:  `Bearer token="abc.def"`,
	},
	{
		name: "quoted-pair inside the token parameter",
		in:   `Bearer token="a\bc"`,
		want: Credentials{Token: "abc", Form: FormCisco},
		out:  `Bearer token="abc"`,
	},
	{
		name: "white space and a fold",
		in:   "Bearer\r\n token = \"t.u.v\" ,\r\n realm=\"r\" ",
		want: Credentials{Token: "t.u.v", Form: FormPJSIP, Realm: "r"},
		out:  `Bearer token="t.u.v", realm="r"`,
	},
	{
		name: "a bare token named token",
		in:   `Bearer token`,
		want: Credentials{Token: "token", Form: FormRFC6750},
		out:  `Bearer token`,
	},
	{
		name: "empty realm is absent",
		in:   `Bearer token="t", realm=""`,
		want: Credentials{Token: "t", Form: FormCisco},
		out:  `Bearer token="t"`,
	},
}

func TestParseCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range credentialsCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCredentials(tc.in)
			if err != nil {
				t.Fatalf("ParseCredentials(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseCredentials(%q)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.out {
				t.Fatalf("String() = %q, want %q", s, tc.out)
			}
			if b := got.AppendTo([]byte("Proxy-Authorization: ")); string(b) != "Proxy-Authorization: "+tc.out {
				t.Fatalf("AppendTo = %q", b)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			again, err := ParseCredentials(tc.out)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("reparse of %q = %#v, %v; want %#v", tc.out, again, err, got)
			}
		})
	}
}

func TestParseCredentialsAliasesInput(t *testing.T) {
	t.Parallel()
	in := `Bearer token="` + jwtLike(1000) + `"`
	c, err := ParseCredentials(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Token) != 1000 || c.Token != in[14:1014] {
		t.Fatalf("token = %d bytes, not the input's", len(c.Token))
	}
	if unsafe.StringData(c.Token) != unsafe.StringData(in[14:]) {
		t.Fatal("token does not alias the input")
	}
}

func TestParseCredentialsErrors(t *testing.T) {
	t.Parallel()
	cases := append(errorCases[:len(errorCases):len(errorCases)],
		errorCase{"quote before a name", `Bearer "realm="a"`, ErrBadTokenChar, 7},
		errorCase{"scheme only", `Bearer`, ErrMissingToken, 6},
		errorCase{"scheme and spaces", `Bearer   `, ErrMissingToken, 9},
		errorCase{"empty token parameter", `Bearer token=""`, ErrMissingToken, 13},
		errorCase{"realm but no token", `Bearer realm="ccmsipline"`, ErrMissingToken, 25},
		errorCase{"unknown parameter but no token", `Bearer abc=def`, ErrMissingToken, 14},
		errorCase{"quote in a bare token", `Bearer ab"c`, ErrBadTokenChar, 9},
		errorCase{"space in a bare token", `Bearer abc def`, ErrBadTokenChar, 10},
		errorCase{"bad first char", `Bearer $abc`, ErrBadTokenChar, 7},
		errorCase{"NUL in a bare token", "Bearer ab\x00c", ErrControlChar, 9},
		errorCase{"space in the token parameter", `Bearer token="ab cd"`, ErrBadTokenChar, 16},
		errorCase{"padding inside the token", `Bearer token="ab=cd"`, ErrBadTokenChar, 17},
		errorCase{"only padding", `Bearer token="=="`, ErrBadTokenChar, 14},
		errorCase{"escaped bad char in the token", `Bearer token="a\"b"`, ErrBadTokenChar, 13},
		errorCase{"bare token and token parameter", `Bearer abc, token="def"`, ErrTokenAndParam, 12},
		errorCase{"two token parameters", `Bearer token="a", token="b"`, ErrDuplicateParam, 18},
		errorCase{"two realms", `Bearer token="a", realm="r", REALM="s"`, ErrDuplicateParam, 29},
		errorCase{"two usernames", `Bearer token="a", username="u", username="u"`, ErrDuplicateParam, 32},
		errorCase{"unterminated token", `Bearer token="abc`, ErrUnterminatedQuote, 13},
		errorCase{"garbage after the token", `Bearer token="a" garbage`, ErrTrailingGarbage, 17},
		errorCase{"garbage after a bare token", `Bearer abc, realm="r" x`, ErrTrailingGarbage, 22},
		errorCase{"digest credentials", `Digest username="rado", realm="ccmsipline", nonce="n", uri="sip:10.10.10.1", response="r"`, ErrNotBearer, 0},
		errorCase{"too long token", `Bearer token="` + strings.Repeat("a", DefaultMaxLength) + `"`, ErrTooLong, DefaultMaxLength},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCredentials(tc.in)
			checkParseError(t, tc.in, err, tc.err, tc.offset)
			if !reflect.DeepEqual(c, Credentials{}) {
				t.Fatalf("failed parse returned %#v", c)
			}
		})
	}
}

func TestCredentialsFormat(t *testing.T) {
	t.Parallel()
	params := []Param{{"username", "rado", true}}
	cases := []struct {
		c    Credentials
		want string
	}{
		{Credentials{Token: "t.u.v"}, `Bearer token="t.u.v"`},
		{Credentials{Token: "t.u.v", Form: FormPJSIP, Realm: "r", Params: params}, `Bearer token="t.u.v", realm="r", username="rado"`},
		{Credentials{Token: "t.u.v", Form: FormCisco, Realm: "r"}, `Bearer token="t.u.v", realm="r"`},
		{Credentials{Token: "t.u.v", Form: FormRFC6750}, `Bearer t.u.v`},
		{Credentials{Token: "t.u.v", Form: FormBelleSIP, Realm: "r"}, `Bearer t.u.v, realm="r"`},
		{Credentials{Token: "t.u.v", Form: FormRFC6750, Params: params}, `Bearer t.u.v, username="rado"`},
	}
	for _, tc := range cases {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%#v.String() = %s, want %s", tc.c, got, tc.want)
		}
	}
}

func TestCredentialsValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		c   Credentials
		err error
	}{
		{Credentials{Token: "abc"}, nil},
		{Credentials{}, ErrMissingToken},
		{Credentials{Token: "a b"}, ErrBadTokenChar},
		{Credentials{Token: "a\r\nVia: x", Form: FormRFC6750}, ErrBadTokenChar},
		{Credentials{Token: "a", Realm: "r\x00"}, ErrControlChar},
		{Credentials{Token: "a", Params: []Param{{Name: "Token", Value: "b"}}}, ErrDuplicateParam},
		{Credentials{Token: "a", Params: []Param{{Name: "", Value: "b"}}}, ErrSyntax},
		{Credentials{Token: "a", Form: Form(9)}, ErrSyntax},
	}
	for _, tc := range cases {
		checkValidate(t, tc.c, tc.err)
	}
}

func TestFormString(t *testing.T) {
	t.Parallel()
	got := []string{FormCisco.String(), FormPJSIP.String(), FormRFC6750.String(), FormBelleSIP.String(), Form(7).String()}
	want := []string{"cisco", "pjsip", "rfc6750", "belle-sip", "Form(7)"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if FormCisco.Bare() || FormPJSIP.Bare() || !FormRFC6750.Bare() || !FormBelleSIP.Bare() {
		t.Fatal("Bare() wrong")
	}
}
