package sipauth

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/sipoauth"
)

// validatorFunc adapts a function to sipoauth.TokenValidator.
type validatorFunc func(ctx context.Context, token string, req sipoauth.Request) (sipoauth.Identity, error)

func (f validatorFunc) ValidateRequest(ctx context.Context, token string, req sipoauth.Request) (sipoauth.Identity, error) {
	return f(ctx, token, req)
}

// failing refuses every token with err, and records what it was asked.
func failing(err error, asked *[]string) validatorFunc {
	return func(_ context.Context, token string, req sipoauth.Request) (sipoauth.Identity, error) {
		if asked != nil {
			*asked = append(*asked, token+"|"+req.Device+"|"+req.FromUser)
		}
		if err != nil {
			return sipoauth.Identity{}, err
		}
		return sipoauth.Identity{User: "rado"}, nil
	}
}

func TestAuthenticateCredentials(t *testing.T) {
	t.Parallel()
	big := `Bearer token="` + strings.Repeat("a", DefaultMaxCredentials) + `"`
	for _, tc := range []struct {
		name   string
		values []string
		status int
		phrase string
		reason Reason
		asked  int
	}{
		{"none", nil, 407, "Proxy Authentication Required", NoCredentials, 0},
		{"another scheme only", []string{`Digest username="rado"`}, 407, "Proxy Authentication Required", NoCredentials, 0},
		{"another realm only", []string{`Bearer realm="other", token="x"`}, 407, "Proxy Authentication Required", NoCredentials, 0},
		{"malformed", []string{`Bearer token="unterminated`}, 400, "Bad Request: malformed credentials", MalformedCredentials, 0},
		{"two", []string{`Bearer token="a"`, `Bearer token="b"`}, 400, "Bad Request: duplicate credentials", DuplicateCredentials, 0},
		{"oversized", []string{big}, 400, "Bad Request: credentials too long", OversizedCredentials, 0},
		{"cisco form", []string{`Bearer token="abc"`}, 0, "", "", 1},
		{"rfc 8898 form", []string{`Bearer abc`}, 0, "", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			b := &Bearer{Validator: failing(nil, &asked)}
			v := b.Authenticate(context.Background(), tc.values, sipoauth.Request{Device: "CSFrado", FromUser: "rado"})
			if v.Status != tc.status || v.Phrase != tc.phrase || v.Reason != tc.reason || len(asked) != tc.asked {
				t.Fatalf("got %d %q %q asked %q", v.Status, v.Phrase, v.Reason, asked)
			}
			if tc.asked == 1 && (asked[0] != "abc|CSFrado|rado" || !v.Accepted() || v.Identity.User != "rado") {
				t.Fatalf("asked %q, verdict %+v", asked, v)
			}
		})
	}
}

func TestAuthenticateMaxCredentials(t *testing.T) {
	t.Parallel()
	b := &Bearer{Validator: failing(nil, nil), MaxCredentials: 22}
	if v := b.Authenticate(context.Background(), []string{`Bearer token="0123456"`}, sipoauth.Request{}); !v.Accepted() {
		t.Fatalf("22 bytes: %+v", v)
	}
	if v := b.Authenticate(context.Background(), []string{`Bearer token="01234567"`}, sipoauth.Request{}); v.Reason != OversizedCredentials {
		t.Fatalf("23 bytes: %+v", v)
	}
}

func TestAuthenticateRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err    error
		reason Reason
		// In Cisco mode and in RFC 8898 mode: status and the challenge
		// header's value ("" for none).
		cisco, rfc int
		header     string
	}{
		{sipoauth.ErrExpired, Expired, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrRevoked, Revoked, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrRefreshToken, RefreshTokenUsed, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrBadSignature, BadSignature, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrUnknownKey, UnknownKey, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrNotYetValid, NotYetValid, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrNotAccessToken, NotAccessToken, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrLifetime, LifetimeTooLong, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrMalformed, MalformedToken, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrAudience, InvalidToken, 407, 401, `Bearer realm="ccmsipline", error="invalid_token"`},
		{sipoauth.ErrTooLarge, TokenTooLarge, 407, 401, `Bearer realm="ccmsipline", error="invalid_request"`},
		{sipoauth.ErrInsufficientScope, InsufficientScope, 403, 403, `Bearer realm="ccmsipline", error="insufficient_scope"`},
		{fmt.Errorf("device CSFbob: %w", sipoauth.ErrBindingMismatch), BindingMismatch, 403, 403, ""},
		{fmt.Errorf("jwks: %w", sipoauth.ErrUnavailable), TokenCheckUnavailable, 503, 503, ""},
		{context.DeadlineExceeded, TokenCheckUnavailable, 503, 503, ""},
	} {
		for _, mode := range []ChallengeMode{CiscoMode, RFC8898Mode} {
			t.Run(fmt.Sprintf("%s/%d", tc.reason, mode), func(t *testing.T) {
				b := &Bearer{Validator: failing(tc.err, nil), Mode: mode}
				v := b.Authenticate(context.Background(), []string{`Bearer token="abc"`}, sipoauth.Request{})
				want := tc.cisco
				if mode == RFC8898Mode {
					want = tc.rfc
				}
				if v.Accepted() || v.Status != want || v.Reason != tc.reason || !errors.Is(v.Err, tc.err) {
					t.Fatalf("got %d %q err %v", v.Status, v.Reason, v.Err)
				}
				res := v.Response(sip.NewRequest(sip.REGISTER, sip.Uri{Host: "127.0.0.1"}))
				got := ""
				for _, name := range []string{"Proxy-Authenticate", "WWW-Authenticate"} {
					if h := res.GetHeader(name); h != nil {
						got = h.Value()
						if want := map[ChallengeMode]string{CiscoMode: "Proxy-Authenticate", RFC8898Mode: "WWW-Authenticate"}[mode]; name != want {
							t.Fatalf("challenge in %s, want %s", name, want)
						}
					}
				}
				if got != tc.header {
					t.Fatalf("challenge %q, want %q", got, tc.header)
				}
				ra := res.GetHeader("Retry-After")
				if (want == 503) != (ra != nil) || (ra != nil && ra.Value() != strconv.Itoa(DefaultRetryAfter)) {
					t.Fatalf("Retry-After %v on %d", ra, want)
				}
			})
		}
	}
}

func TestResponseWire(t *testing.T) {
	t.Parallel()
	b := &Bearer{Validator: failing(sipoauth.ErrUnavailable, nil), RetryAfter: 30}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Host: "127.0.0.1"})
	req.AppendHeader(sip.NewHeader("Via", "SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK1"))
	req.AppendHeader(sip.NewHeader("Call-ID", "c1"))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 2, MethodName: sip.REGISTER})
	v := b.Authenticate(context.Background(), []string{`Bearer token="abc"`}, sipoauth.Request{})
	got := v.Response(req, sip.NewHeader("Warning", `399 expc "Token validation unavailable"`)).String()
	want := "SIP/2.0 503 Service Unavailable\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK1\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\n" +
		"Content-Length: 0\r\nWarning: 399 expc \"Token validation unavailable\"\r\nRetry-After: 30\r\n\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	// Complete adds the same to an answer the caller built.
	res := sip.NewResponse(503, "Service Unavailable")
	res.AppendHeader(sip.NewHeader("Call-ID", "c2"))
	got = v.Complete(res, sip.NewHeader("Warning", "399 x")).String()
	want = "SIP/2.0 503 Service Unavailable\r\nCall-ID: c2\r\nWarning: 399 x\r\nRetry-After: 30\r\n\r\n"
	if got != want {
		t.Fatalf("Complete: got\n%q\nwant\n%q", got, want)
	}
}

func TestAuthenticateLimit(t *testing.T) {
	t.Parallel()
	inside, release := make(chan struct{}), make(chan struct{})
	slow := validatorFunc(func(context.Context, string, sipoauth.Request) (sipoauth.Identity, error) {
		inside <- struct{}{}
		<-release
		return sipoauth.Identity{User: "rado"}, nil
	})
	b := &Bearer{Validator: slow, Limit: make(chan struct{}, 1)}
	done := make(chan Verdict)
	go func() { done <- b.Authenticate(context.Background(), []string{`Bearer token="a"`}, sipoauth.Request{}) }()
	<-inside
	v := b.Authenticate(context.Background(), []string{`Bearer token="b"`}, sipoauth.Request{})
	if v.Status != 503 || v.Reason != Overload || v.RetryAfter != DefaultRetryAfter || v.Reason.Class() != ClassLimit {
		t.Fatalf("second at once: %+v", v)
	}
	// A request without credentials is challenged whatever the load.
	if v := b.Authenticate(context.Background(), nil, sipoauth.Request{}); v.Status != 407 {
		t.Fatalf("no credentials under load: %+v", v)
	}
	close(release)
	if v := <-done; !v.Accepted() {
		t.Fatalf("first: %+v", v)
	}
	go func() { <-inside }()
	if v := b.Authenticate(context.Background(), []string{`Bearer token="c"`}, sipoauth.Request{}); !v.Accepted() {
		t.Fatalf("after the first: %+v", v)
	}
}

