package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/sipoauth"
)

// Revocations is a sipoauth.Revocation in Redis or Redis Cluster, so that
// a revocation made on one node holds on all. A revoked token id is the
// key <prefix>revoked:jti:<id>, which expires after the token would have;
// a user's cut-off is <prefix>revoked:user:<user> (the user as
// sipoauth.UserKey writes it), holding the unix time in nanoseconds before
// which the user's tokens are revoked, kept until deleted. Safe for
// concurrent use.
type Revocations struct {
	client redis.UniversalClient
	prefix string
	locks  keyLocks
	batch  batcher

	// Leeway is how long a revoked token id is kept past the token's
	// expiry, because validators accept tokens that long after it for
	// clock skew: it must be at least their Leeway.
	// sipoauth.DefaultLeeway when 0, none when negative.
	Leeway time.Duration
}

var _ sipoauth.Revocation = (*Revocations)(nil)

// NewRevocations uses client (a *redis.Client or *redis.ClusterClient)
// with keys under prefix, DefaultPrefix when empty.
func NewRevocations(client redis.UniversalClient, prefix string) *Revocations {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Revocations{client: client, prefix: prefix, batch: batcher{client: client}}
}

// TokenKey is the key that marks the token with this id revoked,
// <prefix>revoked:jti:<id>.
func (r *Revocations) TokenKey(id string) string { return r.prefix + "revoked:jti:" + id }

// UserKey is the key of a user's cut-off, <prefix>revoked:user:<user>
// with the user as sipoauth.UserKey writes it, so that revoking "bob"
// revokes the tokens of "BOB" (sipoauth.SameUser).
func (r *Revocations) UserKey(user string) string {
	return r.prefix + "revoked:user:" + sipoauth.UserKey(user)
}

func (r *Revocations) leeway() time.Duration {
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
func (r *Revocations) RevokeToken(ctx context.Context, tokenID string, expiry time.Time) error {
	if tokenID == "" {
		// Revoked never looks an empty id up: recording it would revoke
		// nothing while seeming to succeed.
		return errors.New("redisstore: cannot revoke a token without an id")
	}
	var ttl time.Duration
	if !expiry.IsZero() {
		if ttl = ttlUntil(expiry, r.leeway()); ttl <= 0 {
			return nil
		}
	}
	key := r.TokenKey(tokenID)
	if err := r.client.Set(ctx, key, "1", ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: revoking token at %q: %w", key, err)
	}
	return nil
}

// RevokeUser revokes every token of user issued before t. A later t
// replaces an earlier one and an earlier t is ignored, atomically even
// when nodes revoke the same user at once.
func (r *Revocations) RevokeUser(ctx context.Context, user string, t time.Time) error {
	key := r.UserKey(user)
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
// the two keys may lie in different cluster slots), shared with the other
// REGISTERs checked at the same time.
func (r *Revocations) Revoked(ctx context.Context, tokenID, user string, iat time.Time) (bool, error) {
	var byID *redis.IntCmd
	var cutCmd *redis.StringCmd
	userKey := r.UserKey(user)
	err := r.batch.do(ctx, func(p redis.Pipeliner) {
		if tokenID != "" {
			byID = p.Exists(ctx, r.TokenKey(tokenID))
		}
		cutCmd = p.GetRange(ctx, userKey, 0, maxCutoffLen)
	})
	if err == nil && byID != nil {
		err = byID.Err()
	}
	if err == nil {
		err = cutCmd.Err()
	}
	if err != nil {
		return false, fmt.Errorf("redisstore: reading revocations: %w", err)
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
		return 0, false, fmt.Errorf("redisstore: reading %q: %w", key, err)
	}
	return parseCutoff(key, v)
}

// parseCutoff reads the value v of the user key key: ok is false when it
// is empty (no such key).
func parseCutoff(key, v string) (int64, bool, error) {
	if v == "" {
		return 0, false, nil
	}
	cut, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("redisstore: value of %q is not a unix time in nanoseconds: %q", key, v)
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
