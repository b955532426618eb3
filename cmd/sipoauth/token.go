package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/inspect"
	"github.com/sipoauth/sdk/internal/filekeys"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/keyfile"
	"github.com/sipoauth/sdk/sipoauth"
)

// Finding codes of token verify: one for each reason sipoauth refuses a
// token, stable across releases. Those that token inspect also reports
// are inspect's.
const (
	CodeTokenMalformed         = inspect.CodeTokenUnreadable
	CodeTokenTooLarge          = "token-too-large"
	CodeTokenAlgorithm         = "token-algorithm-refused"
	CodeTokenUnknownKey        = "token-unknown-key"
	CodeTokenBadSignature      = "token-bad-signature"
	CodeTokenDecrypt           = "token-decrypt-failed"
	CodeTokenMissingClaim      = "token-missing-claim"
	CodeTokenExpired           = inspect.CodeTokenExpired
	CodeTokenNotYetValid       = inspect.CodeTokenNotYetValid
	CodeTokenWrongIssuer       = "token-wrong-issuer"
	CodeTokenWrongAudience     = "token-wrong-audience"
	CodeTokenScope             = "token-insufficient-scope"
	CodeTokenRevoked           = "token-revoked"
	CodeRefreshTokenCredential = inspect.CodeTokenRefresh
	CodeTokenDeviceMismatch    = "token-device-mismatch"
	CodeTokenUnverified        = "token-not-verified"
	CodeTokenNotAccessToken    = "token-not-access-token"
	CodeTokenLifetime          = "token-lifetime-too-long"
)

// refusals maps sipoauth's reasons to a finding code and a fix.
var refusals = []struct {
	err       error
	code, fix string
}{
	{sipoauth.ErrMalformed, CodeTokenMalformed, "pass the access token itself: a JWT of three base64url parts separated by dots, without the header name or quotes"},
	{sipoauth.ErrTooLarge, CodeTokenTooLarge, "the token is larger than a SIP header should carry; check that the whole value is one token"},
	{sipoauth.ErrAlgorithm, CodeTokenAlgorithm, "sign with an asymmetric algorithm the registrar accepts (Unified CM uses RS256); none and HMAC with a public key are always refused"},
	{sipoauth.ErrUnknownKey, CodeTokenUnknownKey, "give the issuer's current signing key with --keys (its PEM public key or certificate, or its JWKS); after a key rotation, fetch the JWKS again"},
	{sipoauth.ErrBadSignature, CodeTokenBadSignature, "the token was not signed by the keys given: check that --keys holds the issuer's current key and that the token was not altered"},
	{sipoauth.ErrDecrypt, CodeTokenDecrypt, "give the cluster's 32-byte A128CBC-HS256 key that encrypts the private claims with --decryption-key"},
	{sipoauth.ErrMissingClaim, CodeTokenMissingClaim, "the issuer must put the required claims (exp, and the user) in the token"},
	{sipoauth.ErrExpired, CodeTokenExpired, "get a new access token with the refresh token; Unified CM's access tokens live 60 minutes by default"},
	{sipoauth.ErrNotYetValid, CodeTokenNotYetValid, "check the clocks of the issuer and of this host (NTP)"},
	{sipoauth.ErrIssuer, CodeTokenWrongIssuer, "the token's iss is not the one given with --iss: use the issuer of this cluster"},
	{sipoauth.ErrAudience, CodeTokenWrongAudience, "the token's aud does not name the one given with --aud: request a token for this audience"},
	{sipoauth.ErrInsufficientScope, CodeTokenScope, "request a token with the scope the registrar requires"},
	{sipoauth.ErrRevoked, CodeTokenRevoked, "the user's tokens were revoked: sign in again to get new ones"},
	{sipoauth.ErrRefreshToken, CodeRefreshTokenCredential, "send the access token; a refresh token only obtains access tokens from the token endpoint"},
	{sipoauth.ErrBindingMismatch, CodeTokenDeviceMismatch, "the token is bound to another device: request a token for the device that registers"},
	{sipoauth.ErrNotAccessToken, CodeTokenNotAccessToken, "send an access token: this is an ID token (nonce, at_hash or c_hash claims, or a typ other than JWT or at+jwt), which proves a login to an application, not a right to register"},
	{sipoauth.ErrLifetime, CodeTokenLifetime, "the token is meant to live longer than the registrar allows (24 h by default): have the issuer mint shorter-lived access tokens"},
}

