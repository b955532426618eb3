package sipoauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/time/rate"

	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/keyfile"
)

// MinRSABits is the smallest RSA key accepted (RFC 7518 §3.3).
const MinRSABits = 2048

// KeySource finds the public key that verifies a token's signature.
// Implementations must be safe for concurrent use.
type KeySource interface {
	// VerificationKey returns the *rsa.PublicKey, *ecdsa.PublicKey or
	// ed25519.PublicKey with this key id, for a token signed with alg. kid
	// is empty when the token names no key. An error wrapping
	// ErrUnknownKey says there is none, one wrapping ErrAlgorithm that the
	// key is not for alg; the Validator refuses the token for them. Any
	// other error (a key server out of reach) fails the validation with
	// ErrUnavailable.
	VerificationKey(ctx context.Context, kid, alg string) (crypto.PublicKey, error)
}

// Generational is implemented by a KeySource that can tell when its keys
// change. StaticKeys, JWKS and SymmetricKeys implement it.
//
// The Validator's cache serves a token only while the keys that verified
// it are still the keys: while the generation it was verified under
// lasts. With a KeySource that does not implement Generational, the cache
// asks the source for the key on every hit instead, and serves the hit
// only if the key is the same.
type Generational interface {
	// Generation returns a number that changes whenever the keys change
	// (it may also change when they did not). It must not return the new
	// number before VerificationKey returns the new keys.
	Generation() uint64
}

var (
	_ Generational = (*StaticKeys)(nil)
	_ Generational = (*JWKS)(nil)
	_ Generational = (*SymmetricKeys)(nil)
)

// checkPublicKey refuses key types the validator does not verify with and
// RSA keys under MinRSABits.
func checkPublicKey(k crypto.PublicKey) error {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return fmt.Errorf("RSA key of %d bits, under %d", k.N.BitLen(), MinRSABits)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return errors.New("unsupported elliptic curve")
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("unsupported key type %T", k)
	}
	return nil
}

// StaticKeys is a KeySource of keys given by the caller: public keys, or
// the keys of certificates such as Unified CM's AUTHZ signing certificate.
// Set replaces them all at once, so keys rotate without a restart. The
// zero value holds no key.
type StaticKeys struct {
	keys atomic.Pointer[map[string]crypto.PublicKey]
	gen  atomic.Uint64
}

// NewStaticKeys returns a StaticKeys holding keys, by key id. A key under
// the empty id verifies tokens that name no key.
func NewStaticKeys(keys map[string]crypto.PublicKey) (*StaticKeys, error) {
	s := new(StaticKeys)
	return s, s.Set(keys)
}

// Set replaces the keys. It refuses the whole set, keeping the old one,
// if any key is of an unsupported type or an RSA key is under 2048 bits.
func (s *StaticKeys) Set(keys map[string]crypto.PublicKey) error {
	m := make(map[string]crypto.PublicKey, len(keys))
	for kid, k := range keys {
		if err := checkPublicKey(k); err != nil {
			return fmt.Errorf("sipoauth: key %q: %w", kid, err)
		}
		m[kid] = k
	}
	s.keys.Store(&m)
	s.gen.Add(1) // after the keys: see Generational
	return nil
}

// Generation implements Generational: it changes with every Set.
func (s *StaticKeys) Generation() uint64 { return s.gen.Load() }

