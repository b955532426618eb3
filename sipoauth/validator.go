package sipoauth

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	josecipher "github.com/go-jose/go-jose/v4/cipher"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/internal/ucmtoken"
)

// DefaultAlgorithms returns the signing algorithms accepted unless Config
// says otherwise. "none" is never accepted; HMAC only with Config.HMAC.
func DefaultAlgorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}
}

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
	// MaxLifetime, if positive, refuses tokens meant to live longer
	// (ErrLifetime): exp - iat, or exp - now (less the leeway) when the
	// token has no iat. No limit when 0.
	MaxLifetime time.Duration
	// Revocation, if set, is asked on every validation, cache hits
	// included. Its errors fail the validation with ErrUnavailable.
	Revocation Revocation
	// Binding, if set, ties tokens to requests in ValidateRequest.
	Binding *Binding
	// CacheSize bounds the cache of successful validations;
	// DefaultCacheSize when 0, no cache when negative. A cached token is
	// served only within every exp, nbf and iat it carries (outer and
	// inner) and while the keys that verified and decrypted it are still
	// the keys (see Generational).
	CacheSize int
	// DiscardRawClaims leaves Identity.RawClaims empty, for callers that
	// read only the Identity's named fields, as the registrar does: the
	// cache then holds a third less per token (the claims' JSON, some
	// 300 bytes of a Unified CM token), which a registrar caching every
	// device's token feels.
	DiscardRawClaims bool
	// FailureTTL is how long a refused token is remembered (so a flood of
	// the same bad token costs one signature check); DefaultFailureTTL
	// when 0, not at all when negative. A change of keys ends it sooner,
	// for Generational key sources. Failures to check a token
	// (ErrUnavailable) are never remembered.
	FailureTTL time.Duration
}

// Identity is what a valid token says. It is shared with the cache:
// treat its Scopes, Audience and RawClaims as read-only (the validator
// also gives identities whose tokens carry the same aud or scope the same
// list).
type Identity struct {
	User     string
	Device   string // the device the token names, if any
	Scopes   []string
	Issuer   string
	Audience []string
	TokenID  string // jti
	// ClientID is the OAuth client the token was issued to (RFC 9068's
	// client_id), if it says.
	ClientID string
	IssuedAt time.Time
	// Expiry is the token's exp; for a nested token, the sooner of the
	// outer and the inner exp.
	Expiry time.Time
	// Nested is true for Unified CM's shape, whose claims were decrypted.
	Nested bool
	// RawClaims is the JSON object of all the claims (the inner ones of a
	// nested token), for callers with their own claim names; empty with
	// Config.DiscardRawClaims.
	RawClaims json.RawMessage
}

// Claims decodes RawClaims into a map.
func (id *Identity) Claims() (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal(id.RawClaims, &m)
	return m, err
}

// HasScope reports whether the identity's scopes include s.
func (id *Identity) HasScope(s string) bool { return slices.Contains(id.Scopes, s) }

// Validator validates bearer tokens. It is safe for concurrent use.
type Validator struct {
	cfg     Config
	algs    map[string]bool
	leeway  time.Duration
	names   ClaimNames
	cache   *cache
	gen     Generational  // cfg.Keys, if it is
	rsaKeys *rsaVerifiers // the precomputed RSA keys
	lists   sharedLists   // aud and scope lists, kept once
}

// New returns a Validator for cfg.
func New(cfg Config) (*Validator, error) {
	if cfg.Keys == nil && cfg.HMAC == nil {
		return nil, errors.New("sipoauth: Config.Keys is required")
	}
	v := &Validator{cfg: cfg, algs: map[string]bool{}, names: cfg.Claims.withDefaults(), rsaKeys: newRSAVerifiers(maxRSAVerifiers)}
	v.gen, _ = cfg.Keys.(Generational)
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms()
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
	v.cfg.MaxTokenSize = defaults.Positive(v.cfg.MaxTokenSize, DefaultMaxTokenSize)
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
	// be that user. An error refuses the token (ErrBindingMismatch), unless
	// it wraps ErrUnavailable or the context is done: then the owner could
	// not be looked up, and the validation fails with ErrUnavailable.
	DeviceOwner func(ctx context.Context, device string) (string, error)
	// MatchFromUser requires the From user to be the token's user.
	MatchFromUser bool
}

