package redisstore

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
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
