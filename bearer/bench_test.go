package bearer

import (
	"regexp"
	"strings"
	"testing"
)

var (
	ciscoCredentials = `Bearer token="` + jwtLike(1000) + `"`
	ciscoChallenge   = `Bearer realm="ccmsipline"`
	rfcChallenge     = `Bearer realm="atlanta.example.com", scope="sip:register", authz_server="https://as.example.com/", error="invalid_token"`
	sinkC            Credentials
	sinkCh           Challenge
	sinkS            string
)

// TestAllocations pins the allocation counts the package promises: none to
// parse Cisco credentials or to format into a reused buffer, at most one to
// parse the Cisco challenge. Not parallel: AllocsPerRun counts the whole
// process's allocations.
func TestAllocations(t *testing.T) {
	cred, _ := ParseCredentials(ciscoCredentials)
	ch, _ := ParseChallenge(rfcChallenge)
	buf := make([]byte, 0, 2048)
	bare := `Bearer ` + ciscoCredentials[14:1014]
	for _, tc := range []struct {
		name string
		max  float64
		f    func()
	}{
		{"ParseCredentials cisco", 0, func() { sinkC, _ = ParseCredentials(ciscoCredentials) }},
		{"ParseCredentials rfc6750", 0, func() { sinkC, _ = ParseCredentials(bare) }},
		{"ParseChallenge cisco", 1, func() { sinkCh, _ = ParseChallenge(ciscoChallenge) }},
		{"ParseChallenge rfc8898", 1, func() { sinkCh, _ = ParseChallenge(rfcChallenge) }},
		{"Credentials.AppendTo", 0, func() { buf = cred.AppendTo(buf[:0]) }},
		{"Challenge.AppendTo", 0, func() { buf = ch.AppendTo(buf[:0]) }},
	} {
		if n := testing.AllocsPerRun(200, tc.f); n > tc.max {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.max)
		}
	}
}

func BenchmarkParseCredentialsCisco(b *testing.B) {
	b.SetBytes(int64(len(ciscoCredentials)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := ParseCredentials(ciscoCredentials)
		if err != nil || len(c.Token) != 1000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineSplit parses the same value the way a quick hand-written
// parser would (strings.Cut, Split, Trim), with no validation at all. It is
// the yardstick for BenchmarkParseCredentialsCisco in the same run.
func BenchmarkBaselineSplit(b *testing.B) {
	b.SetBytes(int64(len(ciscoCredentials)))
	b.ReportAllocs()
	for b.Loop() {
		scheme, rest, _ := strings.Cut(ciscoCredentials, " ")
		var tok string
		for _, p := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "token") {
				tok = strings.Trim(v, `"`)
			}
		}
		if !strings.EqualFold(scheme, "Bearer") || len(tok) != 1000 {
			b.Fatal("baseline broken")
		}
	}
}

// tokenRE accepts what ParseCredentials accepts in the Cisco form, without
// white space or parameters.
var tokenRE = regexp.MustCompile(`^(?i:bearer) +(?i:token)="([A-Za-z0-9._~+/-]+=*)"$`)

// BenchmarkBaselineRegexp does the same validating parse with the standard
// regexp package.
func BenchmarkBaselineRegexp(b *testing.B) {
	b.SetBytes(int64(len(ciscoCredentials)))
	b.ReportAllocs()
	for b.Loop() {
		m := tokenRE.FindStringSubmatch(ciscoCredentials)
		if len(m) != 2 || len(m[1]) != 1000 {
			b.Fatal("baseline broken")
		}
	}
}

// BenchmarkBaselineCopy copies the value: the memory-bandwidth ceiling.
func BenchmarkBaselineCopy(b *testing.B) {
	b.SetBytes(int64(len(ciscoCredentials)))
	b.ReportAllocs()
	buf := make([]byte, len(ciscoCredentials))
	for b.Loop() {
		copy(buf, ciscoCredentials)
	}
	sinkS = string(buf[:1])
}

func BenchmarkParseCredentialsRFC6750(b *testing.B) {
	in := `Bearer ` + ciscoCredentials[14:1014]
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		sinkC, _ = ParseCredentials(in)
	}
}

func BenchmarkParseChallengeCisco(b *testing.B) {
	b.SetBytes(int64(len(ciscoChallenge)))
	b.ReportAllocs()
	for b.Loop() {
		sinkCh, _ = ParseChallenge(ciscoChallenge)
	}
}

func BenchmarkParseChallengeRFC8898(b *testing.B) {
	b.SetBytes(int64(len(rfcChallenge)))
	b.ReportAllocs()
	for b.Loop() {
		sinkCh, _ = ParseChallenge(rfcChallenge)
	}
}

func BenchmarkCredentialsAppendTo(b *testing.B) {
	c, _ := ParseCredentials(ciscoCredentials)
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(ciscoCredentials)))
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendTo(buf[:0])
	}
}

func BenchmarkChallengeAppendTo(b *testing.B) {
	c := CiscoChallenge()
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendTo(buf[:0])
	}
}
