package registrar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/sipoauth"
)

// DefaultRedisPrefix is the key prefix of RedisStore and RedisRevocation
// when none is given.
const DefaultRedisPrefix = "sipoauth:"

const (
	// maxRedisValue bounds what is read from (and written to) one key, so
	// that a corrupt or hostile value cannot make a node allocate without
	// limit.
	maxRedisValue = 1 << 20
	// watchAttempts bounds the optimistic retries of one update: past it
	// the key is too contended and the caller had better answer 500 than
	// wait.
	watchAttempts = 20
	// maxBackoff caps the pause between two attempts.
	maxBackoff = 64 * time.Millisecond
)

// RedisStore is a Store in Redis or Redis Cluster, for registrar nodes
// that share their bindings. Each AOR is one key holding the JSON array of
// its bindings; an update reads it under WATCH, applies Apply and writes
// it back in MULTI/EXEC, retrying when another node wrote in between, so
// no update is lost and no removed binding comes back. The key expires
// with its last binding, so abandoned AORs clean themselves up. Safe for
// concurrent use.
//
// Updates of one AOR through one RedisStore also queue in order behind a
// local lock: only the nodes then contend in Redis, not every REGISTER in
// flight, which would starve some of them through retries under a burst.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
	locks  keyLocks
}

// NewRedisStore uses client (a *redis.Client or *redis.ClusterClient) with
// keys under prefix, DefaultRedisPrefix when empty. An AOR's key is
// <prefix>aor:{<aor>}: the braces make the AOR a Redis Cluster hash tag.
func NewRedisStore(client redis.UniversalClient, prefix string) *RedisStore {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &RedisStore{client: client, prefix: prefix}
}

func (s *RedisStore) key(aor string) string { return s.prefix + "aor:{" + aor + "}" }