// VerificationKey implements KeySource. A token that names no key is
// verified with the key under the empty id, or with the only key.
func (s *StaticKeys) VerificationKey(_ context.Context, kid, _ string) (crypto.PublicKey, error) {
	p := s.keys.Load()
	if p == nil {
		return nil, fmt.Errorf("%w: no keys", ErrUnknownKey)
	}
	m := *p
	if k, ok := m[kid]; ok {
		return k, nil
	}
	if kid == "" && len(m) == 1 {
		for _, k := range m {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// ParsePublicKeysPEM reads every PUBLIC KEY, RSA PUBLIC KEY and
// CERTIFICATE block of a PEM bundle and returns their public keys, in
// order. Other blocks are an error, private keys among them, as are keys
// that StaticKeys refuses. Package keyfile reads the blocks.
func ParsePublicKeysPEM(data []byte) ([]crypto.PublicKey, error) {
	keys, err := keyfile.ParsePEM(data)
	if err != nil {
		return nil, fmt.Errorf("sipoauth: %w", err)
	}
	out := make([]crypto.PublicKey, 0, len(keys))
	for n, k := range keys {
		if k.From == keyfile.FromPrivateKey {
			return nil, fmt.Errorf("sipoauth: PEM key %d: a private key; give its public key", n+1)
		}
		if err := checkPublicKey(k.Public); err != nil {
			return nil, fmt.Errorf("sipoauth: PEM key %d: %w", n+1, err)
		}
		out = append(out, k.Public)
	}
	return out, nil
}

// JWKS is a KeySource over a JSON Web Key Set (RFC 7517), either a
// document given once or one fetched from a URL and refreshed. It uses
// github.com/MicahParks/jwkset.
type JWKS struct {
	keys   jwkset.Storage
	remote *remoteKeys // nil for a document
	cancel context.CancelFunc
}

// NewJWKS returns a KeySource over a JWKS document.
func NewJWKS(doc []byte) (*JWKS, error) {
	if !json.Valid(doc) {
		return nil, errors.New("sipoauth: JWKS is not JSON")
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("sipoauth: JWKS: %w", err)
	}
	keys, err := set.ToStorage()
	if err != nil {
		return nil, fmt.Errorf("sipoauth: JWKS: %w", err)
	}
	return &JWKS{keys: keys, cancel: func() {}}, nil
}

// JWKSOptions tune NewJWKSURL. Zero values take the defaults.
type JWKSOptions struct {
	// Client fetches the set; http.DefaultClient with Timeout by default.
	Client *http.Client
	// Timeout bounds one fetch; 10 seconds by default.
	Timeout time.Duration
	// RefreshInterval is how often the set is fetched again; 1 hour by default.
	RefreshInterval time.Duration
	// UnknownKIDInterval is the least time between two fetches caused by
	// tokens naming a key the set lacks, so that a flood of made-up key
	// ids cannot hammer the key server; 1 minute by default. Such a token
	// waits for a fetch at most UnknownKIDWait (250 ms by default) and is
	// otherwise refused at once.
	UnknownKIDInterval time.Duration
	UnknownKIDWait     time.Duration
	// OnError is told about fetches that fail; the last good set stays.
	OnError func(error)
}

// NewJWKSURL returns a KeySource over the JWKS at url, fetched now, again
// every RefreshInterval, and when a token names an unknown key (rate
// limited). Close stops the refreshing. A first fetch that fails is not
// an error: the set is fetched again on the next unknown key.
//
// While the last fetch has failed, a token naming a key that the last good
// set lacks cannot be checked: VerificationKey says so with an error that
// is not ErrUnknownKey, and the Validator reports ErrUnavailable.
func NewJWKSURL(url string, opt JWKSOptions) (*JWKS, error) {
	opt.Timeout = defaults.Positive(opt.Timeout, 10*time.Second)
	opt.RefreshInterval = defaults.Positive(opt.RefreshInterval, time.Hour)
	opt.UnknownKIDInterval = defaults.Positive(opt.UnknownKIDInterval, time.Minute)
	opt.UnknownKIDWait = defaults.Positive(opt.UnknownKIDWait, 250*time.Millisecond)
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: opt.Timeout}
	}
	remote := &remoteKeys{MemoryJWKSet: jwkset.NewMemoryStorage()}
	ctx, cancel := context.WithCancel(context.Background())
	// The first and the periodic fetches run under this context, the ones
	// for an unknown kid under the token's, cut at UnknownKIDWait.
	ctx = context.WithValue(ctx, scheduledFetch{}, true)
	fetched, err := jwkset.NewStorageFromHTTP(url, jwkset.HTTPClientStorageOptions{
		Client:                    opt.Client,
		Ctx:                       ctx,
		HTTPTimeout:               opt.Timeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshInterval:           opt.RefreshInterval,
		Storage:                   remote,
		RefreshErrorHandler: func(fctx context.Context, err error) {
			// A fetch for an unknown kid that ran out of its short wait
			// says nothing about the key server.
			if fctx.Value(scheduledFetch{}) != nil || fctx.Err() == nil {
				remote.failed.Store(&err)
			}
			if opt.OnError != nil {
				opt.OnError(err)
			}
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sipoauth: JWKS %s: %w", url, err)
	}
	keys, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{url: fetched},
		RateLimitWaitMax:  opt.UnknownKIDWait,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(opt.UnknownKIDInterval), 1),
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sipoauth: JWKS %s: %w", url, err)
	}
	return &JWKS{keys: keys, remote: remote, cancel: cancel}, nil
}

// scheduledFetch marks the context of the fetches NewJWKSURL schedules.
type scheduledFetch struct{}

// remoteKeys holds the keys of a JWKS fetched from a URL. Each fetch
// replaces them all; it numbers the sets, counting a fetch only if the
// set changed, and remembers whether the last fetch failed.
type remoteKeys struct {
	*jwkset.MemoryJWKSet
	mu     sync.Mutex // serializes replacements
	digest [sha256.Size]byte
	gen    atomic.Uint64
	failed atomic.Pointer[error] // the error of the last fetch, nil once one succeeds
	read   atomic.Bool           // a fetch has succeeded
}

// KeyReplaceAll implements jwkset.Storage: a fetch succeeded.
func (r *remoteKeys) KeyReplaceAll(ctx context.Context, keys []jwkset.JWK) error {
	h := sha256.New()
	for _, k := range keys {
		b, err := json.Marshal(k.Marshal())
		if err != nil {
			return err
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	var digest [sha256.Size]byte
	h.Sum(digest[:0])
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.MemoryJWKSet.KeyReplaceAll(ctx, keys); err != nil {
		return err
	}
	r.failed.Store(nil)
	r.read.Store(true)
	if digest != r.digest {
		r.digest = digest
		r.gen.Add(1) // after the keys: see Generational
	}
	return nil
}

// KeyWrite implements jwkset.Storage.
func (r *remoteKeys) KeyWrite(ctx context.Context, jwk jwkset.JWK) error {
	defer r.gen.Add(1)
	return r.MemoryJWKSet.KeyWrite(ctx, jwk)
}

// KeyDelete implements jwkset.Storage.
func (r *remoteKeys) KeyDelete(ctx context.Context, kid string) (bool, error) {
	defer r.gen.Add(1)
	return r.MemoryJWKSet.KeyDelete(ctx, kid)
}

// Close stops refreshing a JWKS fetched from a URL.
func (j *JWKS) Close() { j.cancel() }

// Fetched reports whether the keys are there to check tokens with: true
// for a JWKS document, and for one fetched from a URL once a fetch has
// succeeded (a first fetch that fails is not an error of NewJWKSURL).
func (j *JWKS) Fetched() bool { return j.remote == nil || j.remote.read.Load() }

// Generation implements Generational. A JWKS fetched from a URL changes
// generation when a fetch brings a set that differs from the last; a
// document does not change.
func (j *JWKS) Generation() uint64 {
	if j.remote == nil {
		return 0
	}
	return j.remote.gen.Load()
}

// VerificationKey implements KeySource. A token that names no key is
// verified with the set's only key.
func (j *JWKS) VerificationKey(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	if kid == "" {
		all, err := j.keys.KeyReadAll(ctx)
		if err != nil || len(all) != 1 {
			if err := j.fetchFailed(kid); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: the token names no key and the set has %d", ErrUnknownKey, len(all))
		}
		return jwkPublic(all[0].Key(), all[0].Marshal().ALG.String(), alg)
	}
	jwk, err := j.keys.KeyRead(ctx, kid)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err := j.fetchFailed(kid); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	return jwkPublic(jwk.Key(), jwk.Marshal().ALG.String(), alg)
}

// fetchFailed returns an error if the set lacks kid and the last fetch
// failed: the key may well be one the server has.
func (j *JWKS) fetchFailed(kid string) error {
	if j.remote == nil {
		return nil
	}
	if err := j.remote.failed.Load(); err != nil {
		return fmt.Errorf("sipoauth: JWKS: no key %q in the last set fetched, and fetching the set failed: %w", kid, *err)
	}
	return nil
}

// jwkPublic returns the public half of a JWK's key, refusing a key meant
// for another algorithm.
func jwkPublic(key any, keyAlg, alg string) (crypto.PublicKey, error) {
	if keyAlg != "" && keyAlg != alg {
		return nil, fmt.Errorf("%w: key is for %s, token says %s", ErrAlgorithm, keyAlg, alg)
	}
	if p, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = p.Public()
	}
	if err := checkPublicKey(key); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownKey, err)
	}
	return key, nil
}