// refusalFinding returns the finding of a token verification error.
func refusalFinding(err error) diag.Finding {
	f := diag.Finding{Code: CodeTokenUnverified, Severity: diag.Error, Path: "token", Message: err.Error(),
		Fix: "the token could not be checked (keys unreachable?); try again, or give the keys as a file"}
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			f.Code, f.Fix = r.code, r.fix
			break
		}
	}
	return f
}

// verifyReport is the JSON of token verify.
type verifyReport struct {
	Valid    bool          `json:"valid"`
	Identity *identityView `json:"identity,omitempty"`
	// Error is sipoauth's error, and ErrorCode its RFC 6750 code, the
	// error parameter a registrar puts in its challenge.
	Error     string        `json:"error,omitempty"`
	ErrorCode string        `json:"errorCode,omitempty"`
	Findings  diag.Findings `json:"findings"`
}

// identityView is a valid token's identity.
type identityView struct {
	User      string          `json:"user"`
	Device    string          `json:"device,omitempty"`
	Scopes    []string        `json:"scopes,omitempty"`
	Issuer    string          `json:"issuer,omitempty"`
	Audience  []string        `json:"audience,omitempty"`
	TokenID   string          `json:"tokenId,omitempty"`
	IssuedAt  *time.Time      `json:"issuedAt,omitempty"`
	ExpiresAt time.Time       `json:"expiresAt"`
	ExpiresIn string          `json:"expiresIn"`
	Nested    bool            `json:"nested"`
	Claims    json.RawMessage `json:"claims,omitempty"`
}

func (e *env) tokenVerify(args []string) int {
	c := cmdTokenVerify
	fs, asJSON := c.flags()
	keysArg := fs.String("keys", "", "")
	iss := fs.String("iss", "", "")
	aud := fs.String("aud", "", "")
	device := fs.String("device", "", "")
	decKey := fs.String("decryption-key", "", "")
	pos, st, ok := e.parse(c, fs, args)
	if !ok {
		return st
	}
	if *keysArg == "" {
		return e.usageError(c, "--keys is required")
	}
	tok, st, ok := e.tokenArg(c, pos)
	if !ok {
		return st
	}
	var dec *sipoauth.SymmetricKeys
	if *decKey != "" {
		b, err := e.readInput(c, *decKey, 64<<10)
		if err != nil {
			return e.inputError(c, err)
		}
		keys, err := keyfile.ParseClusterKeys(b, keyfile.ClusterKeySize)
		if err != nil {
			return e.inputError(c, fmt.Errorf("%s: %w", *decKey, err))
		}
		if key, ok := keys[""]; ok && len(keys) == 1 {
			if k := jweKeyID(tok); k != "" {
				// A key given without its id decrypts the token it is given for.
				keys = map[string][]byte{k: key}
			}
		}
		if dec, err = sipoauth.NewSymmetricKeys(keys); err != nil {
			return e.inputError(c, err)
		}
	}
	sources, fetchErr, closeKeys, err := e.keySources(*keysArg, tok)
	if err != nil {
		return e.inputError(c, err)
	}
	defer closeKeys()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var id sipoauth.Identity
	var verr error
	for i, ks := range sources {
		cfg := sipoauth.Config{Keys: ks, DecryptionKeys: dec, Now: e.now, CacheSize: -1, FailureTTL: -1}
		if *iss != "" {
			cfg.Issuers = []string{*iss}
		}
		if *aud != "" {
			cfg.Audiences = []string{*aud}
		}
		v, err := sipoauth.New(cfg)
		if err != nil {
			return e.inputError(c, err)
		}
		got, err := v.ValidateRequest(ctx, tok, sipoauth.Request{Device: *device})
		if err == nil {
			id, verr = got, nil
			break
		}
		// Of several keys, the one whose signature matched tells why the
		// token is refused; a signature that no key matched is reported
		// as such.
		wrongKey := errors.Is(err, sipoauth.ErrBadSignature) || errors.Is(err, sipoauth.ErrUnknownKey)
		if i == 0 || !wrongKey {
			verr = err
		}
		if !wrongKey {
			break
		}
	}
	if ferr := fetchErr(); verr != nil && ferr != nil && (errors.Is(verr, sipoauth.ErrUnknownKey) || errors.Is(verr, sipoauth.ErrUnavailable)) {
		return e.inputError(c, fmt.Errorf("fetching %s: %w", *keysArg, ferr))
	}

	rep := verifyReport{Valid: verr == nil, Findings: diag.Findings{}}
	if verr != nil {
		rep.Error = verr.Error()
		rep.ErrorCode = string(sipoauth.ErrorCode(verr))
		rep.Findings = diag.Findings{refusalFinding(verr)}
	} else {
		now := e.now()
		iv := &identityView{User: id.User, Device: id.Device, Scopes: id.Scopes, Issuer: id.Issuer,
			Audience: id.Audience, TokenID: id.TokenID, ExpiresAt: id.Expiry.UTC(),
			ExpiresIn: id.Expiry.Sub(now).Round(time.Second).String(), Nested: id.Nested, Claims: id.RawClaims}
		if !id.IssuedAt.IsZero() {
			t := id.IssuedAt.UTC()
			iv.IssuedAt = &t
		}
		rep.Identity = iv
	}
	if *asJSON {
		writeJSON(e.stdout, rep)
	} else if rep.Valid {
		iv := rep.Identity
		fmt.Fprintln(e.stdout, "valid token")
		fields(e.stdout, "  ",
			"user", iv.User,
			"device", iv.Device,
			"scope", strings.Join(iv.Scopes, " "),
			"issuer", iv.Issuer,
			"audience", strings.Join(iv.Audience, " "),
			"token id", iv.TokenID,
			"expires", when(iv.ExpiresAt, e.now()),
			"nested", yesNo(iv.Nested),
		)
	} else {
		fmt.Fprintln(e.stdout, "token refused: "+rep.Error)
		code := rep.ErrorCode
		if code == "" {
			code = "none (not the token's fault)"
		}
		fmt.Fprintln(e.stdout, "RFC 6750 error code: "+code)
		printFindings(e.stdout, rep.Findings)
	}
	if !rep.Valid {
		return exitFindings
	}
	return exitOK
}

