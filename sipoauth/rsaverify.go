package sipoauth

import (
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"math/big"
	"sync"

	"filippo.io/bigmod"
)

// RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2) with the modulus of
// each public key precomputed once. crypto/rsa.VerifyPKCS1v15 rebuilds the
// Montgomery form of the modulus (its R² mod N) on every call, a third of
// the cost of an RS256 verification; bigmod is the same constant-time
// arithmetic as the standard library's, published as a module, and the
// checks and the comparison below are those of crypto/rsa.

// The DER prefixes of the DigestInfo of each hash (RFC 8017 §9.2, note 1),
// as crypto/rsa writes them.
var (
	digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	digestInfoSHA384 = []byte{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}
	digestInfoSHA512 = []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}
)

// digestInfo returns the DigestInfo prefix of hash, or nil for a hash the
// precomputed verification does not do.
func digestInfo(hash crypto.Hash) []byte {
	switch hash {
	case crypto.SHA256:
		return digestInfoSHA256
	case crypto.SHA384:
		return digestInfoSHA384
	case crypto.SHA512:
		return digestInfoSHA512
	}
	return nil
}

var errRSAVerification = errors.New("sipoauth: RSA verification error")

// minPrecomputedRSABits is the smallest modulus crypto/rsa verifies with
// (since Go 1.24, unless GODEBUG rsa1024min=0). Smaller keys are left to
// crypto/rsa, which refuses them or, so told, accepts them.
const minPrecomputedRSABits = 1024

// rsaVerifier is an RSA public key with its modulus precomputed. It is
// never modified once made, and safe for concurrent use.
type rsaVerifier struct {
	n    *big.Int // a copy of the key's N, to tell a key changed in place
	e    int
	m    *bigmod.Modulus
	size int // of the modulus, in bytes
}

// newRSAVerifier precomputes pub's modulus. It refuses the keys that
// crypto/rsa refuses to verify with: no modulus or an even one, under 1024
// bits, an exponent that is even, under 3 or over 2³¹-1. It also refuses
// a negative modulus, which crypto/rsa would take as its absolute value.
func newRSAVerifier(pub *rsa.PublicKey) (*rsaVerifier, error) {
	switch {
	case pub == nil || pub.N == nil:
		return nil, errors.New("sipoauth: RSA key without a modulus")
	case pub.N.Sign() <= 0:
		return nil, errors.New("sipoauth: RSA modulus not positive")
	case pub.N.BitLen() < minPrecomputedRSABits:
		return nil, errors.New("sipoauth: RSA modulus under 1024 bits")
	case pub.N.Bit(0) == 0:
		return nil, errors.New("sipoauth: RSA modulus is even")
	case pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<31-1:
		return nil, errors.New("sipoauth: RSA public exponent not odd, at least 3 and under 2³¹")
	}
	m, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, err
	}
	return &rsaVerifier{n: new(big.Int).Set(pub.N), e: pub.E, m: m, size: m.Size()}, nil
}

// is reports whether k was made from a key equal to pub.
func (k *rsaVerifier) is(pub *rsa.PublicKey) bool {
	return pub.E == k.e && pub.N != nil && pub.N.Cmp(k.n) == 0
}

// verifyString checks sig, the signature of input hashed with hash.
func (k *rsaVerifier) verifyString(hash crypto.Hash, input string, sig []byte) error {
	switch hash {
	case crypto.SHA256:
		h := sha256.Sum256([]byte(input))
		return k.verify(hash, h[:], sig)
	case crypto.SHA384:
		h := sha512.Sum384([]byte(input))
		return k.verify(hash, h[:], sig)
	case crypto.SHA512:
		h := sha512.Sum512([]byte(input))
		return k.verify(hash, h[:], sig)
	}
	return errRSAVerification
}

// verify is rsa.VerifyPKCS1v15 for SHA-256, SHA-384 and SHA-512 with the
// precomputed modulus: the signature must be as long as the modulus and
// less than it, and sig^e mod N must be the whole expected encoding
// EM = 0x00 || 0x01 || 0xff... || 0x00 || DigestInfo || hashed.
func (k *rsaVerifier) verify(hash crypto.Hash, hashed, sig []byte) error {
	prefix := digestInfo(hash)
	if prefix == nil || len(hashed) != hash.Size() || len(sig) != k.size {
		return errRSAVerification
	}
	t := len(prefix) + len(hashed)
	if k.size < t+11 {
		return errRSAVerification
	}
	s, err := bigmod.NewNat().SetBytes(sig, k.m)
	if err != nil {
		return errRSAVerification
	}
	em := bigmod.NewNat().ExpShortVarTime(s, uint(k.e), k.m).Bytes(k.m)
	// Every byte is looked at, whatever the first difference.
	bad := em[0] | (em[1] ^ 0x01) | em[k.size-t-1]
	for _, b := range em[2 : k.size-t-1] {
		bad |= b ^ 0xff
	}
	ok := subtle.ConstantTimeByteEq(bad, 0) &
		subtle.ConstantTimeCompare(em[k.size-t:k.size-len(hashed)], prefix) &
		subtle.ConstantTimeCompare(em[k.size-len(hashed):], hashed)
	if ok != 1 {
		return errRSAVerification
	}
	return nil
}

// maxRSAVerifiers bounds a Validator's precomputed keys: more than the
// keys of any key set in use at once, and a rotation evicts.
const maxRSAVerifiers = 64

// rsaVerifiers holds the precomputed form of the RSA keys a Validator
// verifies with, by key pointer: the key sources hand out the same
// pointer for as long as the key set is unchanged. Lookups take no lock.
type rsaVerifiers struct {
	m     sync.Map // *rsa.PublicKey -> *rsaVerifier
	mu    sync.Mutex
	n     int // entries in m; under mu
	made  int // precomputations; under mu
	limit int
}

func newRSAVerifiers(limit int) *rsaVerifiers { return &rsaVerifiers{limit: limit} }

// get returns pub's precomputed form, making it on first use, or nil if
// pub is a key to leave to crypto/rsa (see newRSAVerifier). In FIPS 140-3
// mode every key is left to crypto/rsa, the validated module.
func (c *rsaVerifiers) get(pub *rsa.PublicKey) *rsaVerifier {
	if fips140.Enabled() {
		return nil
	}
	if e, ok := c.m.Load(pub); ok {
		if k := e.(*rsaVerifier); k.is(pub) {
			return k
		}
	}
	k, err := newRSAVerifier(pub)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.made++
	if _, loaded := c.m.Swap(pub, k); loaded {
		return k // the key was changed in place: its old form is replaced
	}
	c.n++
	if c.n > c.limit {
		c.m.Range(func(key, _ any) bool {
			if key == pub {
				return true
			}
			c.m.Delete(key)
			c.n--
			return false
		})
	}
	return k
}

// len returns the number of keys held and the number of precomputations
// made so far.
func (c *rsaVerifiers) len() (held, made int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, c.made
}
