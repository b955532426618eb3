package sipoauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	bigKeysOnce                      sync.Once
	rsaKey3072, rsaKey4096, rsaKeyE3 *rsa.PrivateKey
	bigKeysErr                       error
)

// bigKeys makes the 3072- and 4096-bit keys, and a 2048-bit key whose
// public exponent is 3, once per test binary.
func bigKeys(t testing.TB) {
	t.Helper()
	testKeys(t)
	bigKeysOnce.Do(func() {
		if rsaKey3072, bigKeysErr = rsa.GenerateKey(rand.Reader, 3072); bigKeysErr != nil {
			return
		}
		if rsaKey4096, bigKeysErr = rsa.GenerateKey(rand.Reader, 4096); bigKeysErr != nil {
			return
		}
		rsaKeyE3, bigKeysErr = keyWithE3(2048)
	})
	if bigKeysErr != nil {
		t.Fatal(bigKeysErr)
	}
}

// keyWithE3 makes an RSA key of bits bits with e = 3, which
// rsa.GenerateKey does not make: both primes are 2 mod 3.
func keyWithE3(bits int) (*rsa.PrivateKey, error) {
	prime := func() (*big.Int, error) {
		for {
			p, err := rand.Prime(rand.Reader, bits/2)
			if err != nil {
				return nil, err
			}
			if new(big.Int).Mod(p, big.NewInt(3)).Int64() == 2 {
				return p, nil
			}
		}
	}
	for {
		p, err := prime()
		if err != nil {
			return nil, err
		}
		q, err := prime()
		if err != nil {
			return nil, err
		}
		n := new(big.Int).Mul(p, q)
		if p.Cmp(q) == 0 || n.BitLen() != bits {
			continue
		}
		one := big.NewInt(1)
		pm, qm := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		phi := new(big.Int).Mul(pm, qm)
		d := new(big.Int).ModInverse(big.NewInt(3), phi)
		if d == nil {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 3}, D: d, Primes: []*big.Int{p, q}}
		if err := k.Validate(); err != nil {
			return nil, err
		}
		k.Precompute()
		return k, nil
	}
}

// rawSign returns em^d mod N as a signature: any encoding, well-formed or
// not, signed with priv.
func rawSign(priv *rsa.PrivateKey, em []byte) []byte {
	s := new(big.Int).Exp(new(big.Int).SetBytes(em), priv.D, priv.N)
	return s.FillBytes(make([]byte, priv.Size()))
}

// emsa returns the EMSA-PKCS1-v1_5 encoding of hashed for a k-byte modulus.
func emsa(k int, hash crypto.Hash, hashed []byte) []byte {
	prefix := digestInfo(hash)
	em := make([]byte, k)
	em[1] = 1
	t := len(prefix) + len(hashed)
	for i := 2; i < k-t-1; i++ {
		em[i] = 0xff
	}
	copy(em[k-t:], prefix)
	copy(em[k-len(hashed):], hashed)
	return em
}

func hashOf(hash crypto.Hash, msg []byte) []byte {
	h := hash.New()
	h.Write(msg)
	return h.Sum(nil)
}

// agree checks that the precomputed verification and rsa.VerifyPKCS1v15
// say the same of sig, and that this is want.
func agree(t *testing.T, k *rsaVerifier, pub *rsa.PublicKey, hash crypto.Hash, hashed, sig []byte, want bool, what string) {
	t.Helper()
	stdErr := rsa.VerifyPKCS1v15(pub, hash, hashed, sig)
	ourErr := k.verify(hash, hashed, sig)
	if (stdErr == nil) != want || (ourErr == nil) != want {
		t.Errorf("%s: crypto/rsa says %v, precomputed says %v; want valid = %v", what, stdErr, ourErr, want)
	}
}