// TestRealValidator runs the step over a sipoauth.Validator and tokens
// signed here: what the step passes on (token, device, From user) reaches
// the validator's checks.
func TestRealValidator(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	keys, err := sipoauth.NewSymmetricKeys(map[string][]byte{"k1": secret})
	if err != nil {
		t.Fatal(err)
	}
	static, err := sipoauth.NewStaticKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	val, err := sipoauth.New(sipoauth.Config{Keys: static, HMAC: keys, Algorithms: []string{"HS256"},
		Binding: &sipoauth.Binding{MatchFromUser: true}})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	good := mint(jwt.MapClaims{"sub": "rado", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})
	expired := mint(jwt.MapClaims{"sub": "rado", "exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()})
	b := &Bearer{Validator: val}
	var took []time.Duration
	b.OnValidate = func(d time.Duration) { took = append(took, d) }
	ctx := context.Background()
	if v := b.Authenticate(ctx, []string{`Bearer token="` + good + `"`}, sipoauth.Request{Device: "CSFrado", FromUser: "rado"}); !v.Accepted() || v.Identity.User != "rado" {
		t.Fatalf("good token: %+v", v)
	}
	if v := b.Authenticate(ctx, []string{`Bearer token="` + good + `"`}, sipoauth.Request{Device: "CSFrado", FromUser: "bob"}); v.Status != 403 || v.Reason != BindingMismatch {
		t.Fatalf("From bob: %+v", v)
	}
	v := b.Authenticate(ctx, []string{"Bearer " + expired}, sipoauth.Request{FromUser: "rado"})
	if v.Status != 407 || v.Reason != Expired || v.Challenge.Error != bearer.InvalidToken {
		t.Fatalf("expired: %+v", v)
	}
	if len(took) != 3 {
		t.Fatalf("OnValidate told %d times, want 3", len(took))
	}
}

func TestTokenReason(t *testing.T) {
	t.Parallel()
	if r := TokenReason(nil); r != "" {
		t.Fatalf("nil: %q", r)
	}
	// Every sentinel of package sipoauth maps to a reason of the auth class
	// or to TokenCheckUnavailable; a wrapped one to the same.
	for _, e := range tokenReasons {
		if got := TokenReason(fmt.Errorf("ctx: %w", e.err)); got != e.reason {
			t.Fatalf("%v: %q, want %q", e.err, got, e.reason)
		}
		if c := e.reason.Class(); c != ClassAuth && e.reason != TokenCheckUnavailable {
			t.Fatalf("%q is of class %s", e.reason, c)
		}
	}
	if got := TokenReason(errors.Join(sipoauth.ErrExpired, sipoauth.ErrRevoked)); got != Expired {
		t.Fatalf("joined: %q", got)
	}
	if got := TokenReason(context.Canceled); got != TokenCheckUnavailable {
		t.Fatalf("canceled: %q", got)
	}
}

// TestEveryReasonHasAClass reads reason.go: a Reason added to the list
// without a class would count nowhere.
func TestEveryReasonHasAClass(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "reason.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || vs.Type == nil || fmt.Sprint(vs.Type) != "Reason" {
			return true
		}
		for i, name := range vs.Names {
			lit := vs.Values[i].(*ast.BasicLit)
			value, _ := strconv.Unquote(lit.Value)
			r := Reason(value)
			n++
			if r.Class() == ClassNone {
				t.Errorf("%s (%q) has no class", name.Name, value)
			}
			if other, dup := seen[value]; dup {
				t.Errorf("%s and %s are both %q", name.Name, other, value)
			}
			seen[value] = name.Name
		}
		return true
	})
	if n < 60 {
		t.Fatalf("read %d reasons", n)
	}
	if Reason("").Class() != ClassNone || Reason("no-such").Class() != ClassNone || ClassUnavailable.String() != "unavailable" || Class(99).String() != "none" {
		t.Fatal("class of unknown reasons, or class names")
	}
}

// BenchmarkAuthenticate is the step around a validator that answers at
// once (as a cache hit does): what sipauth adds to every REGISTER.
func BenchmarkAuthenticate(b *testing.B) {
	id := sipoauth.Identity{User: "rado"}
	v := validatorFunc(func(context.Context, string, sipoauth.Request) (sipoauth.Identity, error) { return id, nil })
	auth := &Bearer{Validator: v}
	values := []string{`Bearer token="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0.c2ln"`}
	req := sipoauth.Request{Device: "CSFrado", FromUser: "rado"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if v := auth.Authenticate(ctx, values, req); !v.Accepted() {
			b.Fatal(v.Reason)
		}
	}
}
