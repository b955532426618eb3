package registrar

import (
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
)

// Digest algorithm names as they appear on the wire (RFC 8760 §2.2).
const (
	DigestSHA256 = "SHA-256"
	DigestMD5    = "MD5"
)

// Defaults of a DigestAuth.
const (
	// DefaultDigestRealm is Unified CM's realm.
	DefaultDigestRealm = bearer.CiscoRealm
	// DefaultNonceTTL is how long a nonce is good for, as on common
	// registrars; a device reuses its nonce with a higher nc until then.
	DefaultNonceTTL = 5 * time.Minute
	// DefaultMaxNonces bounds the nonces whose count a DigestAuth keeps:
	// one per registering device per NonceTTL, a few MiB at most.
	DefaultMaxNonces = 1 << 16
)

// DigestAuth is the Authenticator for the legacy role: SIP Digest (RFC 3261
// §22) with SHA-256 and MD5 (RFC 8760), qop "auth", computed as RFC 7616
// says, against the device's DigestSecret.
//
// The zero value is ready to use, with the defaults below; set the fields
// before the first Authenticate and leave them alone after it. A DigestAuth
// is safe for concurrent use and must not be copied after first use.
//
// Only Authorization headers are read: a registrar is the user agent
// server that answers 401 with WWW-Authenticate, and Proxy-Authorization
// belongs to the proxies on the way (RFC 3261 §22.3). Authorization values
// of other schemes (a Bearer token on a legacy port) count as none; Digest
// credentials for another realm count as a failed attempt.
//
// Nonces are stateless: they carry the time they were made and an HMAC
// under Key, so any node holding the same Key accepts them. Replays are
// caught by the nonce count (nc), which must grow with every use of a
// nonce; the counts are kept per node, in at most MaxNonces entries. Nodes
// that share a Key should therefore see a device's requests on one node
// (as a device keeps its connection), or a captured request could be
// replayed once on each other node within NonceTTL.
//
// Answers: no credentials, 401 with one challenge per algorithm (SHA-256
// first) under a fresh nonce; a wrong response, user, realm, algorithm or
// nonce, a replay, 401 again with a fresh nonce; a correct response under
// an expired nonce, 401 with stale=true; malformed credentials or a uri
// other than the Request-URI, 400; a device with OAuth enabled (Unified CM
// refuses Digest for those) or without a Digest secret, 403; a
// misconfigured DigestAuth (see the fields), 500. On success the identity
// is the device's owner, so the owner and AOR rules apply to that user.
// Passwords and HA1 values are never logged nor sent.
//
// The username must be the device's digest user by sipoauth.SameUser.
// With a password, HA1 is computed from the username as the client spelt
// it; a precomputed HA1 holds for the spelling it was computed with. A
// device is challenged only with the algorithms its secret can answer.
type DigestAuth struct {
	// Realm is the protection realm; DefaultDigestRealm when empty. HA1
	// values in DigestSecret must have been computed for it.
	Realm string
	// Key is the HMAC key of the nonces, at least 16 bytes; give every
	// node the same Key to have them accept each other's nonces. A random
	// key, private to this DigestAuth, when nil.
	Key []byte
	// NonceTTL is how long a nonce is accepted after it was issued;
	// DefaultNonceTTL when 0.
	NonceTTL time.Duration
	// MaxNonces bounds the nonces whose nc is tracked; DefaultMaxNonces
	// when 0. When all are taken by nonces still valid, a request under
	// a nonce not yet tracked is challenged again rather than accepted
	// without replay protection.
	MaxNonces int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Algorithms are the algorithms offered and accepted, in the order of
	// the challenges: DigestSHA256 and DigestMD5 when empty. Other names
	// are a configuration error.
	Algorithms []string

	once   sync.Once
	err    error // configuration error, found on first use
	realm  string
	algs   []string
	ttl    time.Duration
	codec  nonceCodec
	counts *nonceCounts
}

func (a *DigestAuth) init() {
	a.realm = a.Realm
	if a.realm == "" {
		a.realm = DefaultDigestRealm
	}
	if strings.ContainsFunc(a.realm, unicode.IsControl) {
		a.err = errors.New("registrar: DigestAuth Realm has control characters")
		return
	}
	a.ttl = defaults.Positive(a.NonceTTL, DefaultNonceTTL)
	algs := a.Algorithms
	if len(algs) == 0 {
		algs = []string{DigestSHA256, DigestMD5}
	}
	for _, name := range algs {
		canon, ok := digestAlgorithm(name)
		if !ok {
			a.err = errors.New("registrar: DigestAuth algorithm " + name + " is not SHA-256 or MD5")
			return
		}
		a.algs = append(a.algs, canon)
	}
	key := a.Key
	switch {
	case key == nil:
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails (crypto/rand)
	case len(key) < 16:
		a.err = errors.New("registrar: DigestAuth Key is shorter than 16 bytes")
		return
	}
	a.codec = nonceCodec{key: key, realm: a.realm}
	maxN := defaults.Positive(a.MaxNonces, DefaultMaxNonces)
	a.counts = newNonceCounts(maxN)
}

