package bearer

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// challengeCases are well-formed challenges, what they parse to and how
// they are written back.
var challengeCases = []struct {
	name string
	in   string
	want Challenge
	out  string
}{
	{
		name: "unified CM, from the source document's 407",
		in:   `Bearer realm="ccmsipline"`,
		want: Challenge{Realm: "ccmsipline"},
		out:  `Bearer realm="ccmsipline"`,
	},
	{
		name: "RFC 8898 §3 example flow, with its quoted parameter name",
		in:   `Bearer "authz_server"="https://as.example.com/token"`,
		want: Challenge{AuthzServer: "https://as.example.com/token"},
		out:  `Bearer authz_server="https://as.example.com/token"`,
	},
	{
		name: "RFC 8898 §4 parameters",
		in:   `Bearer realm="atlanta.example.com", scope="sip:register openid", authz_server="https://as.example.com:8443/"`,
		want: Challenge{Realm: "atlanta.example.com", Scope: "sip:register openid", AuthzServer: "https://as.example.com:8443/"},
		out:  `Bearer realm="atlanta.example.com", scope="sip:register openid", authz_server="https://as.example.com:8443/"`,
	},
	{
		name: "RFC 6750 §3 example of an expired token",
		in:   `Bearer realm="example", error="invalid_token", error_description="The access token expired"`,
		want: Challenge{Realm: "example", Error: InvalidToken, ErrorDescription: "The access token expired"},
		out:  `Bearer realm="example", error="invalid_token", error_description="The access token expired"`,
	},
	{
		name: "every known parameter, out of order",
		in:   `Bearer error_uri="https://as.example.com/e", error="insufficient_scope", scope="sip", realm="r", error_description="need sip", authz_server="https://as.example.com"`,
		want: Challenge{Realm: "r", Scope: "sip", AuthzServer: "https://as.example.com", Error: InsufficientScope, ErrorDescription: "need sip", ErrorURI: "https://as.example.com/e"},
		out:  `Bearer realm="r", scope="sip", authz_server="https://as.example.com", error="insufficient_scope", error_description="need sip", error_uri="https://as.example.com/e"`,
	},
	{
		name: "scheme and names are case-insensitive, values are not",
		in:   `bEARER REALM="CcmSipLine", Error="invalid_scope"`,
		want: Challenge{Realm: "CcmSipLine", Error: InvalidScope},
		out:  `Bearer realm="CcmSipLine", error="invalid_scope"`,
	},
	{
		name: "unknown parameters kept in order, quoting kept",
		in:   `Bearer realm="r", qop=auth, X-Cisco="a b", algorithm="MD5"`,
		want: Challenge{Realm: "r", Params: []Param{{"qop", "auth", false}, {"X-Cisco", "a b", true}, {"algorithm", "MD5", true}}},
		out:  `Bearer realm="r", qop=auth, X-Cisco="a b", algorithm="MD5"`,
	},
	{
		name: "token-form values",
		in:   `Bearer realm=ccmsipline, error=invalid_request`,
		want: Challenge{Realm: "ccmsipline", Error: InvalidRequest},
		out:  `Bearer realm="ccmsipline", error="invalid_request"`,
	},
	{
		name: "escapes: quoted-pair of any char, DQUOTE and backslash",
		in:   `Bearer realm="cc\msip\"line\\"`,
		want: Challenge{Realm: `ccmsip"line\`},
		out:  `Bearer realm="ccmsip\"line\\"`,
	},
	{
		name: "linear white space and folded lines",
		in:   "  Bearer \t realm = \"r\" ,\r\n\tscope=\"a\r\n  b\"  ",
		want: Challenge{Realm: "r", Scope: "a b"},
		out:  `Bearer realm="r", scope="a b"`,
	},
	{
		name: "UTF-8 in a quoted value",
		in:   `Bearer realm="r", error_description="令牌已過期"`,
		want: Challenge{Realm: "r", ErrorDescription: "令牌已過期"},
		out:  `Bearer realm="r", error_description="令牌已過期"`,
	},
	{
		name: "empty quoted values are absent",
		in:   `Bearer realm="", x=""`,
		want: Challenge{Params: []Param{{"x", "", true}}},
		out:  `Bearer x=""`,
	},
	{
		name: "a bare scheme",
		in:   `Bearer`,
		want: Challenge{},
		out:  `Bearer`,
	},
}

func TestParseChallenge(t *testing.T) {
	t.Parallel()
	for _, tc := range challengeCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseChallenge(tc.in)
			if err != nil {
				t.Fatalf("ParseChallenge(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseChallenge(%q)\n got %#v\nwant %#v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.out {
				t.Fatalf("String() = %q, want %q", s, tc.out)
			}
			buf := append([]byte("Proxy-Authenticate: "), "junk"...)
			if b := got.AppendTo(buf[:20]); string(b) != "Proxy-Authenticate: "+tc.out {
				t.Fatalf("AppendTo = %q", b)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			again, err := ParseChallenge(tc.out)
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("reparse of %q = %#v, %v; want %#v", tc.out, again, err, got)
			}
		})
	}
}

// errorCases are malformed values for both parsers: the sentinel and the
// offset each must report.
type errorCase struct {
	name   string
	in     string
	err    error
	offset int
}

var errorCases = []errorCase{
	{"empty", "", ErrEmpty, 0},
	{"blank", "  \t ", ErrEmpty, 4},
	{"digest", `Digest realm="ccmsipline", nonce="abc"`, ErrNotBearer, 0},
	{"scheme glued to a param", `Bearerrealm="x"`, ErrNotBearer, 0},
	{"no space after the scheme", `Bearer,realm="x"`, ErrSyntax, 6},
	{"unterminated", `Bearer realm="ccmsipline`, ErrUnterminatedQuote, 13},
	{"unterminated after a backslash", `Bearer realm="ccm\`, ErrUnterminatedQuote, 13},
	{"escaped CR", "Bearer realm=\"a\\\rb\"", ErrBadEscape, 15},
	{"escaped non-ASCII", "Bearer realm=\"a\\\xc3\xa9\"", ErrBadEscape, 15},
	{"escaped control", "Bearer realm=\"a\\\x01\"", ErrControlChar, 16},
	{"raw control in quotes", "Bearer realm=\"a\x00b\"", ErrControlChar, 15},
	{"DEL in quotes", "Bearer realm=\"a\x7f\"", ErrControlChar, 15},
	{"bare LF", "Bearer realm=\"a\"\n", ErrControlChar, 16},
	{"CR without fold", "Bearer realm=\"a\"\r\n", ErrControlChar, 16},
	{"LF in quotes", "Bearer realm=\"a\nb\"", ErrControlChar, 15},
	{"invalid UTF-8", "Bearer realm=\"a\xff\"", ErrInvalidUTF8, 15},
	{"duplicate, other case", `Bearer realm="a", Realm="b"`, ErrDuplicateParam, 18},
	{"trailing garbage", `Bearer realm="a" x`, ErrTrailingGarbage, 17},
	{"trailing comma", `Bearer realm="a",`, ErrSyntax, 17},
	{"empty element", `Bearer realm="a",,x=y`, ErrSyntax, 17},
	{"missing equals", `Bearer realm="a", x`, ErrSyntax, 19},
	{"missing value", `Bearer realm="a", x=`, ErrSyntax, 20},
	{"too long", "Bearer realm=\"" + strings.Repeat("a", DefaultMaxLength) + `"`, ErrTooLong, DefaultMaxLength},
	{"too many params", "Bearer " + manyParams(DefaultMaxParams) + "realm=r", ErrTooManyParams, 7 + 8*DefaultMaxParams},
}

func TestParseChallengeErrors(t *testing.T) {
	t.Parallel()
	cases := append(errorCases[:len(errorCases):len(errorCases)],
		errorCase{"bad quoted name", `Bearer "realm="a"`, ErrSyntax, 7},
		errorCase{"duplicate unknown", `Bearer x=1, y=2, X=3`, ErrDuplicateParam, 17},
		errorCase{"authz_server over http", `Bearer authz_server="http://as.example.com/"`, ErrBadAuthzServer, 20},
		errorCase{"authz_server without host", `Bearer authz_server="https:///x"`, ErrBadAuthzServer, 20},
		errorCase{"authz_server relative", `Bearer authz_server="/token"`, ErrBadAuthzServer, 20},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseChallenge(tc.in)
			checkParseError(t, tc.in, err, tc.err, tc.offset)
			if !reflect.DeepEqual(c, Challenge{}) {
				t.Fatalf("failed parse returned %#v", c)
			}
		})
	}
}

// manyParams returns n distinct parameters, 8 bytes each: "p000=1, ".
func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "p%03d=1, ", i)
	}
	return b.String()
}

