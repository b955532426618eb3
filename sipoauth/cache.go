package sipoauth

import (
	"crypto/sha256"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// cache remembers validations by a hash of the token. Reads take no lock
// (sync.Map), so that registrations on every core scale; it is split in
// shards to keep each bounded. An entry holds the token's SHA-256 digest
// too: two tokens with one map hash are a miss, never a mix-up, and the
// entry does not keep the token (a kilobyte for Unified CM's) alive.
type cache struct {
	seed     maphash.Seed
	perShard int64
	shards   [cacheShards]cacheShard
}

const cacheShards = 16

type cacheShard struct {
	m  sync.Map // uint64 -> *cacheEntry
	n  atomic.Int64
	mu sync.Mutex // serializes writers, to keep n exact
}

// cacheEntry is the outcome of one validation: an identity or an error,
// which holds from from (inclusive) until until (exclusive), unix
// nanoseconds, for as long as the keys it was checked with (keys) are the
// keys. It is never modified once stored.
type cacheEntry struct {
	digest      [sha256.Size]byte // of the token
	id          *Identity
	err         error
	from, until int64
	keys        keyStamp
}

func newCache(size int) *cache {
	return &cache{seed: maphash.MakeSeed(), perShard: int64(max(1, size/cacheShards))}
}

// get returns what was remembered of token, if it holds at now.
func (c *cache) get(token string, now time.Time) *cacheEntry {
	h := maphash.String(c.seed, token)
	x, ok := c.shards[h%cacheShards].m.Load(h)
	if !ok {
		return nil
	}
	e := x.(*cacheEntry)
	if n := now.UnixNano(); n < e.from || n >= e.until || e.digest != digest(token) {
		return nil
	}
	return e
}

// digest is the SHA-256 of a token. It reads the string's bytes in place
// (sha256 only reads them) rather than copying them, which would cost a
// cache hit an allocation of the token's size.
func digest(token string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// put remembers e, the outcome for token. A full shard drops an arbitrary
// entry, which keeps the cost of a flood of distinct tokens constant.
func (c *cache) put(token string, e *cacheEntry) {
	e.digest = digest(token)
	h := maphash.String(c.seed, token)
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, loaded := s.m.Swap(h, e); loaded {
		return
	}
	if s.n.Add(1) > c.perShard {
		s.m.Range(func(k, _ any) bool {
			if k.(uint64) == h {
				return true
			}
			s.m.Delete(k)
			s.n.Add(-1)
			return false
		})
	}
}

// len returns the number of entries, for tests.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		n += int(c.shards[i].n.Load())
	}
	return n
}
