package redisstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
)

// DefaultMonitorInterval is how often a Monitor pings Redis.
const DefaultMonitorInterval = time.Second

// Monitor tells whether Redis answers, by pinging it every Interval, and
// reports each change of state once (OnChange): a node's log then says
// "Redis unreachable" when an outage starts and "Redis reachable" when it
// ends, rather than a line per REGISTER refused meanwhile. Up feeds a
// gauge and the node's readiness.
type Monitor struct {
	client redis.UniversalClient
	up     atomic.Bool
	known  atomic.Bool

	// Interval is the time between two pings, DefaultMonitorInterval when
	// 0; a ping that takes longer than it fails.
	Interval time.Duration
	// OnChange, if set, is called on the first ping's outcome and on each
	// change after it, with the error of the ping that failed (nil when
	// Redis answers again).
	OnChange func(up bool, err error)
}

// NewMonitor watches the Redis of client.
func NewMonitor(client redis.UniversalClient) *Monitor { return &Monitor{client: client} }

// Up reports whether the last ping was answered; false before the first.
func (m *Monitor) Up() bool { return m.up.Load() }

// Check pings Redis once and records the outcome.
func (m *Monitor) Check(parent context.Context) bool {
	ctx, cancel := context.WithTimeout(parent, m.interval())
	err := m.client.Ping(ctx).Err()
	cancel()
	if parent.Err() != nil {
		return m.up.Load() // the node is stopping: not an outage
	}
	up := err == nil
	was := m.up.Swap(up)
	if first := !m.known.Swap(true); (first || was != up) && m.OnChange != nil {
		m.OnChange(up, err)
	}
	return up
}

// Run pings Redis every Interval until ctx ends, when it returns
// ctx.Err().
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval())
	defer t.Stop()
	for {
		m.Check(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (m *Monitor) interval() time.Duration {
	if m.Interval > 0 {
		return m.Interval
	}
	return DefaultMonitorInterval
}

// ErrDown is what the stores a Monitor guards return at once while Redis
// does not answer its pings.
var ErrDown = errors.New("redisstore: Redis does not answer (the monitor's last ping failed)")

// down reports whether the last ping failed (false before the first).
func (m *Monitor) down() bool { return m.known.Load() && !m.up.Load() }

// GuardStore returns s failing at once with ErrDown while the monitor's
// last ping failed, instead of each REGISTER waiting on a Redis that is
// away (a connection refused after go-redis's dial retries, or a hung
// server until the REGISTER's deadline): the registrar answers 503 with
// Retry-After without delay. The monitor's next ping that succeeds lets
// requests through again.
func (m *Monitor) GuardStore(s registrar.Store) registrar.Store { return guardedStore{s, m} }

// GuardRevocation is GuardStore for a revocation list: while Redis is
// away, Revoked fails at once (the validation then fails as unavailable,
// never as "not revoked").
func (m *Monitor) GuardRevocation(r sipoauth.Revocation) sipoauth.Revocation {
	return guardedRevocation{r, m}
}

type guardedStore struct {
	registrar.Store
	m *Monitor
}

func (g guardedStore) Update(ctx context.Context, aor string, u registrar.Update) (registrar.Result, error) {
	if g.m.down() {
		return registrar.Result{}, ErrDown
	}
	return g.Store.Update(ctx, aor, u)
}

func (g guardedStore) Lookup(ctx context.Context, aor string) ([]registrar.Binding, error) {
	if g.m.down() {
		return nil, ErrDown
	}
	return g.Store.Lookup(ctx, aor)
}

type guardedRevocation struct {
	sipoauth.Revocation
	m *Monitor
}

func (g guardedRevocation) Revoked(ctx context.Context, tokenID, user string, iat time.Time) (bool, error) {
	if g.m.down() {
		return false, ErrDown
	}
	return g.Revocation.Revoked(ctx, tokenID, user, iat)
}