func checkParseError(t *testing.T, in string, err, want error, offset int) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("parse(%q) error = %v, want %v", in, err, want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("parse(%q) error %T is not a *ParseError", in, err)
	}
	if pe.Offset != offset {
		t.Fatalf("parse(%q) offset = %d, want %d (%v)", in, pe.Offset, offset, err)
	}
	if !strings.HasPrefix(err.Error(), "bearer: ") || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("message %q should start with the package and name the offset", err.Error())
	}
}

func TestParseErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := ParseChallenge(`Bearer realm="ccmsipline`)
	const want = `bearer: unterminated quoted string at offset 13 in parameter "realm"`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
	_, err = ParseChallenge(`Bearer realm`)
	const want2 = `bearer: syntax error (expected '=') at offset 12 in parameter "realm"`
	if err == nil || err.Error() != want2 {
		t.Fatalf("error = %v, want %s", err, want2)
	}
	_, err = ParseChallenge(`Bearer authz_server="http://as"`)
	const want3 = `bearer: authz_server is not an https URI (scheme must be https) at offset 20 in parameter "authz_server"`
	if err == nil || err.Error() != want3 {
		t.Fatalf("error = %v, want %s", err, want3)
	}
}

func TestParserLimits(t *testing.T) {
	t.Parallel()
	p := Parser{MaxLength: 24, MaxParams: 2}
	if _, err := p.ParseChallenge(`Bearer realm="ccmsipline"`); !errors.Is(err, ErrTooLong) {
		t.Fatalf("25 bytes with MaxLength 24: %v", err)
	}
	if c, err := p.ParseChallenge(`Bearer realm="ccmsiplin"`); err != nil || c.Realm != "ccmsiplin" {
		t.Fatalf("24 bytes with MaxLength 24: %#v, %v", c, err)
	}
	if _, err := p.ParseChallenge(`Bearer a=1,b=2,c=3`); !errors.Is(err, ErrTooManyParams) {
		t.Fatalf("3 params with MaxParams 2: %v", err)
	}
	p.MaxLength = 64
	for _, in := range []string{`Bearer token="t", a=1`, `Bearer token = "t", a=1`} {
		if _, err := p.ParseCredentials(in + ", b=2"); !errors.Is(err, ErrTooManyParams) {
			t.Fatalf("%s, b=2 with MaxParams 2: %v", in, err)
		}
		if c, err := p.ParseCredentials(in); err != nil || c.Token != "t" {
			t.Fatalf("%s with MaxParams 2: %#v, %v", in, c, err)
		}
	}
	if c, err := p.ParseCredentials(`Bearer t, a=1, b=2`); err != nil || len(c.Params) != 2 {
		t.Fatalf("bare token and 2 params with MaxParams 2: %#v, %v", c, err)
	}
	if _, err := p.ParseCredentials(`Bearer t, a=1, b=2, c=3`); !errors.Is(err, ErrTooManyParams) {
		t.Fatalf("bare token and 3 params with MaxParams 2: %v", err)
	}
	big := Parser{MaxLength: 64 << 10}
	tok := strings.Repeat("x", 20000)
	if c, err := big.ParseCredentials(`Bearer token="` + tok + `"`); err != nil || c.Token != tok {
		t.Fatalf("20000-byte token with MaxLength 64 KiB: %v", err)
	}
	if _, err := ParseCredentials(`Bearer token="` + tok + `"`); !errors.Is(err, ErrTooLong) {
		t.Fatalf("20000-byte token with the default limit: %v", err)
	}
}

func TestChallengeValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		c   Challenge
		err error
	}{
		{CiscoChallenge(), nil},
		{Challenge{Realm: "a\r\nVia: evil"}, ErrControlChar},
		{Challenge{ErrorDescription: "a\xffb"}, ErrInvalidUTF8},
		{Challenge{AuthzServer: "http://as.example.com"}, ErrBadAuthzServer},
		{Challenge{Params: []Param{{Name: "a b", Value: "x"}}}, ErrSyntax},
		{Challenge{Params: []Param{{Name: "REALM", Value: "x"}}}, ErrDuplicateParam},
		{Challenge{Params: []Param{{Name: "x", Value: "1"}, {Name: "X", Value: "2"}}}, ErrDuplicateParam},
		{Challenge{Params: []Param{{Name: "x", Value: "\x00"}}}, ErrControlChar},
	}
	for _, tc := range cases {
		checkValidate(t, tc.c, tc.err)
	}
}

// checkValidate checks v's Validate against want, and that even an
// invalid value is written without a control character that could split
// or end a header line.
func checkValidate(t *testing.T, v interface {
	Validate() error
	String() string
}, want error) {
	t.Helper()
	err := v.Validate()
	if want == nil {
		if err != nil {
			t.Errorf("%#v: %v", v, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%#v: Validate = %v, want %v", v, err, want)
	}
	if s := v.String(); strings.ContainsAny(s, "\r\n\x00") {
		t.Errorf("String() = %q carries a control character", s)
	}
}

func TestChallengeFormatQuoting(t *testing.T) {
	t.Parallel()
	c := Challenge{
		Realm:  `a"b\c`,
		Params: []Param{{"tok", "plain", false}, {"sp", "has space", false}, {"empty", "", false}, {"q", "x", true}},
	}
	const want = `Bearer realm="a\"b\\c", tok=plain, sp="has space", empty="", q="x"`
	if got := c.String(); got != want {
		t.Fatalf("String() = %s\nwant       %s", got, want)
	}
	if got := (Challenge{Realm: "a\r\nb\tc"}).String(); got != "Bearer realm=\"a  b\tc\"" {
		t.Fatalf("control characters not blanked: %q", got)
	}
}
