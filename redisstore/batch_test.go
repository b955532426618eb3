package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/registrar"
)

// pipelineCounter counts the pipelines a client sends and the commands in
// them, and can hold each pipeline back.
type pipelineCounter struct {
	pipelines, cmds atomic.Int64
	delay           time.Duration
}

func (h *pipelineCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *pipelineCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (h *pipelineCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		h.cmds.Add(int64(len(cmds)))
		time.Sleep(h.delay)
		return next(ctx, cmds)
	}
}

// TestBatcherShares: the commands of concurrent callers share pipelines,
// and each caller reads its own answers.
func TestBatcherShares(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	h := &pipelineCounter{delay: 2 * time.Millisecond}
	c.AddHook(h)
	ctx := context.Background()
	const n = 200
	for i := range n {
		if err := c.Set(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	b := &batcher{client: c}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var get *redis.StringCmd
			if err := b.do(ctx, func(p redis.Pipeliner) { get = p.Get(ctx, fmt.Sprintf("k%d", i)) }); err != nil {
				t.Error(err)
				return
			}
			if v, err := get.Result(); err != nil || v != fmt.Sprintf("v%d", i) {
				t.Errorf("k%d: %q, %v", i, v, err)
			}
		})
	}
	wg.Wait()
	if p, cmds := h.pipelines.Load(), h.cmds.Load(); cmds != n || p >= n/2 {
		t.Fatalf("%d commands in %d pipelines: want %d commands in far fewer pipelines", cmds, p, n)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running != 0 || len(b.pending) != 0 {
		t.Fatalf("after the work: %d pipelines running, %d jobs pending", b.running, len(b.pending))
	}
}

// TestBatcherAlone: a caller alone sends its commands at once, in a
// pipeline of its own.
func TestBatcherAlone(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	h := &pipelineCounter{}
	c.AddHook(h)
	b := &batcher{client: c}
	ctx := context.Background()
	for i := range 3 {
		var cmd *redis.IntCmd
		if err := b.do(ctx, func(p redis.Pipeliner) { cmd = p.Incr(ctx, "counter") }); err != nil {
			t.Fatal(err)
		}
		if v, err := cmd.Result(); err != nil || v != int64(i+1) {
			t.Fatalf("INCR %d: %d, %v", i, v, err)
		}
	}
	if p := h.pipelines.Load(); p != 3 {
		t.Fatalf("%d pipelines, want 3", p)
	}
}

// TestBatcherDeadline: a caller stops waiting at its own deadline while
// its pipeline is still out.
func TestBatcherDeadline(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	c.AddHook(&pipelineCounter{delay: 300 * time.Millisecond})
	b := &batcher{client: c}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := b.do(ctx, func(p redis.Pipeliner) { p.Ping(ctx) })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("after %v: %v, want the deadline's error at once", time.Since(start), err)
	}
}

// TestBatcherServerGone: with Redis out of reach every caller gets the
// error, through its commands.
func TestBatcherServerGone(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	b := &batcher{client: c}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			var cmd *redis.StatusCmd
			if err := b.do(ctx, func(p redis.Pipeliner) { cmd = p.Ping(ctx) }); err != nil {
				t.Error(err)
				return
			}
			if cmd.Err() == nil {
				t.Error("PING answered with no server")
			}
		})
	}
	wg.Wait()
	// The store says so as its own error.
	s := NewBindings(c, "")
	_, err = s.Update(ctx, "rado", registrar.Update{Now: time.Now(), CallID: "c", CSeq: 1,
		Changes: []registrar.Change{{Binding: registrar.Binding{Contact: "sip:rado@127.0.0.1"}, Expires: time.Minute}}})
	if err == nil {
		t.Fatal("update with no server: no error")
	}
}

// TestScriptFlushed: an update after the server forgot the
// compare-and-set script (restarted, or SCRIPT FLUSH) loads it again.
func TestScriptFlushed(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	s := NewBindings(c, "")
	ctx := context.Background()
	for i := range 3 {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		res, err := s.Update(ctx, "rado", registrar.Update{Now: time.Now(), CallID: "c", CSeq: uint32(i + 1),
			Changes: []registrar.Change{{Binding: registrar.Binding{Contact: "sip:rado@127.0.0.1"}, Expires: time.Minute}}})
		if err != nil || len(res.Bindings) != 1 {
			t.Fatalf("update %d after SCRIPT FLUSH: %+v, %v", i, res, err)
		}
	}
}

// TestBatcherSkipsCallersGone: the commands of a caller that stopped
// waiting are not sent.
func TestBatcherSkipsCallersGone(t *testing.T) {
	t.Parallel()
	c := startRedis(t)
	h := &pipelineCounter{}
	c.AddHook(h)
	b := &batcher{client: c}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	added := false
	j := &batchJob{ctx: gone, add: func(p redis.Pipeliner) { added = true; p.Ping(gone) }, done: make(chan struct{})}
	b.pending, b.running = []*batchJob{j}, 1
	b.send()
	select {
	case <-j.done:
	default:
		t.Fatal("the job of a caller gone is not done")
	}
	if added || h.pipelines.Load() != 0 || b.running != 0 {
		t.Fatalf("added %v, %d pipelines sent, %d running", added, h.pipelines.Load(), b.running)
	}
}
