package redisstore

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/registrar"
)

// DefaultFlowTTL is how long a flow recorded by a node counts as open
// without the node renewing it: the node renews its open flows every
// third of it, so a node that dies takes its flows down with it within
// this time.
const DefaultFlowTTL = 90 * time.Second

// Flows is a registrar.FlowRegistry in Redis: the open flows of every
// node, so that a node that does not hold a client's connection can tell
// whether the client is reachable (on the node that holds it). An open
// flow is the key <prefix>flow:<id>, set by the node that holds it with a
// TTL it renews while the connection lives, deleted when it closes. Safe
// for concurrent use; Close stops the renewals.
type Flows struct {
	client redis.UniversalClient
	prefix string
	// TTL is the life of a flow's key between renewals; DefaultFlowTTL
	// when 0. Set it before the first Up.
	TTL time.Duration
	// Logger reports failed renewals; slog.Default when nil.
	Logger *slog.Logger

	mu      sync.Mutex
	open    map[string]struct{} // this node's, renewed
	down    []string            // closed, to delete
	running bool
	kick    chan struct{} // deletions wait
	stop    chan struct{}
	done    chan struct{}
}

// maxDownBatch bounds one pipeline of deletions; maxDownQueue the
// deletions that wait (beyond it the oldest are left to expire).
const (
	maxDownBatch = 1000
	maxDownQueue = 100_000
)

var _ registrar.FlowRegistry = (*Flows)(nil)

// NewFlows uses client with keys under prefix, DefaultPrefix when empty.
func NewFlows(client redis.UniversalClient, prefix string) *Flows {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Flows{client: client, prefix: prefix, open: map[string]struct{}{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Key is the key of the flow id, <prefix>flow:<id>.
func (f *Flows) Key(id string) string { return f.prefix + "flow:" + id }

func (f *Flows) ttl() time.Duration { return defaults.Positive(f.TTL, DefaultFlowTTL) }

// Up implements registrar.FlowRegistry.
func (f *Flows) Up(ctx context.Context, id string) error {
	f.mu.Lock()
	f.open[id] = struct{}{}
	f.startLocked()
	f.mu.Unlock()
	return f.client.Set(ctx, f.Key(id), "1", f.ttl()).Err()
}

func (f *Flows) startLocked() {
	if !f.running {
		f.running = true
		go f.run()
	}
}

// Down implements registrar.FlowRegistry. The key is deleted by the
// renewing goroutine, with the others that closed meanwhile, in one
// pipeline: thousands of clients dropping at once cost a few round trips,
// not a goroutine and a connection each.
func (f *Flows) Down(_ context.Context, id string) error {
	f.mu.Lock()
	delete(f.open, id)
	if len(f.down) >= maxDownQueue {
		f.down = f.down[1:] // it expires with its TTL
	}
	f.down = append(f.down, id)
	f.startLocked()
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
	return nil
}

// Alive implements registrar.FlowRegistry, with one round trip.
func (f *Flows) Alive(ctx context.Context, ids []string) (map[string]bool, error) {
	cmds := make([]*redis.IntCmd, len(ids))
	_, err := f.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Exists(ctx, f.Key(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for i, id := range ids {
		out[id] = cmds[i].Val() == 1
	}
	return out, nil
}

// run deletes the keys of the flows that closed as they come, and sets
// those of the open ones again every third of the TTL, until Close.
func (f *Flows) run() {
	defer close(f.done)
	t := time.NewTicker(f.ttl() / 3)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-f.kick:
			f.deleteDown()
		case <-t.C:
			f.renew()
		}
	}
}

// deleteDown deletes the keys of the flows that closed.
func (f *Flows) deleteDown() {
	for {
		f.mu.Lock()
		n := min(len(f.down), maxDownBatch)
		ids := f.down[:n:n]
		f.down = f.down[n:]
		f.mu.Unlock()
		if n == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.ttl()/3)
		_, err := f.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range ids {
				p.Del(ctx, f.Key(id))
			}
			return nil
		})
		cancel()
		if err != nil {
			f.logger().Warn("redisstore: deleting closed flows failed; they expire with their TTL", "flows", len(ids), "error", err)
		}
	}
}

func (f *Flows) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.Default()
}

// renew sets the keys of this node's open flows again.
func (f *Flows) renew() {
	f.mu.Lock()
	ids := make([]string, 0, len(f.open))
	for id := range f.open {
		ids = append(ids, id)
	}
	f.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.ttl()/3)
	defer cancel()
	_, err := f.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.SetXX(ctx, f.Key(id), "1", f.ttl()) // not one Down deleted meanwhile
		}
		return nil
	})
	if err != nil {
		f.logger().Warn("redisstore: renewing the open flows failed", "flows", len(ids), "error", err)
	}
}

// Close stops the renewals and deletes the keys of the flows that closed;
// those of the flows still open expire with their TTL (the node's
// connections close with it).
func (f *Flows) Close() error {
	f.mu.Lock()
	running := f.running
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.mu.Unlock()
	if running {
		<-f.done
	}
	f.deleteDown()
	return nil
}
