package client

import (
	"context"
	"errors"
	"slices"
	"time"
)

// maxRetryAfter bounds how long Run honours a Retry-After.
const maxRetryAfter = time.Hour

// closeTimeout bounds the unregistration and the delivery of the last
// events in Close.
const closeTimeout = 5 * time.Second

// errRunning: Run was called while it runs.
var errRunning = errors.New("client: Run is already running")

// Run registers and keeps the device registered until ctx ends or Close is
// called, when it returns ctx.Err() or ErrClosed. It does not unregister:
// Close does.
//
// It registers again RegisterDelta before the granted time runs out (never
// sooner than half of it), at once when the connection is lost, after the
// Retry-After of a port mismatch, and after a bounded exponential backoff
// (MinBackoff doubling up to MaxBackoff) when every target failed or the
// registrar refused. It gives up, returning the error, when the token is
// refused and no other can be had (ErrTokenRefused) or the token endpoint
// refuses to issue one (*RetrieveError with a 4xx status).
func (c *Client) Run(ctx context.Context) error {
	c.runMu.Lock()
	if c.closeCtx.Err() != nil {
		c.runMu.Unlock()
		return ErrClosed
	}
	if c.runDone != nil {
		c.runMu.Unlock()
		return errRunning
	}
	done := make(chan struct{})
	c.runDone = done
	c.runMu.Unlock()
	defer func() {
		c.runMu.Lock()
		c.runDone = nil
		c.runMu.Unlock()
		close(done)
	}()
	ctx, cancel := c.ctxWithClose(ctx)
	defer cancel()

	// A binding Register made is kept until it is due for renewal.
	c.mu.Lock()
	last, lost := c.last, c.lostChan()
	c.mu.Unlock()
	if last.Status != 0 {
		c.sleep(ctx, c.refreshWait(last), lost)
	}

	backoff := c.s.MinBackoff
	for {
		if ctx.Err() != nil {
			break
		}
		reg, err := c.Register(ctx)
		if ctx.Err() != nil {
			break
		}
		var wait time.Duration
		lost = nil
		var pm *PortMismatchError
		var re *RetrieveError
		switch {
		case err == nil:
			backoff = c.s.MinBackoff
			wait = c.refreshWait(reg)
			if fb, ok := c.failbackWait(time.Now()); ok && fb < wait {
				wait = fb
			}
			c.mu.Lock()
			lost = c.lostChan()
			c.mu.Unlock()
		case errors.Is(err, ErrTokenRefused), errors.Is(err, ErrNoToken),
			errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < 500:
			c.log.Error("client: giving up", "error", err)
			return err
		case errors.As(err, &pm) && pm.RetryAfter > 0:
			wait = min(pm.RetryAfter, maxRetryAfter)
		default:
			wait = backoff
			backoff = min(2*backoff, c.s.MaxBackoff)
			// Every target asked for time (503 with Retry-After): not
			// before the first may be asked again.
			if ra, ok := c.deferredWait(time.Now()); ok && ra > wait {
				wait = ra
			}
		}
		if err != nil {
			c.log.Info("client: registering again later", "in", wait)
		}
		c.sleep(ctx, wait, lost)
	}
	if c.closeCtx.Err() != nil {
		return ErrClosed
	}
	return ctx.Err()
}

// lostChan is closed when the current connection is lost; nil when there
// is none. c.mu must be held.
func (c *Client) lostChan() <-chan struct{} {
	if c.conn == nil {
		return nil
	}
	return c.conn.done
}

// sleep waits for d, the loss of the connection, or the end of ctx.
func (c *Client) sleep(ctx context.Context, d time.Duration, lost <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-lost:
		c.log.Warn("client: connection lost, registering again")
	case <-ctx.Done():
	}
}

// refreshWait is how long to wait before registering again: RegisterDelta
// before the granted time ends, but never less than half of it nor
// MinRefreshInterval.
func (c *Client) refreshWait(reg Registration) time.Duration {
	c.mu.Lock()
	delta := c.delta
	c.mu.Unlock()
	g := reg.Expires
	w := max(g-delta, g/2, MinRefreshInterval)
	return max(time.Until(reg.At.Add(w)), 0)
}

// Unregister removes the binding: a REGISTER with Expires: 0 and the same
// Contact, with the token. It does nothing when there is no binding.
func (c *Client) Unregister(ctx context.Context) (Registration, error) {
	ctx, cancel := c.ctxWithClose(ctx)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unregister(ctx)
}

