package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/registrar"
)

// DefaultPrefix is the key prefix of Bindings and Revocations when none is
// given.
const DefaultPrefix = "sipoauth:"

// maxValue bounds what is read from (and written to) one key, so that a
// corrupt or hostile value cannot make a node allocate without limit.
const maxValue = 1 << 20

// Bindings is a registrar.Store in Redis or Redis Cluster, for registrar
// nodes that share their bindings. Each AOR is one key holding the JSON
// array of its bindings (see the package documentation); an update reads
// it, applies registrar.Apply and writes it back only if it has not
// changed meanwhile (a compare-and-set script), retrying when another node
// wrote in between, so no update is lost and no removed binding comes back. The key expires with its last
// binding, so abandoned AORs clean themselves up. Safe for concurrent use.
//
// Updates of one AOR through one Bindings also queue in order behind a
// local lock: only the nodes then contend in Redis, not every REGISTER in
// flight, which would starve some of them through retries under a burst.
type Bindings struct {
	client redis.UniversalClient
	prefix string
	locks  keyLocks
	batch  batcher
}

var _ registrar.Store = (*Bindings)(nil)

// NewBindings uses client (a *redis.Client or *redis.ClusterClient) with
// keys under prefix, DefaultPrefix when empty.
func NewBindings(client redis.UniversalClient, prefix string) *Bindings {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Bindings{client: client, prefix: prefix, batch: batcher{client: client}}
}

// Key is the key holding the bindings of aor, <prefix>aor:{<aor>}: the
// braces make the AOR a Redis Cluster hash tag.
func (s *Bindings) Key(aor string) string { return s.prefix + "aor:{" + aor + "}" }

// Update implements registrar.Store. It returns registrar.ErrOutOfOrder
// and Apply's other refusals as they are, having written nothing, and an
// error when the AOR stayed contended through all attempts.
//
// It reads the AOR's value, applies the update, and writes the result
// with casScript only if the value is still the one read: two round
// trips, and a retry when another node wrote in between.
func (s *Bindings) Update(ctx context.Context, aor string, u registrar.Update) (registrar.Result, error) {
	key := s.Key(aor)
	var res registrar.Result
	err := retry(ctx, &s.locks, key, func() (bool, error) {
		var get *redis.StringCmd
		if err := s.batch.do(ctx, func(p redis.Pipeliner) { get = p.GetRange(ctx, key, 0, maxValue) }); err != nil {
			return false, fmt.Errorf("redisstore: reading %q: %w", key, err)
		}
		cur, err := get.Result()
		if err != nil {
			return false, fmt.Errorf("redisstore: reading %q: %w", key, err)
		}
		existing, err := decodeBindings(key, cur)
		if err != nil {
			return false, err
		}
		r, err := registrar.Apply(existing, u)
		if err != nil {
			return false, err
		}
		var val []byte
		var ttl time.Duration
		if len(r.Bindings) > 0 {
			if val, err = json.Marshal(r.Bindings); err != nil {
				return false, fmt.Errorf("redisstore: encoding bindings of %q: %w", key, err)
			}
			// Refused rather than written: a value over the read cap would
			// make the AOR unreadable.
			if len(val) > maxValue {
				return false, fmt.Errorf("redisstore: bindings of %q would take %d bytes, over %d", key, len(val), maxValue)
			}
			ttl = ttlUntil(latestExpiry(r.Bindings), 0)
		}
		if ttl <= 0 {
			// No binding left, or all already past by this node's clock:
			// the key goes.
			val = nil
		}
		written, err := s.compareAndSet(ctx, key, cur, val, ttl)
		if err != nil {
			return false, fmt.Errorf("redisstore: writing %q: %w", key, err)
		}
		if written == 0 {
			return false, nil // another node wrote first: again
		}
		res = r
		return true, nil
	})
	if err != nil {
		return registrar.Result{}, err
	}
	return res, nil
}

// compareAndSet runs casScript by its digest in the batch, and once more
// by its text when Redis does not know it (NOSCRIPT: first use, or a
// restarted or flushed server), which loads it.
func (s *Bindings) compareAndSet(ctx context.Context, key, cur string, val []byte, ttl time.Duration) (int, error) {
	keys, args := []string{key}, []any{cur, val, ttl.Milliseconds()}
	var cmd *redis.Cmd
	if err := s.batch.do(ctx, func(p redis.Pipeliner) { cmd = casScript.EvalSha(ctx, p, keys, args...) }); err != nil {
		return 0, err
	}
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		return casScript.Eval(ctx, s.client, keys, args...).Int()
	}
	return cmd.Int()
}

// casScript sets KEYS[1] to ARGV[2] for ARGV[3] milliseconds, or deletes
// it when ARGV[2] is empty, if and only if it still holds ARGV[1] (empty:
// no key): a compare-and-set in one round trip, atomic as every script
// is. It returns 1 when it wrote, 0 when the value had changed. One key,
// so Redis Cluster runs it on the AOR's slot.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then cur = '' end
if cur ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
	redis.call('DEL', KEYS[1])
else
	redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`)

// Lookup implements registrar.Store.
func (s *Bindings) Lookup(ctx context.Context, aor string) ([]registrar.Binding, error) {
	bs, err := readBindings(ctx, s.client, s.Key(aor))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []registrar.Binding
	for _, b := range bs {
		if now.Before(b.Expires) {
			out = append(out, b)
		}
	}
	return out, nil
}

// readBindings reads and decodes the bindings at key, none when it does not
// exist. GETRANGE rather than GET bounds what crosses the network.
func readBindings(ctx context.Context, c redis.Cmdable, key string) ([]registrar.Binding, error) {
	v, err := c.GetRange(ctx, key, 0, maxValue).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: reading %q: %w", key, err)
	}
	return decodeBindings(key, v)
}

// decodeBindings decodes the value v of key, as read by readBindings (at
// most one byte over maxValue, which marks it too long).
func decodeBindings(key, v string) ([]registrar.Binding, error) {
	if v == "" {
		return nil, nil
	}
	if len(v) > maxValue {
		return nil, fmt.Errorf("redisstore: value of %q is over %d bytes", key, maxValue)
	}
	var bs []registrar.Binding
	if err := json.Unmarshal([]byte(v), &bs); err != nil {
		return nil, fmt.Errorf("redisstore: decoding bindings of %q: %w", key, err)
	}
	return bs, nil
}

func latestExpiry(bs []registrar.Binding) time.Time {
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
