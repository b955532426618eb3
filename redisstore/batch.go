package redisstore

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxPipelines is how many pipelines a batcher has in flight at once.
// Below it, a caller sends its commands at once; at it, callers queue and
// the next pipeline carries all their commands together.
const maxPipelines = 4

// pipelineTimeout bounds one pipeline's round trip when its callers'
// contexts have no sooner deadline; each caller still stops waiting at
// its own.
const pipelineTimeout = 10 * time.Second

// batcher sends the commands of concurrent callers to Redis together: one
// write and one read for every command waiting, as a client with
// automatic pipelining does. Under load, a REGISTER's round trips then
// cost a share of a system call each instead of two; alone, a caller's
// commands go at once, with no wait for company. The zero value is ready
// to use with client set.
type batcher struct {
	client redis.UniversalClient

	mu      sync.Mutex
	pending []*batchJob
	running int // pipelines in flight
}

// batchJob is one caller's commands.
type batchJob struct {
	ctx  context.Context
	add  func(redis.Pipeliner)
	done chan struct{}
}

// do queues the commands add puts on the pipeliner, and returns once they
// have been answered (each command holds its own result and error) or ctx
// ends. After ctx ends the commands may still run; add must make new ones
// on every call.
func (b *batcher) do(ctx context.Context, add func(redis.Pipeliner)) error {
	j := &batchJob{ctx: ctx, add: add, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, j)
	lead := b.running < maxPipelines
	if lead {
		b.running++
	}
	b.mu.Unlock()
	if lead {
		// In a goroutine of its own, so that the caller stops waiting at
		// its deadline whatever the pipeline does.
		go b.send()
	}
	select {
	case <-j.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send sends what is pending as one pipeline, then what became pending
// meanwhile, until nothing is.
func (b *batcher) send() {
	for {
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		if len(batch) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		// Callers that gave up (a Redis that stalled, say) send nothing:
		// their requests were answered already.
		live := batch[:0:0]
		for _, j := range batch {
			if j.ctx.Err() != nil {
				close(j.done)
			} else {
				live = append(live, j)
			}
		}
		if batch = live; len(batch) == 0 {
			continue
		}
		ctx, cancel := batchContext(batch)
		// Pipelined's error is the first command's that failed; each
		// caller reads its own.
		_, _ = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, j := range batch {
				j.add(p)
			}
			return nil
		})
		cancel()
		for _, j := range batch {
			close(j.done)
		}
	}
}

// batchContext is the context of a pipeline: it ends at the latest
// deadline among its callers (a caller that gives up sooner stops
// waiting), within pipelineTimeout.
func batchContext(batch []*batchJob) (context.Context, context.CancelFunc) {
	latest := time.Now().Add(pipelineTimeout)
	for _, j := range batch {
		if d, ok := j.ctx.Deadline(); ok && d.Before(latest) {
			continue
		}
		return context.WithDeadline(context.Background(), latest)
	}
	latest = time.Time{}
	for _, j := range batch {
		if d, _ := j.ctx.Deadline(); d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.Background(), latest)
}
