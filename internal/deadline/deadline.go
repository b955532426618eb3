package deadline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Context is a context.Context that ends at a deadline or with its
// parent. Its Done channel and the timer behind it are made on the first
// call to Done; until then Err compares the deadline with the clock.
// Release it when the work is over.
type Context struct {
	parent context.Context
	at     time.Time

	once     sync.Once
	inner    context.Context
	cancel   context.CancelFunc
	started  atomic.Pointer[context.Context] // inner, once Done made it
	released atomic.Bool
}

// canceled is the inner context of a Context released before anything
// waited on it.
var canceled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// New returns a Context of parent that ends d from now, or at parent's
// deadline when that is sooner.
func New(parent context.Context, d time.Duration) *Context {
	at := time.Now().Add(d)
	if pd, ok := parent.Deadline(); ok && pd.Before(at) {
		at = pd
	}
	return &Context{parent: parent, at: at}
}

// Deadline implements context.Context.
func (c *Context) Deadline() (time.Time, bool) { return c.at, true }

// Done implements context.Context: the first call starts the timer.
func (c *Context) Done() <-chan struct{} {
	c.once.Do(func() {
		c.inner, c.cancel = context.WithDeadline(c.parent, c.at)
		c.started.Store(&c.inner)
	})
	return c.inner.Done()
}

// Err implements context.Context. Once Done has been asked for, Err is
// that channel's: nil until it is closed.
func (c *Context) Err() error {
	if inner := c.started.Load(); inner != nil {
		return (*inner).Err()
	}
	if c.released.Load() {
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.at) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value implements context.Context. (context.Cause of a Context is its
// parent's: nil for a Context that ended at its own deadline.)
func (c *Context) Value(key any) any { return c.parent.Value(key) }

// Release stops the timer, if Done started one: the Context is then
// canceled (its parent is not).
func (c *Context) Release() {
	c.released.Store(true)
	c.once.Do(func() { c.inner = canceled }) // no timer from now on
	if c.cancel != nil {
		c.cancel()
	}
}
