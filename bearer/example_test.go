package bearer_test

import (
	"errors"
	"fmt"

	"github.com/sipoauth/sdk/bearer"
)

// A registrar answers a REGISTER without credentials the way Unified CM
// does, and reads the token from the retry.
func Example() {
	challenge := bearer.CiscoChallenge()
	fmt.Println("Proxy-Authenticate:", challenge)

	c, err := bearer.ParseCredentials(`Bearer token="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0.c2ln"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("form:", c.Form)
	fmt.Println("token:", c.Token)
	// Output:
	// Proxy-Authenticate: Bearer realm="ccmsipline"
	// form: cisco
	// token: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0.c2ln
}

// An RFC 8898 registrar tells the client where to get a token, and why the
// last one failed.
func ExampleChallenge_String() {
	c := bearer.Challenge{
		Realm:       "atlanta.example.com",
		AuthzServer: "https://as.example.com/",
		Error:       bearer.InvalidToken,
	}
	fmt.Println("WWW-Authenticate:", c)
	// Output:
	// WWW-Authenticate: Bearer realm="atlanta.example.com", authz_server="https://as.example.com/", error="invalid_token"
}

// A client reads every WWW-Authenticate value of a 401 and picks Bearer.
func ExampleParseChallenges() {
	values := []string{
		`Digest realm="atlanta.example.com", nonce="84a4cc6f3082121f32b42a2187831a9e"`,
		`Bearer realm="atlanta.example.com", scope="sip", authz_server="https://as.example.com"`,
	}
	cs, digestToo, err := bearer.ParseChallenges(values)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(cs), cs[0].AuthzServer, digestToo)
	// Output: 1 https://as.example.com true
}

// A proxy tries only the credentials meant for its realm, and those that
// name none (RFC 3261 §22.3).
func ExampleCredentialsFor() {
	values := []string{
		`Bearer aaa.bbb.ccc, realm="other.example.com"`,
		`Bearer token="ddd.eee.fff"`,
	}
	cs, _, _ := bearer.CredentialsFor(values, bearer.CiscoRealm)
	for _, c := range cs {
		fmt.Println(c.Token, c.Form)
	}
	// Output: ddd.eee.fff cisco
}

// A client writes its credentials in the form its server expects, into a
// buffer it reuses.
func ExampleCredentials_AppendTo() {
	buf := make([]byte, 0, 1500)
	for _, form := range []bearer.Form{bearer.FormCisco, bearer.FormRFC6750} {
		c := bearer.Credentials{Token: "eyJ0eXAiOiJKV1QifQ.e30.c2ln", Form: form}
		buf = append(buf[:0], "Proxy-Authorization: "...)
		buf = c.AppendTo(buf)
		fmt.Println(string(buf))
	}
	// Output:
	// Proxy-Authorization: Bearer token="eyJ0eXAiOiJKV1QifQ.e30.c2ln"
	// Proxy-Authorization: Bearer eyJ0eXAiOiJKV1QifQ.e30.c2ln
}

// Errors say where and why, and a Digest value is told apart.
func ExampleParseError() {
	_, err := bearer.ParseCredentials(`Bearer token="eyJhbGciOiJSUzI1NiJ9`)
	var pe *bearer.ParseError
	fmt.Println(errors.As(err, &pe), pe.Offset, errors.Is(err, bearer.ErrUnterminatedQuote))
	fmt.Println(err)

	_, err = bearer.ParseCredentials(`Digest username="rado", realm="ccmsipline"`)
	fmt.Println(errors.Is(err, bearer.ErrNotBearer))
	// Output:
	// true 13 true
	// bearer: unterminated quoted string at offset 13 in parameter "token"
	// true
}
