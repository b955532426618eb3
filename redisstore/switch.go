package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Switch is the cluster-wide SIP OAuth mode, Unified CM's
// ClusterSIPOAuthMode (`utils sipOAuth-mode enable|disable`), shared by
// the nodes of a cluster through Redis: the key <prefix>sip-oauth-mode
// holds "1" (enabled) or "0" (disabled), and each change is announced on
// <prefix>events:sip-oauth-mode. Run keeps Enabled, the value a
// registrar reads on every REGISTER (registrar.Config.OAuthEnabled),
// equal to it. While the key does not exist, Enabled keeps the value it
// was given: the node's own setting.
type Switch struct {
	client  redis.UniversalClient
	key     string
	channel string
	enabled *atomic.Bool
	initial bool
	// mu orders reads and writes of the mode: a read that began before a
	// write of this node's is not applied after it.
	mu sync.Mutex
	mirrorState

	// OnChange, if set, is told the mode read first and each change
	// after it; set says whether the cluster's key sets it (else it is
	// the node's own setting).
	OnChange func(enabled, set bool)
	// OnError, if set, is told when reading from Redis starts to fail
	// (with the error) and when it works again (with nil), once each.
	OnError func(error)
	// Resync is how often the key is read again without an announcement;
	// DefaultResync when 0.
	Resync time.Duration
}

// NewSwitch uses client with keys under prefix, DefaultPrefix when empty,
// to set enabled, whose value now is the node's own setting, used while
// the cluster has none.
func NewSwitch(client redis.UniversalClient, prefix string, enabled *atomic.Bool) *Switch {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Switch{client: client, key: prefix + "sip-oauth-mode", channel: prefix + "events:sip-oauth-mode",
		enabled: enabled, initial: enabled.Load()}
}

// Key is the key holding the mode, <prefix>sip-oauth-mode.
func (s *Switch) Key() string { return s.key }

// Set enables or disables SIP OAuth on every node of the cluster.
func (s *Switch) Set(ctx context.Context, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := "0"
	if enabled {
		v = "1"
	}
	if _, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.key, v, 0)
		p.Publish(ctx, s.channel, v)
		return nil
	}); err != nil {
		return fmt.Errorf("redisstore: sip-oauth-mode: %w", err)
	}
	s.apply(enabled, true)
	return nil
}

// Load reads the mode from Redis into Enabled.
func (s *Switch) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.client.Get(ctx, s.key).Result()
	var on, set bool
	switch {
	case errors.Is(err, redis.Nil):
		on = s.initial
	case err != nil:
		return fmt.Errorf("redisstore: sip-oauth-mode: %w", err)
	case v == "1":
		on, set = true, true
	case v == "0":
		on, set = false, true
	default:
		return fmt.Errorf("redisstore: sip-oauth-mode: %s holds %.20q, want 1 or 0", s.key, v)
	}
	s.apply(on, set)
	return nil
}

// apply sets the mode read or written, telling OnChange of a change.
func (s *Switch) apply(on, set bool) {
	was := s.enabled.Swap(on)
	first := !s.loaded.Swap(true)
	if s.OnChange != nil && (first || was != on) {
		s.OnChange(on, set)
	}
}

// Run keeps Enabled equal to the cluster's mode until ctx ends, when it
// returns ctx.Err(). A failure is reported (Err) and tried again; the
// mode meanwhile stays as it was last read.
func (s *Switch) Run(ctx context.Context) error {
	reread := func(ctx context.Context, _ string) error { return s.Load(ctx) }
	return s.follow(ctx, s.client, s.channel, s.Resync, s.Load, reread, s.OnError)
}