// digestAlgorithm returns the canonical name of a supported algorithm;
// names are case-insensitive (RFC 7616 §3.3).
func digestAlgorithm(name string) (string, bool) {
	switch {
	case strings.EqualFold(name, DigestSHA256):
		return DigestSHA256, true
	case strings.EqualFold(name, DigestMD5):
		return DigestMD5, true
	}
	return "", false
}

func (a *DigestAuth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Authenticate implements Authenticator.
func (a *DigestAuth) Authenticate(_ context.Context, r *Request) (*sipoauth.Identity, *sip.Response) {
	a.once.Do(a.init)
	if a.err != nil {
		r.Reason = sipauth.DigestConfig
		return nil, respond(r, 500, "Server Internal Error")
	}
	if r.Device.OAuth {
		r.Reason = sipauth.DigestOAuthDevice
		return nil, respond(r, 403, "Forbidden")
	}
	secret, ok := digestSecretOf(r.Device)
	if !ok {
		r.Reason = sipauth.DigestNoSecret
		return nil, respond(r, 403, "Forbidden")
	}
	// The algorithms this device can answer: those configured for which
	// its secret holds a password or an HA1.
	algs := make([]string, 0, len(a.algs))
	for _, alg := range a.algs {
		if secret.usable(alg) {
			algs = append(algs, alg)
		}
	}
	if len(algs) == 0 {
		r.Reason = sipauth.DigestNoSecret
		return nil, respond(r, 403, "Forbidden")
	}
	now := a.now()

	cred, otherRealm, res := a.credentials(r)
	switch {
	case res != nil:
		return nil, res
	case cred == nil && otherRealm:
		return nil, a.challenge(r, algs, now, false, sipauth.DigestRealm)
	case cred == nil:
		return nil, a.challenge(r, algs, now, false, sipauth.NoCredentials)
	}
	switch {
	case cred.Username == "" || cred.Nonce == "" || cred.URI == "" || cred.Response == "":
		r.Reason = sipauth.MalformedCredentials
		return nil, respond(r, 400, "Bad Request: malformed credentials")
	case cred.QOP == "":
		// RFC 2069 credentials: no nc, so no replay protection.
		return nil, a.challenge(r, algs, now, false, sipauth.DigestQOP)
	case !strings.EqualFold(cred.QOP, "auth"):
		return nil, a.challenge(r, algs, now, false, sipauth.DigestQOP)
	case cred.Cnonce == "" || cred.Nc < 1:
		r.Reason = sipauth.MalformedCredentials
		return nil, respond(r, 400, "Bad Request: malformed credentials")
	case cred.Userhash:
		// Not offered; the username would have to be matched by its hash.
		return nil, a.challenge(r, algs, now, false, sipauth.DigestUser)
	}
	alg := DigestMD5 // when absent (RFC 7616 §3.4)
	if cred.Algorithm != "" {
		alg, ok = digestAlgorithm(cred.Algorithm)
	}
	if !ok || !slices.Contains(algs, alg) {
		return nil, a.challenge(r, algs, now, false, sipauth.DigestAlgorithm)
	}
	if !sipoauth.SameUser(cred.Username, secret.user) {
		return nil, a.challenge(r, algs, now, false, sipauth.DigestUser)
	}
	if !sameRequestURI(cred.URI, r.SIP) {
		r.Reason = sipauth.DigestURI
		return nil, respond(r, 400, "Bad Request: digest uri is not the Request-URI")
	}
	n, err := a.codec.open(cred.Nonce, now, a.ttl)
	if err != nil && !errors.Is(err, errNonceExpired) {
		return nil, a.challenge(r, algs, now, false, sipauth.DigestNonce)
	}
	if !a.responseMatches(r, cred, alg, secret) {
		return nil, a.challenge(r, algs, now, false, sipauth.DigestFailed)
	}
	if err != nil { // expired, but the response is right: retry without asking the user
		return nil, a.challenge(r, algs, now, true, sipauth.DigestStale)
	}
	switch a.counts.advance(n.id, uint32(cred.Nc), n.issued.Add(a.ttl).UnixNano(), now.UnixNano()) {
	case countReplay:
		return nil, a.challenge(r, algs, now, false, sipauth.DigestReplay)
	case countFull:
		return nil, a.challenge(r, algs, now, false, sipauth.DigestNoncesFull)
	case countForgotten:
		return nil, a.challenge(r, algs, now, true, sipauth.DigestStale)
	}
	return &sipoauth.Identity{User: r.Device.Owner}, nil
}

// credentials returns the one Digest credential for the realm (nil for
// none) and whether there were some for other realms, or a final answer.
func (a *DigestAuth) credentials(r *Request) (found *digest.Credentials, otherRealm bool, res *sip.Response) {
	for _, h := range r.SIP.GetHeaders("Authorization") {
		v := h.Value()
		if !digest.IsDigest(v) {
			continue // parse has bounded its length
		}
		c, err := digest.ParseCredentials(v)
		if err != nil {
			r.Reason = sipauth.MalformedCredentials
			return nil, false, respond(r, 400, "Bad Request: malformed credentials")
		}
		if c.Realm != a.realm { // realms compare as strings (RFC 3261 §22.1)
			otherRealm = true
			continue
		}
		if found != nil {
			r.Reason = sipauth.DuplicateCredentials
			return nil, false, respond(r, 400, "Bad Request: duplicate credentials")
		}
		found = c
	}
	return found, otherRealm, nil
}

// challenge answers 401 with a fresh nonce, one WWW-Authenticate per
// algorithm in order, and records why.
func (a *DigestAuth) challenge(r *Request, algs []string, now time.Time, stale bool, reason sipauth.Reason) *sip.Response {
	r.Reason = reason
	nonce := a.codec.seal(now)
	hs := make([]sip.Header, 0, len(algs))
	for _, alg := range algs {
		ch := digest.Challenge{Realm: a.realm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		hs = append(hs, sip.NewHeader("WWW-Authenticate", ch.String()))
	}
	return respond(r, 401, "Unauthorized", hs...)
}

// responseMatches computes the expected response with the device's secret
// and compares it with the client's in constant time.
func (a *DigestAuth) responseMatches(r *Request, cred *digest.Credentials, alg string, s digestSecret) bool {
	opts := digest.Options{
		Method:   string(r.SIP.Method),
		URI:      cred.URI,
		Username: cred.Username,
		Count:    cred.Nc,
		Cnonce:   cred.Cnonce,
		A1:       s.ha1(alg),
	}
	if opts.A1 == "" {
		// HA1 of the name as the client spelt it: the same user by
		// SameUser, and the spelling it hashed.
		opts.Password = s.password
	}
	chal := &digest.Challenge{Realm: a.realm, Nonce: cred.Nonce, Algorithm: alg, QOP: []string{"auth"}}
	want, err := digest.Digest(chal, opts)
	if err != nil {
		return false
	}
	got := strings.ToLower(cred.Response) // lower-case hex (RFC 7616 §3.4.1); the client's own bytes
	return subtle.ConstantTimeCompare([]byte(want.Response), []byte(got)) == 1
}

// sameRequestURI tells whether the credentials' uri is the Request-URI,
// both as sipgo reads them: the uri the client hashed must be the one it
// sent the request to (RFC 7616 §3.4.6).
func sameRequestURI(uri string, req *sip.Request) bool {
	want := req.Recipient.String()
	if uri == want {
		return true
	}
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	return u.String() == want
}

// digestSecret is a device's DigestSecret with its user resolved and its
// HA1 values in lower case.
type digestSecret struct {
	user, password    string
	ha1MD5, ha1SHA256 string
}

// digestSecretOf returns the device's secret; false when it has none it
// could authenticate with.
func digestSecretOf(d Device) (digestSecret, bool) {
	if d.Digest == nil {
		return digestSecret{}, false
	}
	s := digestSecret{user: d.Digest.User, password: d.Digest.Password}
	if s.user == "" {
		s.user = d.Owner
	}
	// An HA1 that is not hex of the hash's size can match nothing.
	if v := strings.ToLower(d.Digest.HA1MD5); isHex(v, 32) {
		s.ha1MD5 = v
	}
	if v := strings.ToLower(d.Digest.HA1SHA256); isHex(v, 64) {
		s.ha1SHA256 = v
	}
	if s.user == "" || (s.password == "" && s.ha1MD5 == "" && s.ha1SHA256 == "") {
		return digestSecret{}, false
	}
	return s, true
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// usable tells whether the secret can answer alg.
func (s digestSecret) usable(alg string) bool { return s.password != "" || s.ha1(alg) != "" }

// ha1 is the precomputed HA1 for alg, "" for none. A precomputed HA1 wins
// over the password: it is what the operator configured for the realm.
func (s digestSecret) ha1(alg string) string {
	if alg == DigestSHA256 {
		return s.ha1SHA256
	}
	return s.ha1MD5
}

// Nonce codec. A nonce is base64url (no padding) of 32 bytes:
//
//	issued   8 bytes, Unix nanoseconds, big-endian
//	random   8 bytes, so that two nonces of one instant differ
//	mac     16 bytes, HMAC-SHA-256(key, label | realm | 0 | issued | random), truncated
//
// The realm is in the MAC so that a nonce of one realm is no good in
// another under the same key.
const (
	nonceRawLen = 32
	nonceLen    = 43 // base64.RawURLEncoding.EncodedLen(nonceRawLen)
	nonceLabel  = "sipoauth digest nonce v1\x00"
)

var (
	errNonceMalformed = errors.New("registrar: digest nonce malformed")
	errNonceForged    = errors.New("registrar: digest nonce not issued under this key and realm")
	errNonceExpired   = errors.New("registrar: digest nonce expired")
)

type nonceCodec struct {
	key   []byte
	realm string
}

// nonceInfo is what an opened nonce tells.
type nonceInfo struct {
	issued time.Time
	id     [16]byte // its MAC: unique per nonce, the key of its count
}

func (c nonceCodec) mac(body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(nonceLabel))
	m.Write([]byte(c.realm))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:16]
}

// seal issues a nonce at now.
func (c nonceCodec) seal(now time.Time) string {
	var b [nonceRawLen]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(b[8:16]) // never fails (crypto/rand)
	copy(b[16:], c.mac(b[:16]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// open checks a nonce. An expired nonce is otherwise genuine: its info is
// returned with errNonceExpired. A nonce issued later than now is
// accepted as long as it would be within ttl, for nodes whose clocks
// differ a little.
func (c nonceCodec) open(nonce string, now time.Time, ttl time.Duration) (nonceInfo, error) {
	var b [nonceRawLen]byte
	if len(nonce) != nonceLen {
		return nonceInfo{}, errNonceMalformed
	}
	if n, err := base64.RawURLEncoding.Decode(b[:], []byte(nonce)); err != nil || n != nonceRawLen {
		return nonceInfo{}, errNonceMalformed
	}
	if !hmac.Equal(c.mac(b[:16]), b[16:]) {
		return nonceInfo{}, errNonceForged
	}
	info := nonceInfo{issued: time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))}
	copy(info.id[:], b[16:])
	if age := now.Sub(info.issued); age > ttl || age < -ttl {
		return info, errNonceExpired
	}
	return info, nil
}

// countResult is the outcome of a nonce count.
type countResult int

const (
	countOK        countResult = iota
	countReplay                // nc not above the last one seen
	countFull                  // a new nonce, and no room to track it
	countForgotten             // a nonce whose count may have been dropped
)

// nonceCounts is the last nc seen per nonce, for nonces still valid, in at
// most max entries. Entries leave when their nonce expires.
type nonceCounts struct {
	mu     sync.Mutex
	max    int
	last   map[[16]byte]uint32
	expiry expiryHeap
	// floor is the latest expiry of an entry dropped: a nonce that
	// expires no later may have had its count dropped (the clock went
	// back), so it is not trusted as new.
	floor int64
}

func newNonceCounts(maxN int) *nonceCounts {
	return &nonceCounts{max: maxN, last: make(map[[16]byte]uint32)}
}

// advance records nc for the nonce id, which expires at expires (Unix
// nanoseconds); now is the current time.
func (c *nonceCounts) advance(id [16]byte, nc uint32, expires, now int64) countResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.expiry) > 0 && c.expiry[0].expires <= now {
		e := heap.Pop(&c.expiry).(expiryEntry)
		delete(c.last, e.id)
		c.floor = max(c.floor, e.expires)
	}
	if last, ok := c.last[id]; ok {
		if nc <= last {
			return countReplay
		}
		c.last[id] = nc
		return countOK
	}
	switch {
	case expires <= c.floor:
		return countForgotten
	case len(c.last) >= c.max:
		return countFull
	}
	c.last[id] = nc
	heap.Push(&c.expiry, expiryEntry{id: id, expires: expires})
	return countOK
}

type expiryEntry struct {
	id      [16]byte
	expires int64
}

// expiryHeap is a min-heap of entries by expiry (container/heap).
type expiryHeap []expiryEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