// Update implements Store. It returns ErrOutOfOrder as is, having written
// nothing, and an error when the AOR stayed contended through all
// attempts.
func (s *RedisStore) Update(ctx context.Context, aor string, u Update) (Result, error) {
	key := s.key(aor)
	var res Result
	err := watchRetry(ctx, s.client, &s.locks, key, func(tx *redis.Tx) error {
		existing, err := readBindings(ctx, tx, key)
		if err != nil {
			return err
		}
		r, err := Apply(existing, u)
		if err != nil {
			return err
		}
		var val []byte
		var ttl time.Duration
		if len(r.Bindings) > 0 {
			if val, err = json.Marshal(r.Bindings); err != nil {
				return fmt.Errorf("registrar: encoding bindings of %q: %w", key, err)
			}
			// Refused rather than written: a value over the read cap would
			// make the AOR unreadable.
			if len(val) > maxRedisValue {
				return fmt.Errorf("registrar: bindings of %q would take %d bytes, over %d", key, len(val), maxRedisValue)
			}
			ttl = ttlUntil(latestExpiry(r.Bindings), 0)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if ttl > 0 {
				p.Set(ctx, key, val, ttl)
			} else {
				// No binding left, or all already past by this node's clock.
				p.Del(ctx, key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		res = r
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// Lookup implements Store.
func (s *RedisStore) Lookup(ctx context.Context, aor string) ([]Binding, error) {
	bs, err := readBindings(ctx, s.client, s.key(aor))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []Binding
	for _, b := range bs {
		if now.Before(b.Expires) {
			out = append(out, b)
		}
	}
	return out, nil
}

// readBindings reads and decodes the bindings at key, none when it does not
// exist. GETRANGE rather than GET bounds what crosses the network.
func readBindings(ctx context.Context, c redis.Cmdable, key string) ([]Binding, error) {
	v, err := c.GetRange(ctx, key, 0, maxRedisValue).Result()
	if err != nil {
		return nil, fmt.Errorf("registrar: reading %q: %w", key, err)
	}
	if v == "" {
		return nil, nil
	}
	if len(v) > maxRedisValue {
		return nil, fmt.Errorf("registrar: value of %q is over %d bytes", key, maxRedisValue)
	}
	var bs []Binding
	if err := json.Unmarshal([]byte(v), &bs); err != nil {
		return nil, fmt.Errorf("registrar: decoding bindings of %q: %w", key, err)
	}
	return bs, nil
}

func latestExpiry(bs []Binding) time.Time {
	var t time.Time
	for _, b := range bs {
		if b.Expires.After(t) {
			t = b.Expires
		}
	}
	return t
}

// ttlUntil is the time to live of a key that must outlast t by extra,
// rounded up to Redis's millisecond; zero or less when that is already
// past. It is relative to this node's clock rather than an absolute PXAT
// because the nodes' clocks set the expiries and judge them: the clock of
// the Redis server, if it ran ahead, would drop live bindings early.
func ttlUntil(t time.Time, extra time.Duration) time.Duration {
	d := time.Until(t) + extra
	if d <= 0 {
		return d
	}
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// watchRetry runs fn under WATCH key, again when another client changed
// the key before EXEC, with a jittered exponential pause so that
// contending nodes spread out. It holds the local lock of key throughout.
// Errors of fn are returned as they are.
func watchRetry(ctx context.Context, c redis.UniversalClient, locks *keyLocks, key string, fn func(*redis.Tx) error) error {
	unlock, err := locks.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	for attempt := 1; ; attempt++ {
		err := c.Watch(ctx, fn, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
		if attempt == watchAttempts {
			return fmt.Errorf("registrar: %q changed concurrently through %d attempts: %w", key, attempt, err)
		}
		pause := min(time.Millisecond<<(attempt-1), maxBackoff)
		t := time.NewTimer(pause/2 + rand.N(pause/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// keyLocks are in-process locks by key, taken in the order asked (a
// channel's senders are served first come, first served). The zero value
// is ready to use; a key's entry lives only while someone holds or awaits
// it.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	held chan struct{} // holding its one slot holds the lock
	refs int           // holders and waiters, guarded by keyLocks.mu
}

// lock waits for the lock of key, or for ctx to end, and returns its
// release.
func (l *keyLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	k := l.m[key]
	if k == nil {
		if l.m == nil {
			l.m = map[string]*keyLock{}
		}
		k = &keyLock{held: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.refs++
	l.mu.Unlock()
	done := func() {
		l.mu.Lock()
		if k.refs--; k.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case k.held <- struct{}{}:
		return func() { <-k.held; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}

// RedisRevocation is a sipoauth.Revocation in Redis or Redis Cluster, so
// that a revocation made on one node holds on all. A revoked token id is
// the key <prefix>revoked:jti:<id>, which expires after the token would
// have; a user's cut-off is <prefix>revoked:user:<user> (the user as
// sipoauth.UserKey writes it), holding the unix time in nanoseconds before
// which the user's tokens are revoked, kept until deleted. Safe for concurrent use.
type RedisRevocation struct {
	client redis.UniversalClient
	prefix string
	locks  keyLocks

	// Leeway is how long a revoked token id is kept past the token's
	// expiry, because validators accept tokens that long after it for
	// clock skew: it must be at least their Leeway.
	// sipoauth.DefaultLeeway when 0, none when negative.
	Leeway time.Duration
}

var _ sipoauth.Revocation = (*RedisRevocation)(nil)

// NewRedisRevocation uses client (a *redis.Client or *redis.ClusterClient)
// with keys under prefix, DefaultRedisPrefix when empty.
func NewRedisRevocation(client redis.UniversalClient, prefix string) *RedisRevocation {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &RedisRevocation{client: client, prefix: prefix}
}

func (r *RedisRevocation) tokenKey(id string) string { return r.prefix + "revoked:jti:" + id }

// userKey is the key of a user's cut-off, by sipoauth.UserKey, so that
// revoking "bob" revokes the tokens of "BOB" (sipoauth.SameUser).
func (r *RedisRevocation) userKey(user string) string {
	return r.prefix + "revoked:user:" + sipoauth.UserKey(user)
}

func (r *RedisRevocation) leeway() time.Duration {
	switch {
	case r.Leeway == 0:
		return sipoauth.DefaultLeeway
	case r.Leeway < 0:
		return 0
	}
	return r.Leeway
}

// RevokeToken revokes the token with this id. expiry, if not zero, is when
// the token expires anyway: the revocation is dropped Leeway after it, and
// not recorded at all when that is past, since no validator would accept
// the token any more. A zero expiry keeps it until deleted.
func (r *RedisRevocation) RevokeToken(ctx context.Context, tokenID string, expiry time.Time) error {
	if tokenID == "" {
		// Revoked never looks an empty id up: recording it would revoke
		// nothing while seeming to succeed.
		return errors.New("registrar: cannot revoke a token without an id")
	}
	var ttl time.Duration
	if !expiry.IsZero() {
		if ttl = ttlUntil(expiry, r.leeway()); ttl <= 0 {
			return nil
		}
	}
	key := r.tokenKey(tokenID)
	if err := r.client.Set(ctx, key, "1", ttl).Err(); err != nil {
		return fmt.Errorf("registrar: revoking token at %q: %w", key, err)
	}
	return nil
}

// RevokeUser revokes every token of user issued before t. A later t
// replaces an earlier one and an earlier t is ignored, atomically even
// when nodes revoke the same user at once.
func (r *RedisRevocation) RevokeUser(ctx context.Context, user string, t time.Time) error {
	key := r.userKey(user)
	cut := unixNano(t)
	return watchRetry(ctx, r.client, &r.locks, key, func(tx *redis.Tx) error {
		cur, ok, err := readCutoff(ctx, tx, key)
		if err != nil || (ok && cur >= cut) {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, strconv.FormatInt(cut, 10), 0)
			return nil
		})
		return err
	})
}

// Revoked implements sipoauth.Revocation with the semantics of
// sipoauth.MemoryRevocation: a token without an id can be revoked only
// through its user; one without iat is revoked with its user. Both keys
// are read in one pipelined round trip (a pipeline rather than MGET since
// the two keys may lie in different cluster slots).
func (r *RedisRevocation) Revoked(ctx context.Context, tokenID, user string, iat time.Time) (bool, error) {
	var byID *redis.IntCmd
	var cutCmd *redis.StringCmd
	userKey := r.userKey(user)
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		if tokenID != "" {
			byID = p.Exists(ctx, r.tokenKey(tokenID))
		}
		cutCmd = p.GetRange(ctx, userKey, 0, maxCutoffLen)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("registrar: reading revocations: %w", err)
	}
	if byID != nil && byID.Val() > 0 {
		return true, nil
	}
	cut, ok, err := parseCutoff(userKey, cutCmd.Val())
	if err != nil || !ok {
		return false, err
	}
	return iat.IsZero() || unixNano(iat) < cut, nil
}

// maxCutoffLen is more than any int64 takes in decimal, so that a longer
// value reads as malformed rather than being cut to a valid-looking one.
const maxCutoffLen = 31

// readCutoff reads a user's cut-off; ok is false when there is none.
func readCutoff(ctx context.Context, c redis.Cmdable, key string) (cut int64, ok bool, err error) {
	v, err := c.GetRange(ctx, key, 0, maxCutoffLen).Result()
	if err != nil {
		return 0, false, fmt.Errorf("registrar: reading %q: %w", key, err)
	}
	return parseCutoff(key, v)
}

func parseCutoff(key, v string) (int64, bool, error) {
	if v == "" {
		return 0, false, nil
	}
	cut, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("registrar: value of %q is not a unix time in nanoseconds: %q", key, v)
	}
	return cut, true, nil
}

var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// unixNano is t.UnixNano clamped to int64, which t.UnixNano leaves
// undefined outside the years 1678-2262 (the zero time among them).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