func TestRSAVerifyAgreesWithCryptoRSA(t *testing.T) {
	bigKeys(t)
	hashes := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
	for _, priv := range []*rsa.PrivateKey{rsaSmall, rsaKey, rsaKeyE3, rsaKey3072, rsaKey4096} {
		pub := &priv.PublicKey
		k, err := newRSAVerifier(pub)
		if err != nil {
			t.Fatal(err)
		}
		if k.size != pub.Size() {
			t.Fatalf("size %d, want %d", k.size, pub.Size())
		}
		for _, hash := range hashes {
			t.Run(fmt.Sprintf("%d-bit e=%d %v", pub.N.BitLen(), pub.E, hash), func(t *testing.T) {
				msg := []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0")
				hashed := hashOf(hash, msg)
				sig, err := rsa.SignPKCS1v15(nil, priv, hash, hashed)
				if err != nil {
					t.Fatal(err)
				}
				agree(t, k, pub, hash, hashed, sig, true, "valid")
				if err := k.verifyString(hash, string(msg), sig); err != nil {
					t.Errorf("verifyString: %v", err)
				}
				if !equalBytes(rawSign(priv, emsa(pub.Size(), hash, hashed)), sig) {
					t.Fatal("rawSign and emsa do not make crypto/rsa's signature")
				}
				for _, bit := range []int{0, 1, 7, 8, 100, len(sig)*4 + 3, len(sig)*8 - 9, len(sig)*8 - 1} {
					bad := append([]byte(nil), sig...)
					bad[bit/8] ^= 1 << (bit % 8)
					agree(t, k, pub, hash, hashed, bad, false, fmt.Sprintf("bit %d flipped", bit))
				}
				badHash := append([]byte(nil), hashed...)
				badHash[len(badHash)-1] ^= 1
				agree(t, k, pub, hash, badHash, sig, false, "other hash value")
				agree(t, k, pub, hash, hashOf(hash, []byte("another message")), sig, false, "another message")
				other, err := rsa.SignPKCS1v15(nil, priv, hash, hashOf(hash, []byte("another message")))
				if err != nil {
					t.Fatal(err)
				}
				agree(t, k, pub, hash, hashed, other, false, "signature of another message")
				for _, h2 := range hashes {
					if h2 != hash {
						agree(t, k, pub, h2, hashOf(h2, msg), sig, false, "verified as "+h2.String())
					}
				}
				// Wrong lengths: the value alone does not make a signature.
				agree(t, k, pub, hash, hashed, sig[:len(sig)-1], false, "one byte short")
				agree(t, k, pub, hash, hashed, append([]byte{0}, sig...), false, "leading zero added")
				agree(t, k, pub, hash, hashed, append(append([]byte(nil), sig...), 0), false, "trailing zero added")
				agree(t, k, pub, hash, hashed, nil, false, "empty")
				agree(t, k, pub, hash, hashed, hashed[:len(hashed)-1], false, "hash value one byte short")
				if err := k.verify(hash, hashed[:len(hashed)-1], sig); err == nil {
					t.Error("a short hash value verified")
				}
				// Values not less than N.
				n := pub.N.Bytes()
				nPlus := new(big.Int).Add(pub.N, big.NewInt(1)).FillBytes(make([]byte, len(sig)))
				ff := make([]byte, len(sig))
				for i := range ff {
					ff[i] = 0xff
				}
				agree(t, k, pub, hash, hashed, n, false, "N")
				agree(t, k, pub, hash, hashed, nPlus, false, "N+1")
				agree(t, k, pub, hash, hashed, ff, false, "all ones")
				agree(t, k, pub, hash, hashed, make([]byte, len(sig)), false, "zero")
				agree(t, k, pub, hash, hashed, big.NewInt(1).FillBytes(make([]byte, len(sig))), false, "one")
				// Well-signed encodings that are not the encoding: every byte counts.
				good := emsa(pub.Size(), hash, hashed)
				tLen := len(digestInfo(hash)) + len(hashed)
				for _, c := range []struct {
					what string
					at   int
					b    byte
				}{
					{"block type 2", 1, 0x02},
					{"block type 0", 1, 0x00},
					{"first padding byte", 2, 0xfe},
					{"middle padding byte", (pub.Size() - tLen) / 2, 0x00},
					{"last padding byte", pub.Size() - tLen - 2, 0xfe},
					{"separator", pub.Size() - tLen - 1, 0xff},
					{"DigestInfo length", pub.Size() - tLen + 1, 0x30},
					{"hash OID", pub.Size() - tLen + 14, 0x04},
					{"first hash byte", pub.Size() - len(hashed), good[pub.Size()-len(hashed)] ^ 0x80},
					{"last hash byte", pub.Size() - 1, good[pub.Size()-1] ^ 0x01},
				} {
					em := append([]byte(nil), good...)
					em[c.at] = c.b
					agree(t, k, pub, hash, hashed, rawSign(priv, em), false, c.what)
				}
			})
		}
	}
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

func TestNewRSAVerifierRefuses(t *testing.T) {
	testKeys(t)
	odd := func(bits int) *big.Int {
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		return n.Add(n, big.NewInt(0x1235))
	}
	n := rsaKey.N
	for _, c := range []struct {
		what string
		pub  *rsa.PublicKey
	}{
		{"nil key", nil},
		{"no modulus", &rsa.PublicKey{E: 65537}},
		{"even modulus", &rsa.PublicKey{N: new(big.Int).Add(n, big.NewInt(1)), E: 65537}},
		{"1023-bit modulus", &rsa.PublicKey{N: odd(1023), E: 65537}},
		{"512-bit modulus", &rsa.PublicKey{N: odd(512), E: 65537}},
		{"negative modulus", &rsa.PublicKey{N: new(big.Int).Neg(n), E: 65537}},
		{"e = 1", &rsa.PublicKey{N: n, E: 1}},
		{"e = 2", &rsa.PublicKey{N: n, E: 2}},
		{"e even", &rsa.PublicKey{N: n, E: 65536}},
		{"e negative", &rsa.PublicKey{N: n, E: -65537}},
		{"e = 2³¹+1", &rsa.PublicKey{N: n, E: 1<<31 + 1}},
	} {
		if _, err := newRSAVerifier(c.pub); err == nil {
			t.Errorf("%s: precomputed", c.what)
		}
		// crypto/rsa refuses them too (a negative N aside, which it takes
		// as |N|): the validator leaves them to it.
		if c.pub != nil && c.what != "negative modulus" {
			h := sha256.Sum256(nil)
			if err := rsa.VerifyPKCS1v15(c.pub, crypto.SHA256, h[:], make([]byte, 256)); err == nil || errors.Is(err, rsa.ErrVerification) {
				t.Errorf("%s: crypto/rsa says %v, want a refusal of the key", c.what, err)
			}
		}
	}
	if _, err := newRSAVerifier(&rsa.PublicKey{N: odd(1024), E: 3}); err != nil {
		t.Errorf("1024 bits, e = 3: %v", err)
	}
}

// TestValidatorRSAKeysPrecomputedOnce checks that the validator makes one
// precomputation per key and reuses it for every RSA algorithm.
func TestValidatorRSAKeysPrecomputedOnce(t *testing.T) {
	v := newValidator(t, nil)
	ctx := context.Background()
	hdr := map[string]any{"kid": "k1", "typ": "at+jwt"}
	for range 3 {
		for _, m := range []jwt.SigningMethod{jwt.SigningMethodRS256, jwt.SigningMethodRS384, jwt.SigningMethodRS512} {
			if _, err := v.Validate(ctx, sign(t, m, rsaKey, hdr, claims())); err != nil {
				t.Fatalf("%s: %v", m.Alg(), err)
			}
		}
		// The nested token's kid names the same key.
		if _, err := v.Validate(ctx, cucm(t, seal(t, encKey, "enc1", claims()))); err != nil {
			t.Fatal(err)
		}
	}
	if held, made := v.rsaKeys.len(); held != 1 || made != 1 {
		t.Errorf("%d keys held, %d precomputations; want 1 and 1", held, made)
	}
	// A bad signature under the same key is refused, with no new work.
	tok := rs256(t, claims())
	if _, err := v.Validate(ctx, withPart(tok, 2, flipLast(t, part(tok, 2)))); !errors.Is(err, ErrBadSignature) {
		t.Errorf("flipped signature: %v", err)
	}
	// PS256 and ES256 do not go through it.
	if _, err := v.Validate(ctx, sign(t, jwt.SigningMethodPS256, rsaKey, hdr, claims())); err != nil {
		t.Errorf("PS256: %v", err)
	}
	if _, err := v.Validate(ctx, sign(t, jwt.SigningMethodES256, ecKey256, map[string]any{"kid": "ec256"}, claims())); err != nil {
		t.Errorf("ES256: %v", err)
	}
	if held, made := v.rsaKeys.len(); held != 1 || made != 1 {
		t.Errorf("%d keys held, %d precomputations; want 1 and 1", held, made)
	}
}

// flipLast returns the base64url segment s with the last bit of its last
// whole byte flipped, still in canonical spelling.
func flipLast(t *testing.T, s string) string {
	t.Helper()
	b, err := decodeSegment(s)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestValidatorRSAKeySizesUnchanged checks that keys the precomputation
// leaves alone keep their old outcome: a KeySource of one's own may hand
// out a 1024-bit key (crypto/rsa verifies with it), not a 512-bit one.
func TestValidatorRSAKeySizesUnchanged(t *testing.T) {
	testKeys(t)
	small, err := keyWithE3(512)
	if err != nil {
		t.Fatal(err)
	}
	keys := newMapKeys(map[string]crypto.PublicKey{"k1024": &rsaSmall.PublicKey, "k512": &small.PublicKey})
	v, err := New(Config{Keys: keys, Now: func() time.Time { return testNow }, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Validate(ctx, sign(t, jwt.SigningMethodRS256, rsaSmall, map[string]any{"kid": "k1024"}, claims())); err != nil {
		t.Errorf("1024-bit key: %v", err)
	}
	// rsa.SignPKCS1v15 refuses a 512-bit key; sign it by hand.
	e := base64.RawURLEncoding.EncodeToString
	input := e([]byte(`{"alg":"RS256","kid":"k512"}`)) + "." + e([]byte(jsonOf(claims(), "")))
	h := sha256.Sum256([]byte(input))
	tok := input + "." + e(rawSign(small, emsa(small.Size(), crypto.SHA256, h[:])))
	// The same token verifies under crypto/rsa's rules but for the size.
	if err := rsa.VerifyPKCS1v15(&small.PublicKey, crypto.SHA256, h[:], rawSign(small, emsa(small.Size(), crypto.SHA256, h[:]))); err == nil || errors.Is(err, rsa.ErrVerification) {
		t.Fatalf("crypto/rsa with a 512-bit key: %v, want a refusal of the key", err)
	}
	if _, err := v.Validate(ctx, tok); !errors.Is(err, ErrBadSignature) {
		t.Errorf("512-bit key: %v, want %v", err, ErrBadSignature)
	}
	if held, made := v.rsaKeys.len(); held != 1 || made != 1 {
		t.Errorf("%d keys held, %d precomputations; want 1 and 1", held, made)
	}
}

func TestRSAVerifiersBounded(t *testing.T) {
	testKeys(t)
	c := newRSAVerifiers(maxRSAVerifiers)
	keys := make([]*rsa.PublicKey, 3*maxRSAVerifiers)
	for i := range keys {
		// Distinct pointers, as a key source makes on every rotation.
		keys[i] = &rsa.PublicKey{N: rsaKey.N, E: rsaKey.E}
		if c.get(keys[i]) == nil {
			t.Fatal("not precomputed")
		}
		if held, made := c.len(); held != min(i+1, maxRSAVerifiers) || made != i+1 {
			t.Fatalf("after %d keys: %d held, %d precomputations", i+1, held, made)
		}
		// The key just added is never the one evicted.
		if _, ok := c.m.Load(keys[i]); !ok {
			t.Fatalf("key %d evicted on arrival", i)
		}
	}
	n := 0
	c.m.Range(func(any, any) bool { n++; return true })
	if n != maxRSAVerifiers {
		t.Errorf("%d entries, want %d", n, maxRSAVerifiers)
	}
	// The same key again is a lookup.
	last := keys[len(keys)-1]
	k := c.get(last)
	if c.get(last) != k {
		t.Error("a second precomputation of one key")
	}
	if _, made := c.len(); made != len(keys) {
		t.Errorf("%d precomputations, want %d", made, len(keys))
	}
}

// TestRSAVerifiersKeyChangedInPlace checks that a key whose N or E is
// changed behind the same pointer is precomputed again.
func TestRSAVerifiersKeyChangedInPlace(t *testing.T) {
	testKeys(t)
	c := newRSAVerifiers(maxRSAVerifiers)
	pub := &rsa.PublicKey{N: new(big.Int).Set(rsaKey.N), E: rsaKey.E}
	h := sha256.Sum256([]byte("x"))
	sig1, _ := rsa.SignPKCS1v15(nil, rsaKey, crypto.SHA256, h[:])
	sig2, _ := rsa.SignPKCS1v15(nil, rsaKey2, crypto.SHA256, h[:])
	if err := c.get(pub).verify(crypto.SHA256, h[:], sig1); err != nil {
		t.Fatal(err)
	}
	pub.N.Set(rsaKey2.N)
	if err := c.get(pub).verify(crypto.SHA256, h[:], sig1); err == nil {
		t.Error("the old key's signature verified with the new key")
	}
	if err := c.get(pub).verify(crypto.SHA256, h[:], sig2); err != nil {
		t.Errorf("new key: %v", err)
	}
	if held, made := c.len(); held != 1 || made != 2 {
		t.Errorf("%d held, %d precomputations; want 1 and 2", held, made)
	}
}

// TestRSAVerifiersConcurrent verifies from many goroutines while keys come
// and go; run with -race.
func TestRSAVerifiersConcurrent(t *testing.T) {
	testKeys(t)
	c := newRSAVerifiers(4)
	h := sha256.Sum256([]byte("x"))
	sig, _ := rsa.SignPKCS1v15(nil, rsaKey, crypto.SHA256, h[:])
	keys := make([]*rsa.PublicKey, 8)
	for i := range keys {
		keys[i] = &rsa.PublicKey{N: rsaKey.N, E: rsaKey.E}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if err := c.get(keys[(g+i)%len(keys)]).verify(crypto.SHA256, h[:], sig); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if held, _ := c.len(); held > 4 {
		t.Errorf("%d held, limit 4", held)
	}
}

// FuzzRSAVerify checks that the precomputed verification says what
// rsa.VerifyPKCS1v15 says of any signature bytes, for any message and
// each hash, with a 2048- and a 1024-bit key.
func FuzzRSAVerify(f *testing.F) {
	testKeys(f)
	privs := []*rsa.PrivateKey{rsaKey, rsaSmall}
	hashes := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
	verifiers := make([]*rsaVerifier, len(privs))
	for i, p := range privs {
		k, err := newRSAVerifier(&p.PublicKey)
		if err != nil {
			f.Fatal(err)
		}
		verifiers[i] = k
	}
	msg := []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0")
	for ki, p := range privs {
		for hi, hash := range hashes {
			sig, err := rsa.SignPKCS1v15(nil, p, hash, hashOf(hash, msg))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(ki), uint8(hi), msg, sig)
			flipped := append([]byte(nil), sig...)
			flipped[len(flipped)/2] ^= 0x10
			f.Add(uint8(ki), uint8(hi), msg, flipped)
			f.Add(uint8(ki), uint8(hi), []byte("another message"), sig)
			f.Add(uint8(ki), uint8(hi+1), msg, sig)
			f.Add(uint8(ki), uint8(hi), msg, sig[1:])
			f.Add(uint8(ki), uint8(hi), msg, p.N.Bytes())
		}
	}
	f.Add(uint8(0), uint8(0), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, key, hashSel uint8, msg, sig []byte) {
		i := int(key) % len(privs)
		hash := hashes[int(hashSel)%len(hashes)]
		hashed := hashOf(hash, msg)
		stdErr := rsa.VerifyPKCS1v15(&privs[i].PublicKey, hash, hashed, sig)
		ourErr := verifiers[i].verify(hash, hashed, sig)
		if (stdErr == nil) != (ourErr == nil) {
			t.Fatalf("crypto/rsa says %v, precomputed says %v", stdErr, ourErr)
		}
		if (verifiers[i].verifyString(hash, string(msg), sig) == nil) != (stdErr == nil) {
			t.Fatalf("verifyString disagrees with crypto/rsa (%v)", stdErr)
		}
	})
}
