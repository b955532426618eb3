package sipserve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipmsg"
)

// MaxFlowRequests bounds the requests a Flow has sent and not had
// answered: beyond it Request fails with ErrFlowBusy, so that a peer that
// does not answer holds no more memory. An edge proxy's flow carries the
// requests to all its clients; the registrar bounds those to each client
// (registrar.MaxPendingPerContact).
const MaxFlowRequests = 1024

var (
	// ErrFlowClosed is returned by Flow.Request once the connection has
	// closed (RFC 5626's flow failure: 430 Flow Failed, in a proxy).
	ErrFlowClosed = errors.New("sipserve: the flow's connection has closed")
	// ErrFlowBusy is returned by Flow.Request when MaxFlowRequests are
	// waiting for their answers.
	ErrFlowBusy = errors.New("sipserve: too many requests waiting on the flow")
)

// instance tells apart the flows of this process from those of another
// process (another node, or this one restarted), whose ids share the
// sequence numbers.
var instance = func() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

var flowSeq atomic.Uint64

// Flow is a stream connection a request came on, as RFC 5626 calls it: the
// way back to the peer. A client behind NAT, or an edge proxy that holds
// its clients' connections, is reached only over the connection it opened
// (RFC 5923 reuse), so a server that must send a request to a registered
// client sends it on the Flow of its registration. Peer.Flow is the Flow
// of a request that came over TCP or TLS; nil over UDP.
type Flow struct {
	id        string
	sc        *streamConn
	transport string
	done      chan struct{}

	mu      sync.Mutex
	closed  bool
	onClose []func()
	pending map[string]chan *sip.Response // by the top Via's branch; nil until a request
}

func newFlow(sc *streamConn, transport string) *Flow {
	return &Flow{id: instance + "." + strconv.FormatUint(flowSeq.Add(1), 36), sc: sc, transport: transport, done: make(chan struct{})}
}

// LocalAddr is the connection's local address.
func (f *Flow) LocalAddr() net.Addr { return f.sc.conn.LocalAddr() }

// RemoteAddr is the peer's address.
func (f *Flow) RemoteAddr() net.Addr { return f.sc.conn.RemoteAddr() }

// Transport is "TLS" or "TCP", as a Via names it.
func (f *Flow) Transport() string { return f.transport }

// ID is the flow's id: unique among the flows of every process, so that it
// can name the flow in a store shared by a cluster.
func (f *Flow) ID() string { return f.id }

// Close closes the connection: the peer (a client, an edge proxy) must
// connect again.
func (f *Flow) Close() error { return f.sc.conn.Close() }

// Done is closed when the connection has closed.
func (f *Flow) Done() <-chan struct{} { return f.done }

// AfterClose arranges for fn to run, in a goroutine of its own, when the
// connection closes. It returns false, and does not run fn, when the
// connection has closed already.
func (f *Flow) AfterClose(fn func()) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.onClose = append(f.onClose, fn)
	return true
}

// close marks the flow closed: the requests waiting fail, and the
// AfterClose functions run.
func (f *Flow) close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	fns := f.onClose
	f.onClose, f.pending = nil, nil
	close(f.done)
	f.mu.Unlock()
	for _, fn := range fns {
		go fn()
	}
}

// deliver hands a response read on the connection to the request waiting
// for it; provisional responses and responses nobody waits for are
// dropped.
func (f *Flow) deliver(res *sip.Response) {
	if res.IsProvisional() {
		return
	}
	branch, ok := sipmsg.Branch(res)
	if !ok {
		return
	}
	f.mu.Lock()
	ch := f.pending[branch]
	delete(f.pending, branch)
	f.mu.Unlock()
	if ch != nil {
		ch <- res // buffered, and removed from pending: never blocks
	}
}

// Request sends req to the peer on the connection as a non-INVITE client
// transaction over a reliable transport (RFC 3261 §17.1.2: sent once, no
// retransmission) and returns its final response. req must carry its own
// top Via with a unique branch: the response is matched by it. The wait
// ends with ctx; bound it (Timer F is 32 s). The write is bounded by the
// Server's WriteTimeout too; a write that fails closes the connection.
//
// A Handler must not wait on its own request's Flow: the connection's
// reader may be the goroutine running it, and the answer would not be read
// until it returns.
func (f *Flow) Request(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	branch, ok := sipmsg.Branch(req)
	if !ok {
		return nil, errors.New("sipserve: the request has no Via branch")
	}
	ch := make(chan *sip.Response, 1)
	f.mu.Lock()
	switch {
	case f.closed:
		f.mu.Unlock()
		return nil, ErrFlowClosed
	case len(f.pending) >= MaxFlowRequests:
		f.mu.Unlock()
		return nil, ErrFlowBusy
	case f.pending[branch] != nil:
		f.mu.Unlock()
		return nil, fmt.Errorf("sipserve: a request with branch %q is waiting already", branch)
	}
	if f.pending == nil {
		f.pending = map[string]chan *sip.Response{} // made at the first request: most flows carry none
	}
	f.pending[branch] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if f.pending != nil {
			delete(f.pending, branch)
		}
		f.mu.Unlock()
	}()
	deadline := time.Now().Add(f.sc.writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := f.sc.w.WriteMessage(req, deadline); err != nil {
		// A write cut short leaves the stream broken mid-message.
		f.sc.conn.Close()
		return nil, fmt.Errorf("sipserve: sending on the flow: %w", err)
	}
	select {
	case res := <-ch:
		return res, nil
	case <-f.done:
		return nil, ErrFlowClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