// TokenValidator checks a bearer token for the request it came with and
// says whose it is: the extension point of the SIP side (package sipauth's
// Bearer step, the registrar, the edge proxy). *Validator implements it;
// a product with its own token service implements it in a few lines. An
// error wraps one of the Err* values, so that ErrorCode and errors.Is
// can tell a refused token from a check that could not be made
// (ErrUnavailable).
type TokenValidator interface {
	ValidateRequest(ctx context.Context, token string, req Request) (Identity, error)
}

var _ TokenValidator = (*Validator)(nil)

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
		if e := v.cache.get(token, now); e != nil {
			current, cerr := v.current(ctx, e)
			if cerr != nil {
				return Identity{}, cerr
			}
			if current {
				id, err, hit = e.id, e.err, true
			}
		}
	}
	if !hit {
		e := &cacheEntry{}
		id, err = v.verify(ctx, token, now, e)
		if v.cache != nil {
			switch {
			case err == nil && e.until > now.UnixNano():
				e.id = id
				v.cache.put(token, e)
			case err != nil && v.cfg.FailureTTL > 0 && ctx.Err() == nil && ErrorCode(err) != "":
				e.err, e.from, e.until = err, now.UnixNano(), now.Add(v.cfg.FailureTTL).UnixNano()
				v.cache.put(token, e)
			}
		}
	}
	if err != nil {
		return Identity{}, err
	}
	return admit(ctx, v.cfg.Revocation, v.cfg.Binding, id, req)
}

// admit is what every validation does last, its outcome cached or not:
// the revocation list (when set) is asked, and req (when set) must be the
// request the token is bound to.
func admit(ctx context.Context, r Revocation, b *Binding, id *Identity, req *Request) (Identity, error) {
	if r != nil {
		revoked, err := r.Revoked(ctx, id.TokenID, id.User, id.IssuedAt)
		if err != nil {
			return Identity{}, unavailable("revocation", err)
		}
		if revoked {
			return Identity{}, ErrRevoked
		}
	}
	if req != nil {
		if err := bindRequest(ctx, b, id, req); err != nil {
			return Identity{}, err
		}
	}
	return *id, nil
}

// keyStamp records the keys a validation used, so that a cache hit can
// tell whether they are still the keys.
type keyStamp struct {
	// The generations of Config.Keys (if Generational), DecryptionKeys
	// and HMAC, read before any key was looked up.
	keys, dec, hmac uint64
	// For a Config.Keys that is not Generational: the key id and
	// algorithm of the token, and the public key that verified it (nil for
	// an HMAC secret, whose key id Config.Keys must not know).
	kid, alg string
	key      crypto.PublicKey
}

// stamp starts the keyStamp of a validation.
func (v *Validator) stamp() keyStamp {
	var s keyStamp
	if v.gen != nil {
		s.keys = v.gen.Generation()
	}
	s.dec, s.hmac = v.cfg.DecryptionKeys.Generation(), v.cfg.HMAC.Generation()
	return s
}

// current reports whether the keys that a cached outcome was checked with
// are still the keys. With a Config.Keys that cannot tell, it looks the key
// up again, which can fail with ErrUnavailable. A remembered failure of
// such a source lasts its FailureTTL.
func (v *Validator) current(ctx context.Context, e *cacheEntry) (bool, error) {
	s := &e.keys
	switch {
	case s.dec != v.cfg.DecryptionKeys.Generation() || s.hmac != v.cfg.HMAC.Generation():
		return false, nil
	case v.cfg.Keys == nil:
		return true, nil
	case v.gen != nil:
		return s.keys == v.gen.Generation(), nil
	case e.err != nil:
		return true, nil
	}
	key, err := v.cfg.Keys.VerificationKey(ctx, s.kid, s.alg)
	if err != nil {
		if err := keyError(ctx, err); errors.Is(err, ErrUnavailable) {
			return false, err
		}
		// No key now: an HMAC secret's id is still free of public keys, a
		// public key is gone.
		return s.key == nil, nil
	}
	if s.key == nil {
		return false, nil
	}
	same, ok := key.(interface{ Equal(crypto.PublicKey) bool })
	return ok && same.Equal(s.key), nil
}

