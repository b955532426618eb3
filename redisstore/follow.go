package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultResync is how often a mirror reads its whole state again even
// when no change was announced, in case an announcement was lost on the
// way (Redis does not keep pub/sub messages for a subscriber away).
const DefaultResync = time.Minute

// follower keeps a local copy of one part of the shared state fresh. It
// subscribes to the part's channel, on which a node announces each change
// it wrote; it reads the whole state again whenever the subscription is
// made (at start and after every reconnection, when announcements may
// have been missed) and every resync, and applies each announcement as
// it comes.
type follower struct {
	client  redis.UniversalClient
	channel string
	resync  time.Duration
	// reload reads the whole state; changed applies one announcement.
	reload  func(ctx context.Context) error
	changed func(ctx context.Context, payload string) error
	// failed, if set, is told of each failed read (nil when one
	// succeeds after failures), so that the owner can report it.
	failed func(error)
}

// errNoSubscription: the subscription ended without an error of its own.
var errNoSubscription = errors.New("redisstore: subscription closed")

// run follows the channel until ctx ends, when it returns ctx.Err().
// Failures are told to f.failed and retried, a second and a half apart
// at most: a mirror never gives up while its node runs.
func (f *follower) run(ctx context.Context) error {
	resync := f.resync
	if resync <= 0 {
		resync = DefaultResync
	}
	for ctx.Err() == nil {
		err := f.follow(ctx, resync)
		if ctx.Err() != nil {
			break
		}
		f.report(err)
		pause(ctx, time.Second/2+rand.N(time.Second))
	}
	return ctx.Err()
}

// follow subscribes, reads the whole state and applies announcements until
// the subscription fails or ctx ends.
func (f *follower) follow(ctx context.Context, resync time.Duration) error {
	ps := f.client.Subscribe(ctx, f.channel)
	defer ps.Close()
	// go-redis subscribes again by itself when its connection is lost;
	// each confirmation comes through Receive, and is the moment to read
	// the whole state again.
	tick := time.NewTicker(resync)
	defer tick.Stop()
	msgs := make(chan any, 64)
	errs := make(chan error, 1)
	go func() {
		for {
			m, err := ps.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, redis.ErrClosed) {
					// A failed read: go-redis reconnects on the next one,
					// and says so with a new confirmation.
					select {
					case errs <- err:
					default:
					}
					if pause(ctx, 100*time.Millisecond) {
						continue
					}
				}
				close(msgs)
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				close(msgs)
				return
			}
		}
	}()
	// A read that failed is tried again a second later.
	var retry <-chan time.Time
	load := func(err error) {
		f.report(err)
		retry = nil
		if err != nil {
			retry = time.After(time.Second)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errs:
			f.report(err)
		case <-tick.C:
			load(f.reload(ctx))
		case <-retry:
			load(f.reload(ctx))
		case m, ok := <-msgs:
			if !ok {
				return errNoSubscription
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					load(f.reload(ctx))
				}
			case *redis.Message:
				load(f.changed(ctx, m.Payload))
			}
		}
	}
}

func (f *follower) report(err error) {
	if f.failed != nil {
		f.failed(err)
	}
}

// pause waits d or until ctx ends; false if ctx ended.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// health is the last failure of a mirror: nil when its last read
// succeeded.
type health struct{ last atomic.Pointer[error] }

// set records the outcome of a read, and tells notify (if set) when the
// mirror starts failing and when it stops.
func (h *health) set(err error, notify func(error)) {
	var was *error
	if err == nil {
		was = h.last.Swap(nil)
	} else {
		was = h.last.Swap(&err)
	}
	if notify != nil && (was == nil) != (err == nil) {
		notify(err)
	}
}

func (h *health) err() error {
	if p := h.last.Load(); p != nil {
		return *p
	}
	return nil
}

// mirrorState is what a copy of the shared state (EdgeTable, Switch,
// Devices) tells of itself: whether it was read, and the last failure.
type mirrorState struct {
	loaded atomic.Bool
	state  health
}

// Ready reports whether the state was read from Redis at least once.
func (m *mirrorState) Ready() bool { return m.loaded.Load() }

// Err is the last failure to read the state or follow its changes, nil
// once a read succeeded after it.
func (m *mirrorState) Err() error { return m.state.err() }

// follow keeps a copy fresh until ctx ends (see follower), telling
// onError when reading starts to fail and when it works again.
func (m *mirrorState) follow(ctx context.Context, client redis.UniversalClient, channel string, resync time.Duration,
	reload func(context.Context) error, changed func(context.Context, string) error, onError func(error)) error {
	f := follower{client: client, channel: channel, resync: resync, reload: reload, changed: changed,
		failed: func(err error) { m.state.set(err, onError) }}
	return f.run(ctx)
}
