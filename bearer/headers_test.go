package bearer

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	t.Parallel()
	values := []string{
		`Digest realm="ccmsipline", nonce="8a1f", algorithm=MD5`,
		`Bearer realm="ccmsipline"`,
		`Bearer realm="broken`,
		`Bearer realm="sip.example.com", authz_server="https://as.example.com"`,
	}
	cs, other, err := ParseChallenges(values)
	want := []Challenge{{Realm: "ccmsipline"}, {Realm: "sip.example.com", AuthzServer: "https://as.example.com"}}
	if !reflect.DeepEqual(cs, want) {
		t.Fatalf("challenges = %#v, want %#v", cs, want)
	}
	if !other {
		t.Fatal("the Digest challenge was not reported")
	}
	if !errors.Is(err, ErrUnterminatedQuote) || !strings.Contains(err.Error(), "header value 2: ") {
		t.Fatalf("err = %v, want value 2's unterminated quote", err)
	}

	cs, other, err = ParseChallenges([]string{`Bearer realm="ccmsipline"`})
	if err != nil || other || len(cs) != 1 {
		t.Fatalf("one Bearer value: %#v, %v, %v", cs, other, err)
	}
	cs, other, err = ParseChallenges([]string{`Digest realm="a"`, "NTLM"})
	if err != nil || !other || cs != nil {
		t.Fatalf("no Bearer value: %#v, %v, %v", cs, other, err)
	}
	if _, _, err = (Parser{MaxLength: 10}).ParseChallenges([]string{`Bearer realm="ccmsipline"`}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("limit not applied: %v", err)
	}
}

func TestCredentialsFor(t *testing.T) {
	t.Parallel()
	values := []string{
		`Bearer token="cisco.tok.en"`,                    // no realm: tried by everyone
		`Bearer other.tok.en, realm="other.example.com"`, // another proxy's
		`Digest username="rado", realm="ccmsipline", nonce="n", uri="sip:a", response="r"`,
		`Bearer token="pjsip.tok.en", username="rado", realm="ccmsipline"`,
		`Bearer token="bad tok"`,
		`Bearer mine.tok.en, realm="CCMSIPLINE"`, // realms are case-sensitive
	}
	tokens := func(cs []Credentials) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Token)
		}
		return out
	}
	cs, other, err := CredentialsFor(values, "ccmsipline")
	if got, want := tokens(cs), []string{"cisco.tok.en", "pjsip.tok.en"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("tokens for ccmsipline = %q, want %q", got, want)
	}
	if !other {
		t.Fatal("the Digest credentials were not reported")
	}
	var pe *ParseError
	if !errors.Is(err, ErrBadTokenChar) || !errors.As(err, &pe) || pe.Offset != 17 || !strings.Contains(err.Error(), "header value 4: ") {
		t.Fatalf("err = %v, want value 4's bad token char at 17", err)
	}

	cs, _, _ = CredentialsFor(values, "")
	if got, want := tokens(cs), []string{"cisco.tok.en", "other.tok.en", "pjsip.tok.en", "mine.tok.en"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("tokens for any realm = %q, want %q", got, want)
	}
	if cs[1].Form != FormBelleSIP || cs[2].Form != FormPJSIP || cs[0].Form != FormCisco {
		t.Fatalf("forms = %v %v %v", cs[0].Form, cs[1].Form, cs[2].Form)
	}

	cs, other, err = CredentialsFor(nil, "ccmsipline")
	if cs != nil || other || err != nil {
		t.Fatalf("no values: %v %v %v", cs, other, err)
	}
}