func (c *Client) unregister(ctx context.Context) (Registration, error) {
	if c.dlg == nil || !c.dlg.registered {
		return Registration{}, nil
	}
	t := c.dlg.target
	c.last = Registration{}
	if c.conn == nil || !c.conn.alive() {
		// The binding outlives its connection: remove it, with the Contact
		// it was made with, over a new one.
		conn, err := dial(ctx, &c.s, t)
		if err != nil {
			c.log.Warn("client: unregistration failed", "target", t.String(), "error", err)
			c.emit(Event{Kind: EventFailed, Target: t, Err: err})
			return Registration{Target: t}, err
		}
		c.conn = conn
	}
	reg, err := c.exchange(ctx, 0)
	if err != nil {
		c.log.Warn("client: unregistration failed", "target", t.String(), "error", err)
		c.emit(Event{Kind: EventFailed, Target: t, Status: reg.Status, Err: err})
		return reg, err
	}
	c.log.Info("client: unregistered", "target", t.String())
	c.emit(Event{Kind: EventUnregistered, Target: t, Status: reg.Status})
	return reg, nil
}

// Close stops Run, unregisters the binding if there is one, closes the
// connection, and delivers the last events. It waits at most a few seconds
// for the registrar and for OnEvent. Later calls return the first call's
// result.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closeCancel()
		c.runMu.Lock()
		done := c.runDone
		c.runMu.Unlock()
		if done != nil {
			<-done
		}

		c.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), min(closeTimeout, c.s.RequestTimeout))
		_, c.closeErr = c.unregister(ctx)
		cancel()
		if c.conn != nil {
			c.conn.close(ErrClosed)
			c.conn = nil
		}
		c.mu.Unlock()

		c.evMu.Lock()
		c.evClosed = true
		close(c.events)
		c.evMu.Unlock()
		t := time.NewTimer(closeTimeout)
		defer t.Stop()
		select {
		case <-c.evDone:
		case <-t.C:
			c.log.Warn("client: OnEvent did not return; closing without it")
		}
	})
	return c.closeErr
}

// order is the targets in priority order, those passed over after a
// failure last (soonest tried again first), without those whose
// Retry-After has not passed. c.mu must be held.
func (c *Client) order(now time.Time) []Target {
	var ready, passed []Target
	for _, t := range c.targets {
		if until, ok := c.notBefore[dialogKey(t)]; ok && now.Before(until) {
			continue
		}
		if until, ok := c.passedOver[dialogKey(t)]; ok && now.Before(until) {
			passed = append(passed, t)
		} else {
			ready = append(ready, t)
		}
	}
	slices.SortStableFunc(passed, func(a, b Target) int {
		return c.passedOver[dialogKey(a)].Compare(c.passedOver[dialogKey(b)])
	})
	return append(ready, passed...)
}

// noteOutcome passes a target over for Failback after it failed (for a
// 503's Retry-After when longer), and forgets that once it works. c.mu
// must be held.
func (c *Client) noteOutcome(t Target, err error) {
	key := dialogKey(t)
	var te *TargetError
	switch {
	case err == nil:
		delete(c.passedOver, key)
		delete(c.notBefore, key)
	case errors.As(err, &te):
		now := time.Now()
		if c.passedOver == nil {
			c.passedOver, c.notBefore = map[string]time.Time{}, map[string]time.Time{}
		}
		c.passedOver[key] = now.Add(max(c.s.Failback, min(te.RetryAfter, maxRetryAfter)))
		if te.RetryAfter > 0 {
			c.notBefore[key] = now.Add(min(te.RetryAfter, maxRetryAfter))
		}
	}
}

// deferredWait is how long until the first target whose Retry-After
// keeps it from being tried may be tried, when every target is kept so.
func (c *Client) deferredWait(now time.Time) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first time.Time
	for _, t := range c.targets {
		until, ok := c.notBefore[dialogKey(t)]
		if !ok || !now.Before(until) {
			return 0, false
		}
		if first.IsZero() || until.Before(first) {
			first = until
		}
	}
	return first.Sub(now), !first.IsZero()
}

// failbackWait is how long until a target of higher priority than the one
// registered on is no longer passed over, when there is one.
func (c *Client) failbackWait(now time.Time) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dlg == nil || !c.dlg.registered {
		return 0, false
	}
	for _, t := range c.targets {
		key := dialogKey(t)
		if key == c.dlg.node {
			return 0, false // registered on the first that is up
		}
		if until, ok := c.passedOver[key]; ok {
			return max(until.Sub(now), MinRefreshInterval), true
		}
	}
	return 0, false
}