// SymmetricKeys holds secret keys by key id: the keys that decrypt the
// private claims of Unified CM's tokens (32 bytes for A128CBC-HS256), or
// HMAC keys. Set replaces them all at once. The zero value holds none.
//
// A token that names no key gets the only key. A key set under "" (a key
// handed out without its kid, as a cluster key often is: raw, hex or
// base64) that is the only key is tried for every token, whatever key id
// it names: authenticated decryption and HMAC refuse a token the key does
// not fit.
type SymmetricKeys struct {
	keys atomic.Pointer[map[string][]byte]
	gen  atomic.Uint64
}

// NewSymmetricKeys returns SymmetricKeys holding keys, by key id.
func NewSymmetricKeys(keys map[string][]byte) (*SymmetricKeys, error) {
	s := new(SymmetricKeys)
	return s, s.Set(keys)
}

// Set replaces the keys; each must be at least 32 bytes.
func (s *SymmetricKeys) Set(keys map[string][]byte) error {
	m := make(map[string][]byte, len(keys))
	for kid, k := range keys {
		if len(k) < 32 {
			return fmt.Errorf("sipoauth: symmetric key %q: %d bytes, under 32", kid, len(k))
		}
		m[kid] = append([]byte(nil), k...)
	}
	s.keys.Store(&m)
	s.gen.Add(1) // after the keys: see Generational
	return nil
}

// Generation implements Generational: it changes with every Set. A nil
// SymmetricKeys, which holds no key, is at generation 0.
func (s *SymmetricKeys) Generation() uint64 {
	if s == nil {
		return 0
	}
	return s.gen.Load()
}

// key returns the key with this id; with no id, the only key; with any
// id, the only key when it has none.
func (s *SymmetricKeys) key(kid string) ([]byte, bool) {
	if s == nil {
		return nil, false
	}
	p := s.keys.Load()
	if p == nil {
		return nil, false
	}
	if k, ok := (*p)[kid]; ok {
		return k, true
	}
	if len(*p) == 1 {
		if k, ok := (*p)[""]; ok {
			return k, true
		}
		if kid == "" {
			for _, k := range *p {
				return k, true
			}
		}
	}
	return nil, false
}