// bindRequest ties id to req: a token that names a device must name req's,
// and b's checks (if b is set) must pass.
func bindRequest(ctx context.Context, b *Binding, id *Identity, req *Request) error {
	if id.Device != "" && req.Device != "" && id.Device != req.Device {
		return fmt.Errorf("%w: token is for device %q, request names %q", ErrBindingMismatch, id.Device, req.Device)
	}
	if b == nil {
		return nil
	}
	if b.DeviceOwner != nil {
		owner, err := b.DeviceOwner(ctx, req.Device)
		switch {
		case err != nil && (errors.Is(err, ErrUnavailable) || ctx.Err() != nil):
			return unavailable("device owner", err)
		case err != nil:
			return fmt.Errorf("%w: device %q: %v", ErrBindingMismatch, req.Device, err)
		}
		if !SameUser(owner, id.User) {
			return fmt.Errorf("%w: device %q belongs to %q, not %q", ErrBindingMismatch, req.Device, owner, id.User)
		}
	}
	if b.MatchFromUser && !SameUser(req.FromUser, id.User) {
		return fmt.Errorf("%w: From user %q is not %q", ErrBindingMismatch, req.FromUser, id.User)
	}
	return nil
}

// verify does the work a cache hit skips: signature, decryption, claims.
// It records in e the keys it used and when the outcome holds.
func (v *Validator) verify(ctx context.Context, token string, now time.Time, e *cacheEntry) (*Identity, error) {
	// The generations are read before any key is: a change after this
	// point makes the entry stale, never the other way round.
	e.keys = v.stamp()
	h, claims, input, sig, err := splitJWS(token)
	if err != nil {
		return nil, err
	}
	method, key, err := v.keyFor(ctx, h, claims, &e.keys)
	if err != nil {
		return nil, err
	}
	if err := v.checkSignature(method, input, sig, key); err != nil {
		return nil, ErrBadSignature
	}
	return v.identity(claims, now, e)
}

// checkSignature verifies sig over input. RS256, RS384 and RS512 are
// verified with the key's precomputed modulus (see rsaVerifiers); other
// algorithms, and keys left to crypto/rsa, by method.
func (v *Validator) checkSignature(method jwt.SigningMethod, input string, sig []byte, key any) error {
	if m, ok := method.(*jwt.SigningMethodRSA); ok && v.rsaKeys != nil && digestInfo(m.Hash) != nil {
		if pub, ok := key.(*rsa.PublicKey); ok {
			if k := v.rsaKeys.get(pub); k != nil {
				return k.verifyString(m.Hash, input, sig)
			}
		}
	}
	return method.Verify(input, sig, key)
}

// identity checks the claims of a verified token, decrypting the private
// claims of Unified CM's shape first, and returns whose it is. It records
// in e when the outcome holds: from the latest nbf or iat, less the
// leeway, until the earliest exp, of the outer and the inner claims.
func (v *Validator) identity(c *claimSet, now time.Time, e *cacheEntry) (*Identity, error) {
	id := &Identity{}
	e.from, e.until = math.MinInt64, math.MaxInt64
	if c.IDToken {
		return nil, fmt.Errorf("%w: it carries an ID token's nonce, at_hash or c_hash", ErrNotAccessToken)
	}
	outerExp, hasOuterExp := time.Time{}, false
	if c.HasPrivate {
		// The outer token's own time claims, if any, must hold too.
		outerExp, hasOuterExp, _ = date(c.Exp, "exp")
		if err := v.checkTimes(c, now, false, e); err != nil {
			return nil, err
		}
		var err error
		if c, err = v.decrypt(c.Private); err != nil {
			return nil, err
		}
		if c.IDToken {
			return nil, fmt.Errorf("%w: its private claims carry an ID token's nonce, at_hash or c_hash", ErrNotAccessToken)
		}
		if c.refresh() {
			return nil, ErrRefreshToken
		}
		id.Nested = true
	}
	if err := v.checkTimes(c, now, true, e); err != nil {
		return nil, err
	}
	if err := v.fill(id, c); err != nil {
		return nil, err
	}
	id.Expiry, _, _ = date(c.Exp, "exp")
	if hasOuterExp && outerExp.Before(id.Expiry) {
		id.Expiry = outerExp
	}
	return id, nil
}

