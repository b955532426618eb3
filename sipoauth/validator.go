package sipoauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// DefaultAlgorithms are the signing algorithms accepted unless Config says
// otherwise. "none" is never accepted; HMAC only with Config.HMAC.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}

// Defaults of Config.
const (
	DefaultMaxTokenSize = 8 << 10
	DefaultLeeway       = 30 * time.Second
	DefaultCacheSize    = 10000
	DefaultFailureTTL   = 2 * time.Second
)

// Config configures a Validator. Keys is required; the rest has defaults.
type Config struct {
	// Keys verify signatures: StaticKeys, JWKS, or a KeySource of your own.
	Keys KeySource
	// HMAC, if set, allows HS256, HS384 and HS512 with these secrets. It
	// is never used for a key id that Keys knows, so a token cannot pass
	// an RSA public key off as an HMAC secret.
	HMAC *SymmetricKeys
	// DecryptionKeys decrypt the private claims of Unified CM's tokens
	// (alg dir, enc A128CBC-HS256), chosen by the JWE's kid.
	DecryptionKeys *SymmetricKeys
	// Algorithms accepted; DefaultAlgorithms when empty. "none" is refused.
	Algorithms []string
	// Issuers accepted (iss); any when empty.
	Issuers []string
	// Audiences accepted: the token's aud must name one; any when empty.
	Audiences []string
	// RequiredScopes must all be in the token's scope.
	RequiredScopes []string
	// RequiredClaims must be present (exp always is).
	RequiredClaims []string
	// Claims says where the user, device and scope are.
	Claims ClaimNames
	// Leeway for clock skew in exp, nbf and iat; DefaultLeeway when 0,
	// none when negative.
	Leeway time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxTokenSize in bytes; DefaultMaxTokenSize when 0.
	MaxTokenSize int
	// Revocation, if set, is asked on every validation, cache hits included.
	Revocation Revocation
	// Binding, if set, ties tokens to requests in ValidateRequest.
	Binding *Binding
	// CacheSize bounds the cache of successful validations;
	// DefaultCacheSize when 0, no cache when negative.
	CacheSize int
	// FailureTTL is how long a refused token is remembered (so a flood of
	// the same bad token costs one signature check); DefaultFailureTTL
	// when 0, not at all when negative.
	FailureTTL time.Duration
}

// Identity is what a valid token says. It is shared with the cache:
// treat it, its Scopes and its Claims as read-only.
type Identity struct {
	User     string
	Device   string // the device the token names, if any
	Scopes   []string
	Issuer   string
	Audience []string
	TokenID  string // jti
	IssuedAt time.Time
	Expiry   time.Time
	// Nested is true for Unified CM's shape, whose claims were decrypted.
	Nested bool
	// Claims are all the claims (the inner ones of a nested token), for
	// callers with their own claim names.
	Claims map[string]any
}

// HasScope reports whether the identity's scopes include s.
func (id *Identity) HasScope(s string) bool { return slices.Contains(id.Scopes, s) }

// Validator validates bearer tokens. It is safe for concurrent use.
type Validator struct {
	cfg    Config
	algs   map[string]bool
	leeway time.Duration
	parser *jwt.Parser
	names  ClaimNames
	cache  *cache
}

// New returns a Validator for cfg.
func New(cfg Config) (*Validator, error) {
	if cfg.Keys == nil && cfg.HMAC == nil {
		return nil, errors.New("sipoauth: Config.Keys is required")
	}
	v := &Validator{cfg: cfg, algs: map[string]bool{}, names: cfg.Claims.withDefaults()}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	for _, a := range algs {
		switch a {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		case "HS256", "HS384", "HS512":
			if cfg.HMAC == nil {
				return nil, fmt.Errorf("sipoauth: algorithm %s needs Config.HMAC", a)
			}
		default:
			return nil, fmt.Errorf("sipoauth: algorithm %q not supported", a)
		}
		v.algs[a] = true
	}
	if cfg.HMAC != nil && len(cfg.Algorithms) == 0 {
		v.algs["HS256"], v.algs["HS384"], v.algs["HS512"] = true, true, true
	}
	switch {
	case cfg.Leeway == 0:
		v.leeway = DefaultLeeway
	case cfg.Leeway > 0:
		v.leeway = cfg.Leeway
	}
	if v.cfg.MaxTokenSize <= 0 {
		v.cfg.MaxTokenSize = DefaultMaxTokenSize
	}
	if v.cfg.Now == nil {
		v.cfg.Now = time.Now
	}
	if v.cfg.FailureTTL == 0 {
		v.cfg.FailureTTL = DefaultFailureTTL
	}
	if cfg.CacheSize >= 0 {
		size := cfg.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		v.cache = newCache(size)
	}
	// Claims are checked here, not by the jwt package, because a nested
	// token's claims are inside its JWE.
	v.parser = jwt.NewParser(jwt.WithoutClaimsValidation())
	return v, nil
}

