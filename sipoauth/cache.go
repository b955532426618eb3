package sipoauth

import (
	"hash/maphash"
	"sync"
	"time"
)

// cache remembers validations by a hash of the token, in shards so that
// concurrent registrations rarely share a lock. An entry holds the token
// itself too: two tokens with one hash are a miss, never a mix-up.
type cache struct {
	seed     maphash.Seed
	perShard int
	shards   [cacheShards]cacheShard
}

const cacheShards = 64

type cacheShard struct {
	mu sync.RWMutex
	m  map[uint64]*cacheEntry
	_  [32]byte // keep shards on separate cache lines
}

type cacheEntry struct {
	token   string
	id      *Identity
	err     error
	expires int64 // unix nanoseconds
}

func newCache(size int) *cache {
	c := &cache{seed: maphash.MakeSeed(), perShard: max(1, size/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]*cacheEntry)
	}
	return c
}

// get returns what was remembered of token, if it is still fresh.
func (c *cache) get(token string, now time.Time) (*Identity, error, bool) {
	h := maphash.String(c.seed, token)
	s := &c.shards[h%cacheShards]
	s.mu.RLock()
	e := s.m[h]
	s.mu.RUnlock()
	if e == nil || e.token != token || now.UnixNano() >= e.expires {
		return nil, nil, false
	}
	return e.id, e.err, true
}

// put remembers the outcome for token until expires. A full shard drops
// an arbitrary entry (Go's map order is random), which keeps the cost of
// a flood of distinct tokens constant.
func (c *cache) put(token string, id *Identity, err error, expires time.Time) {
	h := maphash.String(c.seed, token)
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[h]; !ok && len(s.m) >= c.perShard {
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[h] = &cacheEntry{token: token, id: id, err: err, expires: expires.UnixNano()}
}

// len returns the number of entries, for tests.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
