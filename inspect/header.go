package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/diag"
)

// Header types, as HeaderView says them.
const (
	TypeChallenge   = "challenge"
	TypeCredentials = "credentials"
)

// headerParser reads values up to 64 KiB: a nested token with a long
// certificate chain in its claims stays under it.
var headerParser = bearer.Parser{MaxLength: 64 << 10}

// checkHeader decodes a Bearer header, named or bare.
func checkHeader(input []byte, opts Options) Result {
	s := bytes.TrimSpace(bytes.TrimPrefix(input, []byte("\xef\xbb\xbf")))
	name, value := splitHeaderName(s)
	if name == "" {
		value = s
	}
	return inspectHeader(name, unfold(string(value)), opts.now())
}

// unfold joins folded lines (CRLF or LF followed by white space) and
// trims the value.
func unfold(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c == '\r' || c == '\n' {
				j := i
				for j < len(v) && (v[j] == '\r' || v[j] == '\n') {
					j++
				}
				if j < len(v) && (v[j] == ' ' || v[j] == '\t') {
					b.WriteByte(' ')
					i = j
					continue
				}
			}
			b.WriteByte(c)
		}
		v = b.String()
	}
	return strings.TrimSpace(v)
}

// headerType is the type of header a name carries, "" when unnamed.
func headerType(name string) string {
	switch {
	case name == "":
		return ""
	case strings.HasSuffix(name, "Authenticate"):
		return TypeChallenge
	}
	return TypeCredentials
}

// inspectHeader decodes one header value; name is "" for a bare value,
// which is read as credentials if it can be, else as a challenge.
func inspectHeader(name, value string, now time.Time) Result {
	typ := headerType(name)
	path := name
	if path == "" {
		path = "header"
	}
	var (
		ch    bearer.Challenge
		cr    bearer.Credentials
		err   error
		cErr  error
		chErr error
	)
	switch typ {
	case TypeChallenge:
		ch, err = headerParser.ParseChallenge(value)
	case TypeCredentials:
		cr, err = headerParser.ParseCredentials(value)
	default:
		if cr, cErr = headerParser.ParseCredentials(value); cErr == nil {
			typ = TypeCredentials
			break
		}
		if ch, chErr = headerParser.ParseChallenge(value); chErr == nil {
			typ = TypeChallenge
			break
		}
		err = cErr
		if errOffset(chErr) > errOffset(cErr) {
			err = chErr
		}
	}
	var view *HeaderView
	if typ != "" || name != "" {
		view = &HeaderView{Name: name, Type: typ}
	}
	if err != nil {
		if errors.Is(err, bearer.ErrNotBearer) {
			if view != nil {
				view.Scheme = schemeOf(value)
			}
			return Result{Header: view, Findings: diag.Findings{notBearer(path, typ, value)}}
		}
		f := diag.Finding{Code: CodeHeaderUnreadable, Severity: diag.Error, Path: path, Message: err.Error(),
			Fix: "check the header's syntax: Bearer, then the token or parameters such as realm=\"ccmsipline\" (RFC 3261 §25.1 quoting)"}
		var pe *bearer.ParseError
		if errors.As(err, &pe) {
			f.Path += "@" + strconv.Itoa(pe.Offset)
		}
		return Result{Header: view, Findings: diag.Findings{f}}
	}
	if typ == TypeChallenge {
		return Result{Header: challengeView(view, ch), Findings: challengeFindings(path, name, ch)}
	}
	return credentialsResult(view, path, cr, now)
}

// errOffset is the offset of a *bearer.ParseError, -1 for other errors.
func errOffset(err error) int {
	var pe *bearer.ParseError
	if errors.As(err, &pe) {
		return pe.Offset
	}
	return -1
}

// schemeOf returns the authentication scheme a header value starts
// with, shortened.
func schemeOf(value string) string {
	scheme := value
	if i := strings.IndexAny(scheme, " \t,"); i >= 0 {
		scheme = scheme[:i]
	}
	if len(scheme) > 32 {
		scheme = scheme[:32] + "…"
	}
	return scheme
}

func notBearer(path, typ, value string) diag.Finding {
	scheme := schemeOf(value)
	f := diag.Finding{Code: CodeHeaderNotBearer, Severity: diag.Error, Path: path,
		Message: fmt.Sprintf("the header uses the %q scheme, not Bearer", scheme)}
	switch typ {
	case TypeChallenge:
		f.Fix = "a registrar in SIP OAuth mode challenges with Bearer (Proxy-Authenticate: Bearer realm=\"ccmsipline\"): another scheme means the request reached a port or a device whose profile does not enable OAuth"
	default:
		f.Fix = "in SIP OAuth mode the client answers with its access token (Proxy-Authorization: Bearer token=\"<token>\"); digest authentication is not supported with SIP OAuth"
	}
	return f
}