// Request is what a token can be bound to: the REGISTER it came with.
type Request struct {
	Device   string // the device the REGISTER names (+u.sip!devicename.ccm.cisco.com)
	FromUser string // the user part of the From URI
}

// Binding ties a token to the request it authenticates.
type Binding struct {
	// DeviceOwner returns the user who owns device; the token's user must
	// be that user. An error refuses the token.
	DeviceOwner func(ctx context.Context, device string) (string, error)
	// MatchFromUser requires the From user to be the token's user.
	MatchFromUser bool
}

// Validate checks token and returns whose it is. The error wraps one of
// the Err* values; ErrorCode maps it to the challenge's error code.
func (v *Validator) Validate(ctx context.Context, token string) (Identity, error) {
	return v.validate(ctx, token, nil)
}

// ValidateRequest is Validate, then the Binding for req: a token that
// names a device must name req's, and Config.Binding's checks must pass.
func (v *Validator) ValidateRequest(ctx context.Context, token string, req Request) (Identity, error) {
	return v.validate(ctx, token, &req)
}

func (v *Validator) validate(ctx context.Context, token string, req *Request) (Identity, error) {
	if len(token) > v.cfg.MaxTokenSize {
		return Identity{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(token), v.cfg.MaxTokenSize)
	}
	now := v.cfg.Now()
	var id *Identity
	var err error
	hit := false
	if v.cache != nil {
		id, err, hit = v.cache.get(token, now)
	}
	if !hit {
		id, err = v.verify(ctx, token, now)
		if v.cache != nil {
			switch {
			case err == nil:
				v.cache.put(token, id, nil, id.Expiry)
			case v.cfg.FailureTTL > 0 && ctx.Err() == nil && ErrorCode(err) != "":
				v.cache.put(token, nil, err, now.Add(v.cfg.FailureTTL))
			}
		}
	}
	if err != nil {
		return Identity{}, err
	}
	if now.After(id.Expiry.Add(v.leeway)) {
		return Identity{}, fmt.Errorf("%w at %s", ErrExpired, id.Expiry.UTC().Format(time.RFC3339))
	}
	if r := v.cfg.Revocation; r != nil {
		revoked, err := r.Revoked(ctx, id.TokenID, id.User, id.IssuedAt)
		if err != nil {
			return Identity{}, fmt.Errorf("sipoauth: revocation: %w", err)
		}
		if revoked {
			return Identity{}, ErrRevoked
		}
	}
	if req != nil {
		if err := v.bind(ctx, id, req); err != nil {
			return Identity{}, err
		}
	}
	return *id, nil
}

func (v *Validator) bind(ctx context.Context, id *Identity, req *Request) error {
	if id.Device != "" && req.Device != "" && id.Device != req.Device {
		return fmt.Errorf("%w: token is for device %q, request names %q", ErrBindingMismatch, id.Device, req.Device)
	}
	b := v.cfg.Binding
	if b == nil {
		return nil
	}
	if b.DeviceOwner != nil {
		owner, err := b.DeviceOwner(ctx, req.Device)
		if err != nil {
			return fmt.Errorf("%w: device %q: %v", ErrBindingMismatch, req.Device, err)
		}
		if !strings.EqualFold(owner, id.User) {
			return fmt.Errorf("%w: device %q belongs to %q, not %q", ErrBindingMismatch, req.Device, owner, id.User)
		}
	}
	if b.MatchFromUser && !strings.EqualFold(req.FromUser, id.User) {
		return fmt.Errorf("%w: From user %q is not %q", ErrBindingMismatch, req.FromUser, id.User)
	}
	return nil
}

// verify does the work a cache hit skips: signature, decryption, claims.
func (v *Validator) verify(ctx context.Context, token string, now time.Time) (*Identity, error) {
	kf := keyFinder{v: v, ctx: ctx}
	t, err := v.parser.Parse(token, kf.find)
	if err != nil {
		return nil, jwtError(err)
	}
	claims := t.Claims.(jwt.MapClaims)
	id := &Identity{}
	if priv, ok := claims[ClaimPrivate]; ok {
		s, ok := priv.(string)
		if !ok {
			return nil, fmt.Errorf("%w: claim %q is not a string", ErrMalformed, ClaimPrivate)
		}
		// The outer token's own time claims, if any, must hold too.
		if err := v.checkTimes(claims, now, false); err != nil {
			return nil, err
		}
		if claims, err = v.decrypt(s); err != nil {
			return nil, err
		}
		if isRefresh(nil, claims) {
			return nil, ErrRefreshToken
		}
		id.Nested = true
	}
	if err := v.checkTimes(claims, now, true); err != nil {
		return nil, err
	}
	if err := v.fill(id, claims); err != nil {
		return nil, err
	}
	return id, nil
}