// keySources returns the key sources to try: one per PEM key (each under
// the token's kid, as a key given by hand is meant for the token), or one
// JWKS from a file or a URL. For a URL, fetchErr receives the last failed
// fetch.
func (e *env) keySources(arg, token string) (ks []sipoauth.KeySource, fetchErr func() error, closeFn func(), err error) {
	closeFn = func() {}
	fetchErr = func() error { return nil }
	if u, perr := url.Parse(arg); perr == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		var mu sync.Mutex
		var last error
		onError := func(err error) {
			mu.Lock()
			last = err
			mu.Unlock()
		}
		fetchErr = func() error {
			mu.Lock()
			defer mu.Unlock()
			return last
		}
		j, err := sipoauth.NewJWKSURL(arg, sipoauth.JWKSOptions{Timeout: 10 * time.Second, OnError: onError})
		if err != nil {
			return nil, fetchErr, closeFn, err
		}
		return []sipoauth.KeySource{j}, fetchErr, j.Close, nil
	}
	b, err := e.readInput(cmdTokenVerify, arg, 4<<20)
	if err != nil {
		return nil, fetchErr, closeFn, err
	}
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "{") {
		// A JWKS or a single JWK, read as the registrar reads its -keys.
		src := new(filekeys.Source)
		if err := src.Load(b); err != nil {
			return nil, fetchErr, closeFn, fmt.Errorf("%s: %w", arg, err)
		}
		return []sipoauth.KeySource{src}, fetchErr, closeFn, nil
	}
	// PEM public keys and certificates, and the public half of private
	// keys, so that a lab's signing key file verifies the tokens it signed.
	pubs, err := keyfile.ParsePEM(b)
	if err != nil {
		return nil, fetchErr, closeFn, fmt.Errorf("%s: %w", arg, err)
	}
	kid := jwsKeyID(token)
	for _, p := range pubs {
		s, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{kid: p.Public})
		if err != nil {
			return nil, fetchErr, closeFn, fmt.Errorf("%s: %w", arg, err)
		}
		ks = append(ks, s)
	}
	return ks, fetchErr, closeFn, nil
}

// jwsKeyID returns the kid of a compact JWS's header, unverified, or "".
func jwsKeyID(token string) string {
	h, _, ok := strings.Cut(token, ".")
	if !ok || len(h) > 4<<10 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	if json.Unmarshal(b, &hdr) != nil {
		return ""
	}
	return hdr.Kid
}

// jweKeyID returns the kid of the JWE in a nested token's private claim,
// unverified, or "".
func jweKeyID(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 64<<10 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Private string `json:"private"`
	}
	if json.Unmarshal(b, &claims) != nil || claims.Private == "" {
		return ""
	}
	return jwsKeyID(claims.Private)
}

// defaultRefreshTTL is the lifetime of Unified CM's refresh tokens, and of
// those minted without --ttl.
const defaultRefreshTTL = 60 * 24 * time.Hour

// mintReport is the JSON of token mint.
type mintReport struct {
	Token     string        `json:"token"`
	Use       string        `json:"use"`   // access or refresh
	Shape     string        `json:"shape"` // jws or nested
	KeyID     string        `json:"kid"`
	ExpiresAt time.Time     `json:"expiresAt"`
	Findings  diag.Findings `json:"findings"`
}

