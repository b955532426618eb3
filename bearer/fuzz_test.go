package bearer

import (
	"reflect"
	"strings"
	"testing"
)

// seeds adds every value of the table tests, and some edges, to f's corpus.
func seeds(f *testing.F) {
	for _, tc := range challengeCases {
		f.Add(tc.in)
	}
	for _, tc := range credentialsCases {
		f.Add(tc.in)
	}
	for _, tc := range errorCases {
		if len(tc.in) < 256 {
			f.Add(tc.in)
		}
	}
	f.Add(`Bearer token="` + jwtLike(300) + `"`)
	f.Add("Bearer a, b=\"\\\"\", c=\"\r\n d\"")
}

// FuzzParseChallenge checks that parsing never panics, that what parses is
// valid, and that writing it and parsing again gives the same challenge.
func FuzzParseChallenge(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseChallenge(in)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed %q to an invalid %#v: %v", in, c, err)
		}
		out := c.String()
		if strings.ContainsAny(out, "\r\n") {
			t.Fatalf("String() = %q has a line break", out)
		}
		again, err := Parser{MaxLength: 4 * len(out)}.ParseChallenge(out)
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", out, in, err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %q:\n first %#v\nsecond %#v", in, c, again)
		}
		if out2 := again.String(); out2 != out {
			t.Fatalf("second String() = %q, first %q", out2, out)
		}
	})
}

// FuzzParseCredentials does the same for credentials.
func FuzzParseCredentials(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseCredentials(in)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			return
		}
		if c.Token == "" || checkB64Token(c.Token) != -1 {
			t.Fatalf("parsed %q to token %q", in, c.Token)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed %q to an invalid %#v: %v", in, c, err)
		}
		out := c.String()
		if strings.ContainsAny(out, "\r\n") {
			t.Fatalf("String() = %q has a line break", out)
		}
		again, err := Parser{MaxLength: 4 * len(out)}.ParseCredentials(out)
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", out, in, err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %q:\n first %#v\nsecond %#v", in, c, again)
		}
	})
}
