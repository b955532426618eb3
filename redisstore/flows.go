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
	running bool
	stop    chan struct{}
	done    chan struct{}
}

var _ registrar.FlowRegistry = (*Flows)(nil)

// NewFlows uses client with keys under prefix, DefaultPrefix when empty.
func NewFlows(client redis.UniversalClient, prefix string) *Flows {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Flows{client: client, prefix: prefix, open: map[string]struct{}{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// Key is the key of the flow id, <prefix>flow:<id>.
func (f *Flows) Key(id string) string { return f.prefix + "flow:" + id }

func (f *Flows) ttl() time.Duration { return defaults.Positive(f.TTL, DefaultFlowTTL) }

// Up implements registrar.FlowRegistry.
func (f *Flows) Up(ctx context.Context, id string) error {
	f.mu.Lock()
	f.open[id] = struct{}{}
	if !f.running {
		f.running = true
		go f.renew()
	}
	f.mu.Unlock()
	return f.client.Set(ctx, f.Key(id), "1", f.ttl()).Err()
}

// Down implements registrar.FlowRegistry.
func (f *Flows) Down(ctx context.Context, id string) error {
	f.mu.Lock()
	delete(f.open, id)
	f.mu.Unlock()
	return f.client.Del(ctx, f.Key(id)).Err()
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

// renew sets the keys of this node's open flows again, every third of
// the TTL, until Close.
func (f *Flows) renew() {
	defer close(f.done)
	t := time.NewTicker(f.ttl() / 3)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		f.mu.Lock()
		ids := make([]string, 0, len(f.open))
		for id := range f.open {
			ids = append(ids, id)
		}
		f.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), f.ttl()/3)
		_, err := f.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, id := range ids {
				p.SetXX(ctx, f.Key(id), "1", f.ttl()) // not one Down deleted meanwhile
			}
			return nil
		})
		cancel()
		if err != nil {
			l := f.Logger
			if l == nil {
				l = slog.Default()
			}
			l.Warn("redisstore: renewing the open flows failed", "flows", len(ids), "error", err)
		}
	}
}

// Close stops the renewals; the keys expire with their TTL.
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
	return nil
}