func (e *env) tokenMint(args []string) int {
	c := cmdTokenMint
	fs, asJSON := c.flags()
	keyFile := fs.String("key", "", "")
	sub := fs.String("sub", "", "")
	device := fs.String("device", "", "")
	ttl := fs.Duration("ttl", time.Hour, "")
	iss := fs.String("iss", "", "")
	aud := fs.String("aud", "", "")
	scope := fs.String("scope", "", "")
	kid := fs.String("kid", "", "")
	nested := fs.Bool("nested", false, "")
	encKey := fs.String("enc-key", "", "")
	encKid := fs.String("enc-kid", "", "")
	refresh := fs.Bool("refresh", false, "")
	clientID := fs.String("client-id", "", "")
	if st, ok := e.parseNoArgs(c, fs, args); !ok {
		return st
	}
	switch {
	case *keyFile == "":
		return e.usageError(c, "--key is required")
	case *sub == "":
		return e.usageError(c, "--sub is required")
	case *nested && *encKey == "":
		return e.usageError(c, "--nested needs --enc-key: the private claims are encrypted with it")
	case *nested && *refresh:
		return e.usageError(c, "--refresh and --nested exclude each other: refresh tokens are plain JWS")
	case !*nested && (*encKey != "" || *encKid != ""):
		return e.usageError(c, "--enc-key and --enc-kid go with --nested")
	case *ttl == 0:
		return e.usageError(c, "--ttl must not be 0")
	case *refresh && *ttl < 0:
		return e.usageError(c, "--ttl of a refresh token must be positive")
	}
	keyPEM, err := e.readInput(c, *keyFile, 1<<20)
	if err != nil {
		return e.inputError(c, err)
	}
	ttlSet := false
	fs.Visit(func(f *flag.Flag) { ttlSet = ttlSet || f.Name == "ttl" })
	cfg := issuer.Config{Issuer: *iss, SigningKeyPEM: keyPEM, KeyID: *kid, Nested: *nested, Now: e.now}
	if *refresh && ttlSet {
		// Refresh tokens live 60 days unless told otherwise.
		cfg.RefreshTTL = *ttl
	}
	if *aud != "" {
		cfg.Audience = []string{*aud}
	}
	if *nested {
		b, err := e.readInput(c, *encKey, 64<<10)
		if err != nil {
			return e.inputError(c, err)
		}
		keys, err := keyfile.ParseClusterKeys(b, keyfile.ClusterKeySize)
		if err != nil {
			return e.inputError(c, fmt.Errorf("%s: %w", *encKey, err))
		}
		// The key named by --enc-kid, or the file's only key under its
		// own kid unless --enc-kid names it otherwise.
		key, named := keys[*encKid]
		if !named || *encKid == "" {
			if len(keys) != 1 {
				return e.inputError(c, fmt.Errorf("%s: %d keys and no --enc-kid that names one of them", *encKey, len(keys)))
			}
			for kid, k := range keys {
				cfg.EncryptionKeyID, key = kid, k
			}
		}
		cfg.EncryptionKey = key
		if *encKid != "" {
			cfg.EncryptionKeyID = *encKid
		}
	}
	is, err := issuer.New(cfg)
	if err != nil {
		return e.inputError(c, fmt.Errorf("%s: %w", *keyFile, err))
	}
	if _, isRSA := is.PublicKey().(*rsa.PublicKey); *nested && !isRSA {
		return e.usageError(c, "--nested needs an RSA signing key: Unified CM's nested tokens are RS256")
	}
	rep := mintReport{Use: "access", Shape: "jws", KeyID: is.KeyID(), ExpiresAt: e.now().Add(*ttl).UTC().Truncate(time.Second), Findings: diag.Findings{}}
	if *refresh {
		if !ttlSet {
			rep.ExpiresAt = e.now().Add(defaultRefreshTTL).UTC().Truncate(time.Second)
		}
		rep.Use = "refresh"
		rep.Token, err = is.MintRefresh(*sub, *clientID)
	} else {
		if *nested {
			rep.Shape = "nested"
		}
		rep.Token, err = is.Mint(issuer.TokenRequest{User: *sub, Device: *device, ClientID: *clientID, Scopes: strings.Fields(*scope), TTL: *ttl})
	}
	if err != nil {
		return e.inputError(c, err)
	}
	if *asJSON {
		writeJSON(e.stdout, rep)
	} else {
		io.WriteString(e.stdout, rep.Token+"\n")
	}
	return exitOK
}