// splitJWS decodes a compact JWS: header, claims, signing input, signature.
func splitJWS(token string) (h header, claims *claimSet, input string, sig []byte, err error) {
	i := strings.IndexByte(token, '.')
	j := strings.LastIndexByte(token, '.')
	if i < 0 || i == j || strings.IndexByte(token[i+1:j], '.') >= 0 {
		return h, nil, "", nil, fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	hb, err := decodeSegment(token[:i])
	if err != nil {
		return h, nil, "", nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h, err = decodeHeader(hb); err != nil {
		return h, nil, "", nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	cb, err := decodeSegment(token[i+1 : j])
	if err != nil {
		return h, nil, "", nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if claims, err = decodeClaims(cb); err != nil {
		return h, nil, "", nil, err
	}
	if sig, err = decodeSegment(token[j+1:]); err != nil {
		return h, nil, "", nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	return h, claims, token[:j], sig, nil
}

// keyFor checks the header before any signature work and finds the
// signing method and key.
func (v *Validator) keyFor(ctx context.Context, h header, claims *claimSet, st *keyStamp) (jwt.SigningMethod, any, error) {
	// RFC 8725 §3.10: never let a token choose its own key, or tell us of
	// extensions we do not understand.
	if h.Refused != "" {
		return nil, nil, fmt.Errorf("%w: header %q not accepted", ErrMalformed, h.Refused)
	}
	if claims.refresh() || (h.HasTyp && ucmtoken.IsRefreshMarker(h.Typ)) {
		return nil, nil, ErrRefreshToken
	}
	if h.HasTyp {
		// JWT is what Unified CM's outer JWS says; RFC 9068 says at+jwt.
		// Anything else, an ID token's "id+jwt" say, is another kind of token.
		switch strings.ToLower(h.Typ) {
		case "jwt", "at+jwt", "application/at+jwt":
		default:
			return nil, nil, fmt.Errorf("%w: typ %q", ErrNotAccessToken, h.Typ)
		}
	}
	method := jwt.GetSigningMethod(h.Alg)
	if method == nil || !v.algs[h.Alg] {
		return nil, nil, fmt.Errorf("%w: %q", ErrAlgorithm, h.Alg)
	}
	kid := ""
	if h.Kid != nil {
		if json.Unmarshal(h.Kid, &kid) != nil || !validKID(kid) {
			return nil, nil, fmt.Errorf("%w: kid %s not accepted", ErrUnknownKey, h.Kid)
		}
	}
	st.kid, st.alg = kid, h.Alg
	if strings.HasPrefix(h.Alg, "HS") {
		// An HMAC secret is used only under a key id that names no public
		// key: a public key can never become an HMAC secret.
		if v.cfg.Keys != nil {
			_, err := v.cfg.Keys.VerificationKey(ctx, kid, h.Alg)
			if err == nil {
				return nil, nil, fmt.Errorf("%w: %s with the public key %q", ErrAlgorithm, h.Alg, kid)
			}
			// Fail closed when it cannot be told.
			if err := keyError(ctx, err); errors.Is(err, ErrUnavailable) {
				return nil, nil, err
			}
		}
		if key, ok := v.cfg.HMAC.key(kid); ok {
			return method, key, nil
		}
		return nil, nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	if v.cfg.Keys == nil {
		return nil, nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	key, err := v.cfg.Keys.VerificationKey(ctx, kid, h.Alg)
	if err != nil {
		return nil, nil, keyError(ctx, err)
	}
	if !keyFits(key, h.Alg) {
		return nil, nil, fmt.Errorf("%w: %s with a %T key", ErrAlgorithm, h.Alg, key)
	}
	// The key id of a key that exists is kept once, not by each cached token.
	st.kid, st.key = v.lists.get("kid", []string{kid})[0], key
	return method, key, nil
}

// keyError sorts out why a KeySource returned no key: a reason to refuse
// the token (ErrUnknownKey, ErrAlgorithm), or a failure to look it up (a
// key server out of reach, the context done), which is ErrUnavailable.
func keyError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %v", cerr, err)
		}
		return unavailable("signing keys", err)
	}
	if ErrorCode(err) == "" {
		return unavailable("signing keys", err)
	}
	return err
}

// unavailable wraps err, the failure of something a validation depends on,
// in ErrUnavailable. The cause stays in the chain unless it names a reason
// to refuse a token, so that the error still wraps one reason only.
func unavailable(what string, err error) error {
	switch {
	case errors.Is(err, ErrUnavailable):
		return err
	case ErrorCode(err) != "":
		return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
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

// decrypt opens the compact JWE of a Unified CM token (alg dir, enc
// A128CBC-HS256, RFC 7516 and RFC 7518 §5.2) and returns its claims. The
// serialization is read here, in one pass; the authenticated decryption is
// go-jose's CBC-HMAC AEAD. (go-jose's own parser decodes the header with
// a reflective JSON decoder that cost a third of the time of a whole
// nested validation.)
func (v *Validator) decrypt(s string) (*claimSet, error) {
	var parts [5]string
	rest := s
	for i := range 4 {
		j := strings.IndexByte(rest, '.')
		if j < 0 {
			return nil, fmt.Errorf("%w: not a compact JWE", ErrDecrypt)
		}
		parts[i], rest = rest[:j], rest[j+1:]
	}
	parts[4] = rest
	if strings.IndexByte(rest, '.') >= 0 {
		return nil, fmt.Errorf("%w: not a compact JWE", ErrDecrypt)
	}
	hb, err := decodeSegment(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrDecrypt, err)
	}
	h, err := decodeJWEHeader(hb)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrDecrypt, err)
	}
	switch {
	case h.Alg != ucmtoken.KeyAlg || h.Enc != ucmtoken.ContentEnc:
		return nil, fmt.Errorf("%w: alg %q enc %q, want %s and %s", ErrDecrypt, h.Alg, h.Enc, ucmtoken.KeyAlg, ucmtoken.ContentEnc)
	case h.ZipOrCrit:
		return nil, fmt.Errorf("%w: zip and crit are not accepted", ErrDecrypt)
	case parts[1] != "":
		return nil, fmt.Errorf("%w: dir takes no encrypted key", ErrDecrypt)
	}
	key, ok := v.cfg.DecryptionKeys.key(h.Kid)
	if !ok || len(key) != 32 {
		return nil, fmt.Errorf("%w: no 32-byte key %q", ErrDecrypt, h.Kid)
	}
	iv, err1 := decodeSegment(parts[2])
	ct, err2 := decodeSegment(parts[3])
	tag, err3 := decodeSegment(parts[4])
	if err1 != nil || err2 != nil || err3 != nil || len(iv) != aes.BlockSize || len(tag) != 16 {
		return nil, fmt.Errorf("%w: bad iv, ciphertext or tag", ErrDecrypt)
	}
	aead, err := josecipher.NewCBCHMAC(key, aes.NewCipher)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	// The additional data is the encoded protected header (RFC 7516 §5.2 step 14).
	plain, err := aead.Open(nil, iv, append(ct, tag...), []byte(parts[0]))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	claims, err := decodeClaims(plain)
	if err != nil {
		return nil, err
	}
	if claims.HasPrivate {
		return nil, fmt.Errorf("%w: private claims nested twice", ErrMalformed)
	}
	return claims, nil
}

// checkTimes checks exp, nbf and iat, and the lifetime; exp must be there
// when required. It narrows e's window to the times the claims allow.
func (v *Validator) checkTimes(c *claimSet, now time.Time, required bool, e *cacheEntry) error {
	exp, hasExp, err := date(c.Exp, "exp")
	if err != nil {
		return err
	}
	nbf, hasNbf, err := date(c.Nbf, "nbf")
	if err != nil {
		return err
	}
	iat, hasIat, err := date(c.Iat, "iat")
	if err != nil {
		return err
	}
	switch {
	case !hasExp && required:
		return fmt.Errorf("%w: exp", ErrMissingClaim)
	case hasExp && now.After(exp.Add(v.leeway)):
		return fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	case hasNbf && nbf.After(now.Add(v.leeway)):
		return fmt.Errorf("%w: nbf %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339))
	case hasIat && iat.After(now.Add(v.leeway)):
		return fmt.Errorf("%w: issued in the future, %s", ErrNotYetValid, iat.UTC().Format(time.RFC3339))
	}
	if limit := v.cfg.MaxLifetime; limit > 0 && hasExp {
		// Without iat, the token lives at least until exp from now; the
		// leeway allows for the issuer's clock being ahead of ours.
		life, since := exp.Sub(now)-v.leeway, "now"
		if hasIat {
			life, since = exp.Sub(iat), "iat"
		}
		if life > limit {
			return fmt.Errorf("%w: exp is %v after %s, limit %v", ErrLifetime, life.Round(time.Second), since, limit)
		}
	}
	if hasExp {
		e.until = min(e.until, unixNano(exp))
	}
	if hasNbf {
		e.from = max(e.from, unixNano(nbf.Add(-v.leeway)))
	}
	if hasIat {
		e.from = max(e.from, unixNano(iat.Add(-v.leeway)))
	}
	return nil
}

// unixNano is t.UnixNano for the times a NumericDate can hold, past those
// that int64 nanoseconds can (the year 2262) too.
func unixNano(t time.Time) int64 {
	if t.Unix() >= math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fill checks the claims that policy asks for and fills id.
func (v *Validator) fill(id *Identity, c *claimSet) error {
	for _, name := range v.cfg.RequiredClaims {
		if ok, err := c.has(name); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: %s", ErrMissingClaim, name)
		}
	}
	id.Issuer = sharedString(c.Iss, v.cfg.Issuers)
	if len(v.cfg.Issuers) > 0 && !slices.Contains(v.cfg.Issuers, id.Issuer) {
		return fmt.Errorf("%w: %q", ErrIssuer, id.Issuer)
	}
	var err error
	if id.Audience, err = c.list("aud"); err != nil {
		return err
	}
	if len(v.cfg.Audiences) > 0 && !slices.ContainsFunc(id.Audience, func(a string) bool { return slices.Contains(v.cfg.Audiences, a) }) {
		return fmt.Errorf("%w: %q", ErrAudience, id.Audience)
	}
	id.Audience = v.lists.get("aud", id.Audience)
	if id.User, err = c.str(v.names.User); err != nil {
		return err
	}
	if id.Device, err = c.str(v.names.Device); err != nil {
		return err
	}
	id.TokenID = c.Jti
	id.ClientID = c.ClientID
	if id.Scopes, err = c.list(v.names.Scope); err != nil {
		return err
	}
	if id.Scopes == nil && v.names.Scope == "scope" {
		if id.Scopes, err = c.list("scp"); err != nil {
			return err
		}
	}
	for _, s := range v.cfg.RequiredScopes {
		if !slices.Contains(id.Scopes, s) {
			return fmt.Errorf("%w: %q required", ErrInsufficientScope, s)
		}
	}
	id.Scopes = v.lists.get("scope", id.Scopes)
	id.IssuedAt, _, _ = date(c.Iat, "iat")
	if !v.cfg.DiscardRawClaims {
		id.RawClaims = c.raw
	}
	return nil
}
