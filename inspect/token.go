package inspect

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/ucmtoken"
)

// Shapes and uses of a token, as TokenView says them.
const (
	ShapeJWS    = "jws"
	ShapeNested = "nested"
	ShapeJWE    = "jwe"
	UseAccess   = "access"
	UseRefresh  = "refresh"
)

// checkToken decodes a token without verifying it: its header, its
// claims when they are readable, its shape and use, and its times against
// Options.Now. The signature is never decoded into the view.
func checkToken(input []byte, opts Options) Result {
	s := string(bytes.TrimSpace(bytes.TrimPrefix(input, []byte("\xef\xbb\xbf"))))
	if hasScheme([]byte(s), "Bearer") {
		s = strings.TrimLeft(s[len("Bearer"):], " \t")
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	v, fs := inspectToken(s, opts.now())
	return Result{Findings: fs, Token: v}
}

// inspectToken returns the view of token and its findings; the view is
// nil when the token cannot be decoded at all.
func inspectToken(token string, now time.Time) (*TokenView, diag.Findings) {
	unreadable := func(path, msg string) diag.Finding {
		return diag.Finding{Code: CodeTokenUnreadable, Severity: diag.Error, Path: path, Message: msg,
			Fix: "paste the whole token: three base64url parts separated by dots (a signed JWT) or five (an encrypted JWE), as the token endpoint returned it"}
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 && len(parts) != 5 {
		return nil, diag.Findings{unreadable("token", fmt.Sprintf("a token has three dot-separated parts (JWS) or five (JWE); this one has %d", len(parts)))}
	}
	header, err := decodeSegment(parts[0])
	if err != nil {
		return nil, diag.Findings{unreadable("header", "the header "+err.Error())}
	}
	v := &TokenView{Shape: ShapeJWS, Use: UseAccess, Header: header}
	var fs diag.Findings
	add := func(code string, sev diag.Severity, path, msg, fix string) {
		fs = append(fs, diag.Finding{Code: code, Severity: sev, Path: path, Message: msg, Fix: fix})
	}
	headerTyp, _ := header["typ"].(string)

	if len(parts) == 5 {
		v.Shape = ShapeJWE
		if ucmtoken.IsRefreshMarker(headerTyp) {
			v.Use = UseRefresh
			add(CodeTokenRefresh, diag.Error, "header.typ", refreshMessage("typ", headerTyp), refreshFix)
		}
		add(CodeTokenEncryptedClaims, diag.Info, "token",
			"the token is encrypted ("+joseAlgs(header)+"): its claims, expiry included, are readable only with the decryption key",
			"check it where the key is configured, e.g. with sipoauth.Validator and Config.DecryptionKeys")
		return v, fs
	}

	claims, err := decodeSegment(parts[1])
	if err != nil {
		return v, append(fs, unreadable("claims", "the claims "+err.Error()))
	}
	if _, err := decodeB64(parts[2]); err != nil {
		return v, append(fs, unreadable("signature", "the signature is not base64url"))
	}
	if private, ok := claims["private"].(string); ok && strings.Count(private, ".") == 4 {
		inner, err := decodeSegment(private[:strings.IndexByte(private, '.')])
		if err != nil {
			return v, append(fs, unreadable("claims.private", "the header of the private claim's JWE "+err.Error()))
		}
		v.Shape, v.EncryptedHeader = ShapeNested, inner
		delete(claims, "private")
	}
	if len(claims) > 0 {
		v.Claims = claims
	}

	// A refresh token, by the validator's rule (ucmtoken's): Unified CM's
	// ctyp "refresh", or a token_type or typ claim, or the header's typ,
	// saying refresh.
	for _, name := range []string{ucmtoken.ClaimCType, ucmtoken.ClaimTokenType, ucmtoken.ClaimType} {
		if w, _ := claims[name].(string); ucmtoken.IsRefreshMarker(w) {
			v.Use = UseRefresh
			add(CodeTokenRefresh, diag.Error, "claims."+name, refreshMessage(name, w), refreshFix)
			break
		}
	}
	if v.Use == UseAccess && ucmtoken.IsRefreshMarker(headerTyp) {
		v.Use = UseRefresh
		add(CodeTokenRefresh, diag.Error, "header.typ", refreshMessage("typ", headerTyp), refreshFix)
	}

	switch alg, ok := header["alg"].(string); {
	case !ok:
		add(CodeTokenUnreadable, diag.Error, "header.alg", "the header names no signing algorithm (alg)",
			"sign tokens with RS256, as Unified CM does, and name the algorithm in the header")
	case strings.EqualFold(alg, "none"):
		add(CodeTokenAlgNone, diag.Error, "header.alg", `the token is not signed (alg "none"): anyone can write one, and validators refuse it`,
			"sign access tokens with a private key (Unified CM signs with RS256)")
	case strings.HasPrefix(alg, "HS"):
		add(CodeTokenHMAC, diag.Warning, "header.alg", "the token is signed with a shared secret ("+alg+"): whoever can check it can also mint one",
			"sign with a private key (RS256, ES256) and give validators the public key; a validator accepts HMAC only with a secret configured for it")
	}

	v.Issuer, _ = claims["iss"].(string)
	v.Subject, _ = claims["sub"].(string)
	v.Device, _ = claims["device"].(string)
	v.Scope = scopeOf(claims)

	if v.Shape == ShapeNested {
		add(CodeTokenEncryptedClaims, diag.Info, "claims.private",
			"Unified CM's nested token: the claims (user, device, scope, expiry) are encrypted in the private claim ("+joseAlgs(v.EncryptedHeader)+
				") and readable only with the cluster's encryption key",
			"check the token where the cluster's key is configured: sipoauth.Config.DecryptionKeys, or an Expressway that fetched it from Unified CM")
		return v, fs
	}
	fs = append(fs, checkTimes(v, claims, now)...)
	return v, fs
}

// checkTimes fills the view's times and checks exp, nbf and iat at now.
func checkTimes(v *TokenView, claims map[string]any, now time.Time) diag.Findings {
	var fs diag.Findings
	date := func(name string) (time.Time, bool) {
		raw, ok := claims[name]
		if !ok || raw == nil {
			return time.Time{}, false
		}
		t, err := numericDate(raw)
		if err != nil {
			fs = append(fs, diag.Finding{Code: CodeTokenUnreadable, Severity: diag.Error, Path: "claims." + name,
				Message: name + " " + err.Error(), Fix: "write " + name + " as seconds since 1970 (a JSON number, RFC 7519 §2)"})
			return time.Time{}, false
		}
		return t, true
	}
	if iat, ok := date("iat"); ok {
		v.IssuedAt = &iat
		if iat.After(now) {
			fs = append(fs, diag.Finding{Code: CodeTokenNotYetValid, Severity: diag.Error, Path: "claims.iat",
				Message: "the token was issued at " + rfc3339(iat) + ", " + iat.Sub(now).Round(time.Second).String() + " after the time checked",
				Fix:     "check the clocks of the authorization server and the registrar (NTP); validators allow a small skew only"})
		}
	}
	if nbf, ok := date("nbf"); ok && nbf.After(now) {
		fs = append(fs, diag.Finding{Code: CodeTokenNotYetValid, Severity: diag.Error, Path: "claims.nbf",
			Message: "the token is valid only from " + rfc3339(nbf) + ", " + nbf.Sub(now).Round(time.Second).String() + " after the time checked",
			Fix:     "check the clocks of the authorization server and the registrar (NTP); validators allow a small skew only"})
	}
	if _, present := claims["exp"]; !present {
		fs = append(fs, diag.Finding{Code: CodeTokenNoExp, Severity: diag.Error, Path: "claims.exp",
			Message: "the token has no expiry (exp): validators refuse it, and a token that never expires cannot be contained once leaked",
			Fix:     "issue access tokens with exp; Unified CM's live 60 minutes by default"})
		return fs
	}
	exp, ok := date("exp")
	if !ok {
		return fs
	}
	v.ExpiresAt = &exp
	left := exp.Sub(now).Round(time.Second)
	v.ExpiresIn = left.String()
	if !now.Before(exp) {
		v.Expired = true
		fs = append(fs, diag.Finding{Code: CodeTokenExpired, Severity: diag.Error, Path: "claims.exp",
			Message: "the token expired at " + rfc3339(exp) + ", " + (-left).String() + " before the time checked",
			Fix:     "get a new access token: a client refreshes it with its refresh token before it expires (Unified CM's access tokens live 60 minutes by default)"})
	}
	return fs
}

// numericDate reads a NumericDate claim (RFC 7519 §2).
func numericDate(raw any) (time.Time, error) {
	n, ok := raw.(json.Number)
	if !ok {
		return time.Time{}, errors.New("is not a number")
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f < 0 || f > 1<<40 {
		return time.Time{}, errors.New("is not a NumericDate")
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
}

// scopeOf returns the scope claim, a space-separated string or an array
// of strings, or scp.
func scopeOf(claims map[string]any) string {
	for _, name := range []string{"scope", "scp"} {
		switch s := claims[name].(type) {
		case string:
			return s
		case []any:
			var words []string
			for _, w := range s {
				if w, ok := w.(string); ok {
					words = append(words, w)
				}
			}
			return strings.Join(words, " ")
		}
	}
	return ""
}

func refreshMessage(name, value string) string {
	return fmt.Sprintf("this is a refresh token (%s %q): it obtains access tokens from the authorization server and is never accepted as a SIP credential", name, value)
}

const refreshFix = "send the access token in Proxy-Authorization; use the refresh token only with the token endpoint's refresh_token grant"

// joseAlgs describes a JWE header: alg, enc and kid.
func joseAlgs(h map[string]any) string {
	var parts []string
	for _, k := range []string{"alg", "enc", "kid"} {
		if s, ok := h[k].(string); ok {
			parts = append(parts, k+" "+s)
		}
	}
	if len(parts) == 0 {
		return "JWE"
	}
	return "JWE " + strings.Join(parts, ", ")
}

// decodeSegment decodes a base64url segment holding a JSON object.
func decodeSegment(seg string) (map[string]any, error) {
	b, err := decodeB64(seg)
	if err != nil {
		return nil, errors.New("is not base64url")
	}
	m, err := decodeObject(b)
	if err != nil {
		return nil, fmt.Errorf("is not a JSON object: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return m, nil
}

// decodeB64 decodes base64url without padding, tolerating padding.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// decodeObject decodes one JSON object, numbers kept exact.
func decodeObject(b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 || bytes.TrimSpace(b)[0] != '{' {
		return nil, errors.New("not an object")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return m, nil
}