func challengeView(v *HeaderView, c bearer.Challenge) *HeaderView {
	if v == nil {
		v = &HeaderView{Type: TypeChallenge}
	}
	v.Realm, v.Error = c.Realm, string(c.Error)
	p := map[string]string{}
	for _, kv := range [...][2]string{{"scope", c.Scope}, {"authz_server", c.AuthzServer}, {"error_description", c.ErrorDescription}, {"error_uri", c.ErrorURI}} {
		if kv[1] != "" {
			p[kv[0]] = kv[1]
		}
	}
	for _, x := range c.Params {
		p[x.Name] = x.Value
	}
	if len(p) > 0 {
		v.Params = p
	}
	return v
}

// challengeFindings explain a challenge: why the last credentials failed,
// or, without an error, that a token is wanted.
func challengeFindings(path, name string, c bearer.Challenge) diag.Findings {
	desc := ""
	if c.ErrorDescription != "" {
		desc = ": " + c.ErrorDescription
	}
	var f diag.Finding
	switch c.Error {
	case "":
		return diag.Findings{{Code: CodeChallenge, Severity: diag.Info, Path: path,
			Message: "a Bearer challenge" + realmText(c.Realm) + ": the registrar asks for an access token",
			Fix:     "retry the REGISTER with " + answerFor(name, c.Realm)}}
	case bearer.InvalidToken:
		f = diag.Finding{Code: CodeHeaderInvalidToken, Severity: diag.Error,
			Message: `the registrar refused the token (error="invalid_token")` + desc,
			Fix:     "get a new access token and retry; if it is refused again, inspect the token: it is expired or revoked, or its issuer, audience or signing key is not the one the registrar trusts"}
	case bearer.InsufficientScope:
		need := ""
		if c.Scope != "" {
			need = " (scope=\"" + c.Scope + "\")"
		}
		f = diag.Finding{Code: CodeHeaderInsufficientScope, Severity: diag.Error,
			Message: `the token lacks a scope the registrar requires (error="insufficient_scope")` + need + desc,
			Fix:     "request an access token with the scope the challenge names; the user or client may need to be granted it on the authorization server"}
	default:
		f = diag.Finding{Code: CodeHeaderChallengeError, Severity: diag.Error,
			Message: fmt.Sprintf("the registrar refused the request (error=%q)%s", string(c.Error), desc),
			Fix:     "check the credentials header: one Bearer token, in the form the registrar expects"}
	}
	f.Path = path
	return diag.Findings{f}
}

func realmText(realm string) string {
	if realm == "" {
		return ""
	}
	return " (realm \"" + realm + "\")"
}

// answerFor is the credentials header that answers a challenge.
func answerFor(name, realm string) string {
	if name == "WWW-Authenticate" || (name == "" && realm != bearer.CiscoRealm) {
		return "Authorization: Bearer <access token> (RFC 8898)"
	}
	return `Proxy-Authorization: Bearer token="<access token>", as Jabber answers Unified CM`
}

var formText = map[bearer.Form]string{
	bearer.FormCisco:    `credentials in Cisco's form, Bearer token="…", as Jabber sends them to Unified CM`,
	bearer.FormPJSIP:    `credentials in PJSIP's form, a token parameter with other parameters beside it`,
	bearer.FormRFC6750:  `credentials in RFC 6750's form, Bearer <token>, as RFC 8898 specifies for SIP`,
	bearer.FormBelleSIP: `credentials in belle-sip's form, a bare token followed by parameters`,
}

func credentialsResult(v *HeaderView, path string, c bearer.Credentials, now time.Time) Result {
	if v == nil {
		v = &HeaderView{Type: TypeCredentials}
	}
	v.Form, v.Realm, v.Token = c.Form.String(), c.Realm, shortToken(c.Token)
	if len(c.Params) > 0 {
		v.Params = map[string]string{}
		for _, p := range c.Params {
			v.Params[p.Name] = p.Value
		}
	}
	fs := diag.Findings{{Code: CodeHeaderForm, Severity: diag.Info, Path: path, Message: formText[c.Form]}}
	// Unified CM reads Proxy-Authorization with the token parameter and
	// skips credentials for a realm other than its own (RFC 3261 §22.3).
	cisco := v.Name == "Proxy-Authorization" || c.Form == bearer.FormCisco || c.Form == bearer.FormPJSIP
	if c.Realm != "" && c.Realm != bearer.CiscoRealm && cisco {
		fs = append(fs, diag.Finding{Code: CodeHeaderRealmMismatch, Severity: diag.Warning, Path: path,
			Message: fmt.Sprintf("the credentials are for realm %q: a Unified CM registrar (realm %q) skips credentials for another realm", c.Realm, bearer.CiscoRealm),
			Fix:     "answer with the realm of the challenge, or with no realm"})
	}
	r := Result{Header: v, Findings: fs}
	if isCompactJOSE(c.Token) {
		tv, tfs := inspectToken(c.Token, now)
		r.Token = tv
		r.Findings = append(r.Findings, tfs...)
	}
	return r
}

// shortToken returns the start of a token and its length, never all of
// it: twelve characters, or half of a shorter token.
func shortToken(t string) string {
	if t == "" {
		return ""
	}
	n := min(12, len(t)/2)
	return t[:n] + "…(" + strconv.Itoa(len(t)) + " bytes)"
}