// keyFinder is the jwt.Keyfunc of one validation: it checks the header
// before any signature work and finds the key.
type keyFinder struct {
	v   *Validator
	ctx context.Context
}

func (k keyFinder) find(t *jwt.Token) (any, error) {
	h := t.Header
	// RFC 8725 §3.10: never let a token choose its own key, or tell us of
	// extensions we do not understand.
	for _, name := range [...]string{"jku", "jwk", "x5u", "x5c", "crit"} {
		if _, ok := h[name]; ok {
			return nil, fmt.Errorf("%w: header %q not accepted", ErrMalformed, name)
		}
	}
	if isRefresh(h, t.Claims.(jwt.MapClaims)) {
		return nil, ErrRefreshToken
	}
	if typ, ok := h["typ"]; ok {
		s, _ := typ.(string)
		switch strings.ToLower(s) {
		case "jwt", "at+jwt", "application/at+jwt":
		default:
			return nil, fmt.Errorf("%w: typ %q is not an access token", ErrMalformed, s)
		}
	}
	alg := t.Method.Alg()
	if h["alg"] != alg || !k.v.algs[alg] {
		return nil, fmt.Errorf("%w: %q", ErrAlgorithm, h["alg"])
	}
	kid := ""
	if x, ok := h["kid"]; ok {
		s, ok := x.(string)
		if !ok || !validKID(s) {
			return nil, fmt.Errorf("%w: kid %q not accepted", ErrUnknownKey, fmt.Sprint(x))
		}
		kid = s
	}
	if strings.HasPrefix(alg, "HS") {
		// An HMAC secret is used only under a key id that names no public
		// key: a public key can never become an HMAC secret.
		if k.v.cfg.Keys != nil {
			if _, err := k.v.cfg.Keys.VerificationKey(k.ctx, kid, alg); err == nil {
				return nil, fmt.Errorf("%w: %s with the public key %q", ErrAlgorithm, alg, kid)
			}
		}
		if key, ok := k.v.cfg.HMAC.key(kid); ok {
			return key, nil
		}
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	if k.v.cfg.Keys == nil {
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	key, err := k.v.cfg.Keys.VerificationKey(k.ctx, kid, alg)
	if err != nil {
		return nil, err
	}
	if !keyFits(key, alg) {
		return nil, fmt.Errorf("%w: %s with a %T key", ErrAlgorithm, alg, key)
	}
	return key, nil
}

// validKID accepts printable ASCII key ids up to 256 bytes that could not
// be mistaken for a path or URL.
func validKID(s string) bool {
	if len(s) > 256 || strings.Contains(s, "..") || strings.ContainsAny(s, `/\`) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// keyFits reports whether key is of the type alg signs with.
func keyFits(key crypto.PublicKey, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return alg == "ES256" && k.Curve == elliptic.P256() || alg == "ES384" && k.Curve == elliptic.P384() ||
			alg == "ES512" && k.Curve == elliptic.P521()
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// isRefresh recognizes refresh tokens: Unified CM's ctyp "refresh", or a
// token_type, typ claim or typ header saying refresh.
func isRefresh(h map[string]any, c map[string]any) bool {
	is := func(x any) bool {
		s, _ := x.(string)
		s = strings.ToLower(s)
		return s == "refresh" || s == "refresh_token" || s == "rt+jwt"
	}
	return is(c[ClaimCType]) || is(c[ClaimTokenType]) || is(c["typ"]) || (h != nil && is(h["typ"]))
}

// jwtError maps the jwt package's errors to ours, keeping ours as they are.
func jwtError(err error) error {
	for _, e := range tokenErrors {
		if errors.Is(err, e) {
			return unwrapJWT(err, e)
		}
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrBadSignature
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The jwt package knows no such signing method.
		return fmt.Errorf("%w: %v", ErrAlgorithm, err)
	}
	return fmt.Errorf("%w: %v", ErrMalformed, err)
}

// unwrapJWT returns the keyfunc's own error rather than the jwt package's
// wrapping of it, so messages read well.
func unwrapJWT(err, sentinel error) error {
	for {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				if errors.Is(e, sentinel) {
					err = e
				}
			}
		}
		if u := errors.Unwrap(err); u != nil && errors.Is(u, sentinel) && u != sentinel {
			err = u
			continue
		}
		return err
	}
}

// decrypt opens the JWE of a Unified CM token and returns its claims.
func (v *Validator) decrypt(s string) (map[string]any, error) {
	jwe, err := jose.ParseEncryptedCompact(s, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A128CBC_HS256})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	key, ok := v.cfg.DecryptionKeys.key(jwe.Header.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: no key %q", ErrDecrypt, jwe.Header.KeyID)
	}
	plain, err := jwe.Decrypt(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	var claims map[string]any
	if err := json.Unmarshal(plain, &claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: private claims are not a JSON object", ErrMalformed)
	}
	if _, nested := claims[ClaimPrivate]; nested {
		return nil, fmt.Errorf("%w: private claims nested twice", ErrMalformed)
	}
	return claims, nil
}

// checkTimes checks exp, nbf and iat; exp must be there when required.
func (v *Validator) checkTimes(c map[string]any, now time.Time, required bool) error {
	exp, ok, err := numericDate(c, "exp")
	switch {
	case err != nil:
		return err
	case !ok && required:
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	case ok && now.After(exp.Add(v.leeway)):
		return fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	if nbf, ok, err := numericDate(c, "nbf"); err != nil {
		return err
	} else if ok && nbf.After(now.Add(v.leeway)) {
		return fmt.Errorf("%w: nbf %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339))
	}
	if iat, ok, err := numericDate(c, "iat"); err != nil {
		return err
	} else if ok && iat.After(now.Add(v.leeway)) {
		return fmt.Errorf("%w: issued in the future, %s", ErrNotYetValid, iat.UTC().Format(time.RFC3339))
	}
	return nil
}

func numericDate(c map[string]any, name string) (time.Time, bool, error) {
	x, ok := c[name]
	if !ok {
		return time.Time{}, false, nil
	}
	f, ok := x.(float64)
	if !ok || f < 0 || f > 1<<40 {
		return time.Time{}, false, fmt.Errorf("%w: %s is not a NumericDate", ErrMalformed, name)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true, nil
}

// fill checks the claims that policy asks for and fills id.
func (v *Validator) fill(id *Identity, c map[string]any) error {
	for _, name := range v.cfg.RequiredClaims {
		if _, ok := c[name]; !ok {
			return fmt.Errorf("%w: %s", ErrMissingClaim, name)
		}
	}
	str := func(name string) (string, error) {
		x, ok := c[name]
		if !ok {
			return "", nil
		}
		s, ok := x.(string)
		if !ok {
			return "", fmt.Errorf("%w: %s is not a string", ErrMalformed, name)
		}
		return s, nil
	}
	var err error
	if id.Issuer, err = str("iss"); err != nil {
		return err
	}
	if len(v.cfg.Issuers) > 0 && !slices.Contains(v.cfg.Issuers, id.Issuer) {
		return fmt.Errorf("%w: %q", ErrIssuer, id.Issuer)
	}
	if id.Audience, err = stringList(c, "aud", ErrMalformed); err != nil {
		return err
	}
	if len(v.cfg.Audiences) > 0 && !slices.ContainsFunc(id.Audience, func(a string) bool { return slices.Contains(v.cfg.Audiences, a) }) {
		return fmt.Errorf("%w: %q", ErrAudience, id.Audience)
	}
	if id.User, err = str(v.names.User); err != nil {
		return err
	}
	if id.Device, err = str(v.names.Device); err != nil {
		return err
	}
	if id.TokenID, err = str("jti"); err != nil {
		return err
	}
	if id.Scopes, err = stringList(c, v.names.Scope, ErrMalformed); err != nil {
		return err
	}
	if id.Scopes == nil && v.names.Scope == "scope" {
		if id.Scopes, err = stringList(c, "scp", ErrMalformed); err != nil {
			return err
		}
	}
	for _, s := range v.cfg.RequiredScopes {
		if !slices.Contains(id.Scopes, s) {
			return fmt.Errorf("%w: %q required", ErrInsufficientScope, s)
		}
	}
	exp, _, _ := numericDate(c, "exp")
	iat, _, _ := numericDate(c, "iat")
	id.Expiry, id.IssuedAt, id.Claims = exp, iat, c
	return nil
}

// stringList reads a claim that is a space-separated string or an array
// of strings.
func stringList(c map[string]any, name string, bad error) ([]string, error) {
	switch x := c[name].(type) {
	case nil:
		return nil, nil
	case string:
		return strings.Fields(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%w: %s holds a %T", bad, name, e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %s is neither a string nor an array", bad, name)
}
