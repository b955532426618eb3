package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// watchAttempts bounds the optimistic retries of one update: past it
	// the key is too contended and the caller had better answer 500 than
	// wait.
	watchAttempts = 20
	// maxBackoff caps the pause between two attempts.
	maxBackoff = 64 * time.Millisecond
)

// watchRetry runs fn under WATCH key, again when another client changed
// the key before EXEC (see retry). Errors of fn are returned as they are.
func watchRetry(ctx context.Context, c redis.UniversalClient, locks *keyLocks, key string, fn func(*redis.Tx) error) error {
	return retry(ctx, locks, key, func() (bool, error) {
		err := c.Watch(ctx, fn, key)
		if errors.Is(err, redis.TxFailedErr) {
			return false, nil
		}
		return true, err
	})
}

// errContended is the cause of an update given up on: another client
// changed the key before each attempt could write.
var errContended = errors.New("changed by another client before the write")

// retry runs attempt until it reports done or fails, again when another
// client changed the key in between (done false), with a jittered
// exponential pause so that contending nodes spread out, at most
// watchAttempts times. It holds the local lock of key throughout.
func retry(ctx context.Context, locks *keyLocks, key string, attempt func() (done bool, err error)) error {
	unlock, err := locks.lock(ctx, key)
	if err != nil {
		return err
	}
	defer unlock()
	for n := 1; ; n++ {
		done, err := attempt()
		if done || err != nil {
			return err
		}
		if n == watchAttempts {
			return fmt.Errorf("redisstore: %q changed concurrently through %d attempts: %w", key, n, errContended)
		}
		pause := min(time.Millisecond<<(n-1), maxBackoff)
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
