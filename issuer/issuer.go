package issuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/sipoauth/sdk/internal/ucmtoken"
	"github.com/sipoauth/sdk/keyfile"
)

// Defaults of Config.
const (
	defaultName       = "https://issuer.example.test"
	defaultAccessTTL  = 60 * time.Minute
	defaultRefreshTTL = 60 * 24 * time.Hour // as Unified CM
)

// minRSABits is the smallest RSA signing key the Issuer accepts
// (RFC 7518 §3.3), so that its tokens pass any validator.
const minRSABits = 2048

// The JWE algorithms of nested tokens, in go-jose's types.
const (
	keyAlg     = jose.KeyAlgorithm(ucmtoken.KeyAlg)
	contentEnc = jose.ContentEncryption(ucmtoken.ContentEnc)
)

// maxBody bounds the request bodies of the token and revocation
// endpoints: their forms are a few hundred bytes.
const maxBody = 64 << 10

// Config configures an Issuer. The zero value is usable: an RS256
// issuer with a fresh key, no users and no clients.
type Config struct {
	// Issuer is the iss claim; "https://issuer.example.test" when empty.
	Issuer string
	// Audience is the aud claim of access tokens (a string when it has one
	// member, an array otherwise); access tokens have no aud when empty.
	Audience []string
	// AccessTTL is the lifetime of access tokens; 60 minutes when 0.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens; 60 days when 0.
	RefreshTTL time.Duration
	// Algorithm is the JWS algorithm: RS256, RS384, RS512, PS256, ES256,
	// ES384 or EdDSA. A generated key matches it (RSA 2048, P-256, P-384,
	// Ed25519). When empty it is RS256, or follows the type of
	// SigningKeyPEM's key (RS256, ES256, ES384 or EdDSA).
	Algorithm string
	// SigningKeyPEM is an optional PKCS#8, PKCS#1 or SEC1 private key that
	// must suit Algorithm (RSA keys of at least 2048 bits). A key is
	// generated in memory when it is nil.
	SigningKeyPEM []byte
	// KeyID is the kid of the first signing key; Unified CM's form
	// "<UUID>:<SHA-256 of the public key, hex>" when empty.
	KeyID string
	// EncryptionKey is the 32-byte A128CBC-HS256 key that encrypts the
	// private claims of nested tokens; random when nil.
	EncryptionKey []byte
	// EncryptionKeyID is the kid of EncryptionKey; a random UUID when empty.
	EncryptionKeyID string
	// Nested makes Mint and the token endpoint issue Unified CM's nested
	// shape (a JWS whose only claim is a JWE of the claims) by default.
	Nested bool
	// Users maps user names to passwords, for the password grant.
	Users map[string]string
	// Clients maps client ids to secrets. They authenticate the
	// client_credentials grant, refresh requests and revocations.
	Clients map[string]string
	// Revocation records the revocations made through the revocation
	// endpoint and is consulted on refresh. Share it with validators (a
	// *sipoauth.MemoryRevocation is one) so that a revocation takes effect
	// on access tokens too. An in-memory store of the issuer's own when nil.
	Revocation Revocations
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Revocations is where an Issuer records revocations and asks about them
// on refresh. *sipoauth.MemoryRevocation implements it.
type Revocations interface {
	// RevokeToken revokes the token with this id; expiry, if not zero, is
	// when the token expires anyway.
	RevokeToken(tokenID string, expiry time.Time)
	// RevokeUser revokes every token of user issued before t.
	RevokeUser(user string, t time.Time)
	// Revoked reports whether the token with this id, of this user, issued
	// at iat, is revoked.
	Revoked(ctx context.Context, tokenID, user string, iat time.Time) (bool, error)
}

// TokenRequest says what access token Mint makes.
type TokenRequest struct {
	// User is the sub claim; required.
	User string
	// Device is the device claim, binding the token to a device; omitted
	// when empty.
	Device string
	// ClientID is the client_id claim; omitted when empty.
	ClientID string
	// Scopes make the scope claim, space-separated; omitted when empty.
	Scopes []string
	// TTL is the token's lifetime; the issuer's AccessTTL when 0. A
	// negative TTL makes a token that has already expired, for tests.
	TTL time.Duration
	// Nested chooses the Unified CM nested shape; the issuer's default
	// when nil.
	Nested *bool
	// Extra claims are set after the standard ones and so may replace
	// them; a nil value removes a claim. Tests use it to make tokens that
	// a validator must refuse (wrong iss, no exp, ...).
	Extra map[string]any
}

// Issuer is a small OAuth 2.0 authorization server for tests, examples and
// labs. It mints access tokens in the plain RFC 9068 shape or in Unified
// CM's nested shape, and refresh tokens in Unified CM's shape; its Handler
// serves a JWKS, a token endpoint (password, client_credentials and
// refresh_token grants) and a revocation endpoint. It grants whatever
// scope is asked for: it has no scope policy. It is safe for concurrent
// use.
type Issuer struct {
	iss        string
	audience   []string
	accessTTL  time.Duration
	refreshTTL time.Duration
	alg        string
	nested     bool
	users      map[string]string
	clients    map[string]string
	rev        Revocations
	now        func() time.Time
	encKey     []byte
	encKID     string

	mu      sync.RWMutex
	current *signingKey   // signs plain access tokens and refresh tokens
	nestKey *signingKey   // signs the outer JWS of nested tokens; current when alg is RS256
	keys    []*signingKey // published in the JWKS, newest first
}

// signingKey is a signing key with what is derived from it once.
type signingKey struct {
	kid    string
	alg    string
	method jwt.SigningMethod
	priv   crypto.Signer
	pubPEM []byte
	jwk    publicJWK
}

// publicJWK is the public JSON Web Key (RFC 7517, 7518 §6, RFC 8037) of a
// signing key. It has no field for private members, so none can leak.
type publicJWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Crv string `json:"crv,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

var methods = map[string]jwt.SigningMethod{
	"RS256": jwt.SigningMethodRS256,
	"RS384": jwt.SigningMethodRS384,
	"RS512": jwt.SigningMethodRS512,
	"PS256": jwt.SigningMethodPS256,
	"ES256": jwt.SigningMethodES256,
	"ES384": jwt.SigningMethodES384,
	"EdDSA": jwt.SigningMethodEdDSA,
}

// New returns an Issuer configured by cfg. It fails on an unknown
// algorithm, a signing key that does not suit it, or an encryption key
// that is not 32 bytes.
func New(cfg Config) (*Issuer, error) {
	i := &Issuer{
		iss:        cfg.Issuer,
		audience:   append([]string(nil), cfg.Audience...),
		accessTTL:  cfg.AccessTTL,
		refreshTTL: cfg.RefreshTTL,
		alg:        cfg.Algorithm,
		nested:     cfg.Nested,
		users:      make(map[string]string, len(cfg.Users)),
		clients:    make(map[string]string, len(cfg.Clients)),
		rev:        cfg.Revocation,
		now:        cfg.Now,
		encKID:     cfg.EncryptionKeyID,
	}
	// Copies, so that a caller changing its maps later cannot race with
	// the handler.
	for u, p := range cfg.Users {
		i.users[u] = p
	}
	for c, s := range cfg.Clients {
		i.clients[c] = s
	}
	if i.iss == "" {
		i.iss = defaultName
	}
	if i.accessTTL < 0 || i.refreshTTL < 0 {
		return nil, errors.New("issuer: negative token lifetime")
	}
	if i.accessTTL == 0 {
		i.accessTTL = defaultAccessTTL
	}
	if i.refreshTTL == 0 {
		i.refreshTTL = defaultRefreshTTL
	}
	if i.rev == nil {
		i.rev = new(memoryRevocations)
	}
	if i.now == nil {
		i.now = time.Now
	}

	switch {
	case cfg.EncryptionKey == nil:
		i.encKey = randomBytes(32)
	case len(cfg.EncryptionKey) != 32:
		return nil, fmt.Errorf("issuer: encryption key of %d bytes, want 32 for A128CBC-HS256", len(cfg.EncryptionKey))
	default:
		i.encKey = append([]byte(nil), cfg.EncryptionKey...)
	}
	if i.encKID == "" {
		i.encKID = newUUID()
	}

	var priv crypto.Signer
	if cfg.SigningKeyPEM != nil {
		var err error
		if priv, err = parsePEM(cfg.SigningKeyPEM); err != nil {
			return nil, err
		}
		if i.alg == "" {
			i.alg = algFor(priv)
		}
	}
	if i.alg == "" {
		i.alg = "RS256"
	}
	if _, ok := methods[i.alg]; !ok {
		return nil, fmt.Errorf("issuer: unsupported signing algorithm %q", i.alg)
	}
	cur, err := newKey(i.alg, priv, cfg.KeyID, minRSABits)
	if err != nil {
		return nil, err
	}
	i.current, i.nestKey, i.keys = cur, cur, []*signingKey{cur}
	if i.alg != ucmtoken.OuterAlg {
		// The nested shape is always RS256, as Unified CM signs it, and a
		// published key serves one algorithm only, so it gets its own key.
		if i.nestKey, err = newKey(ucmtoken.OuterAlg, nil, "", minRSABits); err != nil {
			return nil, err
		}
		i.keys = append(i.keys, i.nestKey)
	}
	return i, nil
}

// newKey makes the signing key for alg from priv, or generates one
// (RSA keys of rsaBits) when priv is nil, and derives its kid and JWK.
func newKey(alg string, priv crypto.Signer, kid string, rsaBits int) (*signingKey, error) {
	if priv == nil {
		var err error
		switch alg {
		case "RS256", "RS384", "RS512", "PS256":
			priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
		case "ES256":
			priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		case "ES384":
			priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		case "EdDSA":
			_, priv, err = ed25519.GenerateKey(rand.Reader)
		}
		if err != nil {
			return nil, fmt.Errorf("issuer: generating a %s key: %w", alg, err)
		}
	}
	jwk := publicJWK{Use: "sig", Alg: alg}
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		if !strings.HasPrefix(alg, "RS") && alg != "PS256" {
			return nil, fmt.Errorf("issuer: an RSA key cannot sign %s", alg)
		}
		if bits := k.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("issuer: RSA key of %d bits, under %d", bits, minRSABits)
		}
		jwk.Kty = "RSA"
		jwk.N = base64.RawURLEncoding.EncodeToString(k.N.Bytes())
		jwk.E = base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PrivateKey:
		crv := map[elliptic.Curve]string{elliptic.P256(): "P-256", elliptic.P384(): "P-384"}[k.Curve]
		if want := map[string]string{"ES256": "P-256", "ES384": "P-384"}[alg]; crv == "" || crv != want {
			return nil, fmt.Errorf("issuer: this elliptic curve key cannot sign %s", alg)
		}
		raw, err := k.PublicKey.Bytes() // 0x04 || X || Y, each padded to the curve size
		if err != nil {
			return nil, fmt.Errorf("issuer: elliptic curve key: %w", err)
		}
		n := (len(raw) - 1) / 2
		jwk.Kty, jwk.Crv = "EC", crv
		jwk.X = base64.RawURLEncoding.EncodeToString(raw[1 : 1+n])
		jwk.Y = base64.RawURLEncoding.EncodeToString(raw[1+n:])
	case ed25519.PrivateKey:
		if alg != "EdDSA" {
			return nil, fmt.Errorf("issuer: an Ed25519 key cannot sign %s", alg)
		}
		jwk.Kty, jwk.Crv = "OKP", "Ed25519"
		jwk.X = base64.RawURLEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
	default:
		return nil, fmt.Errorf("issuer: unsupported signing key type %T", priv)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("issuer: encoding the public key: %w", err)
	}
	if kid == "" {
		// Unified CM's form, which keyfile's key-id rule matches to the
		// key's PEM by the fingerprint after the colon.
		fp, err := keyfile.Fingerprint(priv.Public())
		if err != nil {
			return nil, fmt.Errorf("issuer: %w", err)
		}
		kid = newUUID() + ":" + fp
	}
	jwk.Kid = kid
	return &signingKey{
		kid:    kid,
		alg:    alg,
		method: methods[alg],
		priv:   priv,
		pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		jwk:    jwk,
	}, nil
}

// parsePEM reads the first private key of a PEM bundle, skipping
// other blocks such as the "EC PARAMETERS" that openssl writes first.
func parsePEM(data []byte) (crypto.Signer, error) {
	k, err := keyfile.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	return k, nil
}

// algFor is the algorithm a key signs with when none is configured.
func algFor(k crypto.Signer) string {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P384() {
			return "ES384"
		}
		return "ES256"
	case ed25519.PrivateKey:
		return "EdDSA"
	}
	return "RS256"
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails: crypto/rand crashes the program rather than return an error
	return b
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sign makes a compact JWS of claims with header alg, kid and typ.
func (k *signingKey) sign(typ string, claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(k.method, claims)
	t.Header["kid"] = k.kid
	t.Header["typ"] = typ
	s, err := t.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("issuer: signing: %w", err)
	}
	return s, nil
}

// Mint returns a signed access token for r: a plain RFC 9068 JWT (typ
// at+jwt), or the Unified CM nested shape, whose outer JWS (RS256, typ
// JWT) has only a "private" claim holding a JWE (dir, A128CBC-HS256) of the
// same claims.
func (i *Issuer) Mint(r TokenRequest) (string, error) {
	if r.User == "" {
		return "", errors.New("issuer: token request without a user")
	}
	now := i.now()
	ttl := r.TTL
	if ttl == 0 {
		ttl = i.accessTTL
	}
	claims := jwt.MapClaims{
		"iss": i.iss,
		"sub": r.User,
		"exp": now.Add(ttl).Unix(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"jti": hex.EncodeToString(randomBytes(16)),
	}
	switch len(i.audience) {
	case 0:
	case 1:
		claims["aud"] = i.audience[0]
	default:
		claims["aud"] = i.audience
	}
	if len(r.Scopes) > 0 {
		claims["scope"] = strings.Join(r.Scopes, " ")
	}
	if r.Device != "" {
		claims["device"] = r.Device
	}
	if r.ClientID != "" {
		claims["client_id"] = r.ClientID
	}
	for k, v := range r.Extra {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}

	nested := i.nested
	if r.Nested != nil {
		nested = *r.Nested
	}
	i.mu.RLock()
	cur, nestKey := i.current, i.nestKey
	i.mu.RUnlock()
	if !nested {
		return cur.sign("at+jwt", claims)
	}

	plain, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("issuer: encoding claims: %w", err)
	}
	enc, err := jose.NewEncrypter(contentEnc, jose.Recipient{Algorithm: keyAlg, Key: i.encKey, KeyID: i.encKID}, nil)
	if err != nil {
		return "", fmt.Errorf("issuer: encrypter: %w", err)
	}
	obj, err := enc.Encrypt(plain)
	if err != nil {
		return "", fmt.Errorf("issuer: encrypting claims: %w", err)
	}
	private, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("issuer: serializing JWE: %w", err)
	}
	return nestKey.sign(ucmtoken.OuterType, jwt.MapClaims{ucmtoken.ClaimPrivate: private})
}

// MintRefresh returns a refresh token in Unified CM's shape for user, issued
// to clientID: a JWS with claims iss, sub, typ "user", tid, ctyp "refresh",
// ccid, iat and exp (RefreshTTL later).
func (i *Issuer) MintRefresh(user, clientID string) (string, error) {
	if user == "" {
		return "", errors.New("issuer: refresh token request without a user")
	}
	now := i.now()
	i.mu.RLock()
	cur := i.current
	i.mu.RUnlock()
	return cur.sign(ucmtoken.OuterType, jwt.MapClaims{
		"iss":               i.iss,
		"sub":               user,
		"typ":               "user",
		"tid":               newUUID(),
		ucmtoken.ClaimCType: ucmtoken.RefreshCType,
		"ccid":              clientID,
		"iat":               now.Unix(),
		"exp":               now.Add(i.refreshTTL).Unix(),
	})
}

// KeyID returns the kid of the current signing key. Nested tokens of an
// issuer whose algorithm is not RS256 are signed by a second, RSA key,
// whose kid is in their header and in the JWKS.
func (i *Issuer) KeyID() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current.kid
}

// PublicKey returns the public key of the current signing key: an
// *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey.
func (i *Issuer) PublicKey() crypto.PublicKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current.priv.Public()
}

// PublicKeyPEM returns the current signing key's public key as a PKIX
// "PUBLIC KEY" PEM block, the form validators load from files.
func (i *Issuer) PublicKeyPEM() []byte {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return append([]byte(nil), i.current.pubPEM...)
}

// EncryptionKey returns the kid and the 32-byte key that encrypt the
// private claims of nested tokens.
func (i *Issuer) EncryptionKey() (kid string, key []byte) {
	return i.encKID, append([]byte(nil), i.encKey...)
}

// JWKS returns the JSON Web Key Set of every published public key, newest
// first: kty, use "sig", kid, alg and the public members only.
func (i *Issuer) JWKS() []byte {
	i.mu.RLock()
	set := struct {
		Keys []publicJWK `json:"keys"`
	}{Keys: make([]publicJWK, 0, len(i.keys))}
	for _, k := range i.keys {
		set.Keys = append(set.Keys, k.jwk)
	}
	i.mu.RUnlock()
	b, _ := json.Marshal(set) // strings only: cannot fail
	return b
}

// RotateKey makes a new signing key of the same algorithm (and RSA size)
// the current one and returns its kid. The previous key stays published,
// so tokens it signed still verify, if keepOld; otherwise it is removed
// from the JWKS. Keys kept by earlier rotations stay. An issuer whose
// algorithm is not RS256 rotates the key of its nested tokens alike.
func (i *Issuer) RotateKey(keepOld bool) (string, error) {
	i.mu.RLock()
	cur, nestKey := i.current, i.nestKey
	i.mu.RUnlock()

	// Keys are generated outside the lock: RSA generation takes a while.
	next, err := newKey(cur.alg, nil, "", rotatedRSABits(cur))
	if err != nil {
		return "", err
	}
	nextNest := next
	if nestKey != cur {
		if nextNest, err = newKey(nestKey.alg, nil, "", rotatedRSABits(nestKey)); err != nil {
			return "", err
		}
	}

	i.mu.Lock()
	defer i.mu.Unlock()
	keys := []*signingKey{next}
	if nextNest != next {
		keys = append(keys, nextNest)
	}
	for _, k := range i.keys {
		if keepOld || (k != i.current && k != i.nestKey) {
			keys = append(keys, k)
		}
	}
	i.current, i.nestKey, i.keys = next, nextNest, keys
	return next.kid, nil
}

// rotatedRSABits is the size of a rotated key: that of the key it replaces.
func rotatedRSABits(k *signingKey) int {
	if r, ok := k.priv.(*rsa.PrivateKey); ok && r.N.BitLen() > minRSABits {
		return r.N.BitLen()
	}
	return minRSABits
}

// keyFunc finds the published key that verifies a token, refusing a token
// whose alg is not the one the key was published for.
func (i *Issuer) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	i.mu.RLock()
	defer i.mu.RUnlock()
	for _, k := range i.keys {
		if k.kid == kid {
			if t.Method.Alg() != k.alg {
				return nil, fmt.Errorf("key %q is for %s, token says %s", kid, k.alg, t.Method.Alg())
			}
			return k.priv.Public(), nil
		}
	}
	return nil, fmt.Errorf("unknown key %q", kid)
}

// parse verifies a token's signature with the published keys, and its
// claims unless verifyClaims is false.
func (i *Issuer) parse(token string, verifyClaims bool) (*jwt.Token, jwt.MapClaims, error) {
	// Every algorithm a published key may have; keyFunc then holds each
	// key to its own.
	algs := []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}
	opts := []jwt.ParserOption{jwt.WithValidMethods(algs), jwt.WithTimeFunc(i.now)}
	if verifyClaims {
		opts = append(opts, jwt.WithIssuer(i.iss), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	} else {
		opts = append(opts, jwt.WithoutClaimsValidation())
	}
	claims := jwt.MapClaims{}
	t, err := jwt.NewParser(opts...).ParseWithClaims(token, claims, i.keyFunc)
	return t, claims, err
}

// verifyRefresh checks a refresh token (RFC 6749 §6): signature, issuer,
// expiry, shape and revocation. It returns its claims.
func (i *Issuer) verifyRefresh(r *http.Request, token string) (jwt.MapClaims, error) {
	t, claims, err := i.parse(token, true)
	if err != nil {
		return nil, err
	}
	// An access token must not pass for a refresh token: both are signed
	// by the same key, so the shape is what tells them apart.
	if typ, _ := t.Header["typ"].(string); typ != ucmtoken.OuterType {
		return nil, errors.New("not a refresh token")
	}
	if c, _ := claims[ucmtoken.ClaimCType].(string); c != ucmtoken.RefreshCType {
		return nil, errors.New("not a refresh token")
	}
	sub, _ := claims["sub"].(string)
	tid, _ := claims["tid"].(string)
	iat, err := claims.GetIssuedAt()
	if sub == "" || tid == "" || err != nil || iat == nil {
		return nil, errors.New("refresh token without sub, tid or iat")
	}
	revoked, err := i.rev.Revoked(r.Context(), tid, sub, iat.Time)
	if err != nil {
		return nil, err
	}
	if revoked {
		return nil, errors.New("refresh token revoked")
	}
	return claims, nil
}

// Handler returns the HTTP handler of the issuer's endpoints:
//
//	GET  /.well-known/jwks.json, /jwks.json  the JWKS
//	POST /token                              token endpoint (RFC 6749)
//	POST /revoke                             revocation (RFC 7009, and user=)
//
// The token endpoint takes grant_type password (username, password),
// client_credentials or refresh_token (refresh_token), each with optional
// scope and device. Clients authenticate by HTTP Basic or by client_id and
// client_secret in the body; client_credentials, refresh_token (when
// Clients is not empty) and revocation require it. Only the password grant
// returns a refresh token. Revocation takes user=<name>, revoking every
// token of the user issued so far, or token=<JWT or token id>.
//
// Errors are RFC 6749 §5.2 JSON: 400, 401 for invalid_client, 413 for a
// body over 64 KiB. Other paths get 404 and other methods 405.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", i.serveJWKS)
	mux.HandleFunc("GET /jwks.json", i.serveJWKS)
	mux.HandleFunc("POST /token", i.serveToken)
	mux.HandleFunc("POST /revoke", i.serveRevoke)
	return mux
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	// Short, so that validators see a rotation within a minute.
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(i.JWKS())
}

// oauthError is an error response of RFC 6749 §5.2.
type oauthError struct {
	status int
	code   string
	desc   string
}

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

func badClient(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: desc}
}

func (e *oauthError) write(w http.ResponseWriter) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

// writeJSON writes a token endpoint response, never to be cached
// (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readForm reads a bounded form-encoded body. Parameters in the URL
// are ignored: RFC 6749 wants them, secrets above all, in the body.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", desc: "request body too large"}
		}
		return nil, badRequest("invalid_request", "malformed form body")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 { // RFC 6749 §3.2
			return nil, badRequest("invalid_request", "parameter "+strconv.Quote(k)+" repeated")
		}
	}
	return r.PostForm, nil
}

// equalSecret compares secrets in constant time. Hashing first hides the
// length of the expected secret too.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// checkSecret reports whether secret is that of name in m. An unknown
// name costs the same comparison, so timing does not reveal which names
// exist.
func checkSecret(m map[string]string, name, secret string) bool {
	want, ok := m[name]
	eq := equalSecret(secret, want)
	return ok && eq
}

// clientAuth authenticates the client by HTTP Basic (RFC 6749 §2.3.1, with
// its form-encoded id and secret) or by client_id and client_secret in the
// body. It returns the client id, empty when none is given, and whether the
// client proved it. A client id without a secret is a public client's,
// unless it is one of Clients, which must authenticate.
func (i *Issuer) clientAuth(r *http.Request, form url.Values) (string, bool, *oauthError) {
	if r.Header.Get("Authorization") != "" {
		u, p, ok := r.BasicAuth()
		if !ok {
			return "", false, badClient("unsupported client authentication")
		}
		if form.Has("client_secret") {
			return "", false, badRequest("invalid_request", "more than one client authentication method")
		}
		id, err1 := url.QueryUnescape(u)
		secret, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil || !checkSecret(i.clients, id, secret) {
			return "", false, badClient("client authentication failed")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return "", false, badRequest("invalid_request", "client_id differs from the authenticated client")
		}
		return id, true, nil
	}
	id := form.Get("client_id")
	if form.Has("client_secret") {
		if !checkSecret(i.clients, id, form.Get("client_secret")) {
			return "", false, badClient("client authentication failed")
		}
		return id, true, nil
	}
	if _, confidential := i.clients[id]; confidential {
		return "", false, badClient("client must authenticate")
	}
	return id, false, nil
}

// parseScopes splits a scope parameter, checking its syntax (RFC 6749 §3.3).
func parseScopes(s string) ([]string, *oauthError) {
	if s == "" {
		return nil, nil
	}
	scopes := strings.Split(s, " ")
	for _, sc := range scopes {
		if sc == "" {
			return nil, badRequest("invalid_scope", "malformed scope")
		}
		for _, c := range []byte(sc) {
			if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return nil, badRequest("invalid_scope", "malformed scope")
			}
		}
	}
	return scopes, nil
}

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	form, e := readForm(w, r)
	if e != nil {
		e.write(w)
		return
	}
	clientID, authenticated, e := i.clientAuth(r, form)
	if e != nil {
		e.write(w)
		return
	}
	scopes, e := parseScopes(form.Get("scope"))
	if e != nil {
		e.write(w)
		return
	}
	req := TokenRequest{ClientID: clientID, Scopes: scopes, Device: form.Get("device")}
	var refresh bool

	switch gt := form.Get("grant_type"); gt {
	case "":
		badRequest("invalid_request", "missing grant_type").write(w)
		return
	case "password":
		user, password := form.Get("username"), form.Get("password")
		if user == "" || !form.Has("password") {
			badRequest("invalid_request", "missing username or password").write(w)
			return
		}
		if !checkSecret(i.users, user, password) {
			badRequest("invalid_grant", "invalid resource owner credentials").write(w)
			return
		}
		req.User, refresh = user, true
	case "client_credentials":
		if !authenticated {
			badClient("client authentication required").write(w)
			return
		}
		req.User = clientID // RFC 9068 §2.2: sub is the client when no user is involved
	case "refresh_token":
		if len(i.clients) > 0 && !authenticated {
			badClient("client authentication required").write(w)
			return
		}
		token := form.Get("refresh_token")
		if token == "" {
			badRequest("invalid_request", "missing refresh_token").write(w)
			return
		}
		claims, err := i.verifyRefresh(r, token)
		if err != nil {
			badRequest("invalid_grant", "invalid refresh token: "+err.Error()).write(w)
			return
		}
		// RFC 6749 §6: the refresh token must have been issued to this client.
		ccid, _ := claims["ccid"].(string)
		if clientID != "" && ccid != clientID {
			badRequest("invalid_grant", "refresh token issued to another client").write(w)
			return
		}
		req.User, _ = claims["sub"].(string)
		req.ClientID = ccid
	default:
		badRequest("unsupported_grant_type", "unsupported grant_type "+strconv.Quote(gt)).write(w)
		return
	}

	resp := tokenResponse{TokenType: "Bearer", ExpiresIn: int64(i.accessTTL / time.Second), Scope: strings.Join(scopes, " ")}
	var err error
	if resp.AccessToken, err = i.Mint(req); err == nil && refresh {
		resp.RefreshToken, err = i.MintRefresh(req.User, clientID)
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// serveRevoke revokes every token of a user (user=, as Unified CM does) or
// one token (token=, RFC 7009: a JWT this issuer signed, or a token id).
// Any client of Clients may revoke any token: this is a lab server.
func (i *Issuer) serveRevoke(w http.ResponseWriter, r *http.Request) {
	form, e := readForm(w, r)
	if e != nil {
		e.write(w)
		return
	}
	_, authenticated, e := i.clientAuth(r, form)
	if e == nil && !authenticated {
		e = badClient("client authentication required")
	}
	if e != nil {
		e.write(w)
		return
	}
	user, token := form.Get("user"), form.Get("token")
	if user == "" && token == "" {
		badRequest("invalid_request", "missing user or token").write(w)
		return
	}
	if user != "" {
		// iat has whole seconds, so a token minted earlier in this second
		// has an iat that is not before now: revoke up to the next second.
		i.rev.RevokeUser(user, i.now().Truncate(time.Second).Add(time.Second))
	}
	if token != "" {
		i.revokeToken(token)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// revokeToken revokes a refresh token by its tid, an access token of either
// shape by its jti, or takes anything that is not a JWS for a token id. A
// JWS this issuer did not sign is ignored, as RFC 7009 §2.2 asks.
func (i *Issuer) revokeToken(token string) {
	if strings.Count(token, ".") != 2 {
		i.rev.RevokeToken(token, time.Time{})
		return
	}
	_, claims, err := i.parse(token, false)
	if err != nil {
		return
	}
	if private, ok := claims[ucmtoken.ClaimPrivate].(string); ok {
		if claims = i.decryptPrivate(private); claims == nil {
			return
		}
	}
	var exp time.Time
	if e, err := claims.GetExpirationTime(); err == nil && e != nil {
		exp = e.Time
	}
	id, _ := claims["jti"].(string)
	if c, _ := claims[ucmtoken.ClaimCType].(string); c == ucmtoken.RefreshCType {
		id, _ = claims["tid"].(string)
	}
	if id != "" {
		i.rev.RevokeToken(id, exp)
	}
}

// decryptPrivate decrypts the JWE of a nested token; nil if it cannot.
func (i *Issuer) decryptPrivate(s string) jwt.MapClaims {
	obj, err := jose.ParseEncryptedCompact(s, []jose.KeyAlgorithm{keyAlg}, []jose.ContentEncryption{contentEnc})
	if err != nil {
		return nil
	}
	plain, err := obj.Decrypt(i.encKey)
	if err != nil {
		return nil
	}
	var claims jwt.MapClaims
	if json.Unmarshal(plain, &claims) != nil {
		return nil
	}
	return claims
}
