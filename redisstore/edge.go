package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/edgetable"
)

// maxEdgeEntry bounds one edge-proxy entry read from Redis: an entry is a
// host name and a few certificate names.
const maxEdgeEntry = 64 << 10

// maxEdgeEntries bounds the entries read: a cluster has a few Expressways.
const maxEdgeEntries = 10_000

// DefaultWriteTimeout bounds a write made through an interface without a
// context (edgetable.Table's Put and Remove).
const DefaultWriteTimeout = 5 * time.Second

// EdgeTable is an edgetable.Table shared by the nodes of a cluster through
// Redis: an edge proxy that pushes its entry to any node is let in on
// every node's MRA OAuth port, and one removed on any node is refused on
// all (and on their established connections, which the registrar asks
// again on every REGISTER). The entries are the hash <prefix>edge, a
// field per entry (edgetable.HostKey) holding its JSON; each write is
// announced on the channel <prefix>events:edge.
//
// Match, the check of every TLS handshake on the MRA OAuth port, reads a
// copy in memory and never waits on Redis. Run keeps that copy fresh: it
// reads the whole table at start, after every reconnection, on every
// announcement and every Resync. Until the first read succeeds the copy
// is empty and every proxy is refused (Ready reports false).
type EdgeTable struct {
	client  redis.UniversalClient
	key     string
	channel string
	mem     edgetable.Memory
	mirrorState

	// OnError, if set, is told when reading from Redis starts to fail
	// (with the error) and when it works again (with nil), once each.
	OnError func(error)
	// Resync is how often the whole table is read again without an
	// announcement; DefaultResync when 0.
	Resync time.Duration
	// WriteTimeout bounds Put and Remove; DefaultWriteTimeout when 0.
	WriteTimeout time.Duration
}

var _ edgetable.Table = (*EdgeTable)(nil)

// NewEdgeTable uses client with keys under prefix, DefaultPrefix when
// empty. Call Run to keep its copy fresh.
func NewEdgeTable(client redis.UniversalClient, prefix string) *EdgeTable {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &EdgeTable{client: client, key: prefix + "edge", channel: prefix + "events:edge"}
}

// Key is the hash holding the entries, <prefix>edge.
func (t *EdgeTable) Key() string { return t.key }

// Channel is where writes are announced, <prefix>events:edge.
func (t *EdgeTable) Channel() string { return t.channel }

// Match implements edgetable.Table, on the copy in memory.
func (t *EdgeTable) Match(n certcheck.Names) (edgetable.Entry, bool) { return t.mem.Match(n) }

// List implements edgetable.Table, from the copy in memory, which holds
// this node's own writes at once and the others' within moments.
func (t *EdgeTable) List() ([]edgetable.Entry, error) { return t.mem.List() }

// Put implements edgetable.Table: the entry is written to Redis and
// announced, then kept in this node's copy.
func (t *EdgeTable) Put(e edgetable.Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout(t.WriteTimeout))
	defer cancel()
	field := edgetable.HostKey(e.HostNameOrIP)
	if _, err := t.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, t.key, field, v)
		p.Publish(ctx, t.channel, field)
		return nil
	}); err != nil {
		return fmt.Errorf("redisstore: edge table: %w", err)
	}
	return t.mem.Put(e)
}

// Remove implements edgetable.Table.
func (t *EdgeTable) Remove(hostNameOrIP string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout(t.WriteTimeout))
	defer cancel()
	field := edgetable.HostKey(hostNameOrIP)
	var del *redis.IntCmd
	if _, err := t.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.HDel(ctx, t.key, field)
		p.Publish(ctx, t.channel, field)
		return nil
	}); err != nil {
		return false, fmt.Errorf("redisstore: edge table: %w", err)
	}
	t.mem.Remove(hostNameOrIP)
	return del.Val() > 0, nil
}

// Load reads the whole table from Redis into the copy in memory. An entry
// that is not valid JSON of a valid edgetable.Entry fails the load, and
// the copy stays as it was.
func (t *EdgeTable) Load(ctx context.Context) error {
	n, err := t.client.HLen(ctx, t.key).Result()
	if err != nil {
		return fmt.Errorf("redisstore: edge table: %w", err)
	}
	if n > maxEdgeEntries {
		return fmt.Errorf("redisstore: edge table %s: %d entries, at most %d read", t.key, n, maxEdgeEntries)
	}
	m, err := t.client.HGetAll(ctx, t.key).Result()
	if err != nil {
		return fmt.Errorf("redisstore: edge table: %w", err)
	}
	entries := make([]edgetable.Entry, 0, len(m))
	for field, v := range m {
		if len(v) > maxEdgeEntry {
			return fmt.Errorf("redisstore: edge table %s: entry %q: %d bytes, at most %d", t.key, field, len(v), maxEdgeEntry)
		}
		var e edgetable.Entry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return fmt.Errorf("redisstore: edge table %s: entry %q: %w", t.key, field, err)
		}
		if edgetable.HostKey(e.HostNameOrIP) != field {
			return fmt.Errorf("redisstore: edge table %s: entry %q holds the entry of %q", t.key, field, e.HostNameOrIP)
		}
		entries = append(entries, e)
	}
	if err := t.mem.Replace(entries); err != nil {
		return fmt.Errorf("redisstore: edge table %s: %w", t.key, err)
	}
	t.loaded.Store(true)
	return nil
}

// Run keeps the copy in memory fresh until ctx ends, when it returns
// ctx.Err(). It never gives up: a failure is reported (Err) and tried
// again.
func (t *EdgeTable) Run(ctx context.Context) error {
	// The table is small: any change reads it whole.
	reread := func(ctx context.Context, _ string) error { return t.Load(ctx) }
	return t.follow(ctx, t.client, t.channel, t.Resync, t.Load, reread, t.OnError)
}

func writeTimeout(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultWriteTimeout
}
