package edge

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/chans"
	"github.com/sipoauth/sdk/internal/sipmsg"
	"github.com/sipoauth/sdk/internal/sipstream"
)

// downPenalty is how long an upstream that failed is tried after the
// others.
const downPenalty = 30 * time.Second

// writeGrace is how long a failed write waits for the reader to learn
// why the connection ended (a TLS alert from the node arrives there).
const writeGrace = 250 * time.Millisecond

// upstream is one node's MRA OAuth port and the long-lived connection to
// it, shared by every REGISTER sent there.
type upstream struct {
	addr, serverName string
	tls              *tls.Config

	mu        sync.Mutex
	conn      *upConn
	dial      *dialCall
	downUntil time.Time
}

// dialCall is one connection attempt, shared by the REGISTERs that wait
// for it.
type dialCall struct {
	done chan struct{}
	conn *upConn
	fail *Failure
}

// upConn is an established TLS connection to a node.
type upConn struct {
	u    *upstream
	conn *tls.Conn
	w    *sipstream.Writer // serializes writes, pongs included

	gotData atomic.Bool   // a byte came from the node
	used    atomic.Bool   // a REGISTER was sent on it
	done    chan struct{} // closed when the connection has ended
	endOnce sync.Once
	fail    Failure // why it ended; set before done is closed

	reportOnce sync.Once
}

func (c *upConn) ended() bool { return chans.Closed(c.done) }

// end records why the connection ended, closes it and wakes its waiters.
// The first reason wins.
func (c *upConn) end(f Failure) {
	c.endOnce.Do(func() {
		c.fail = f
		c.conn.Close()
		close(c.done)
	})
}

// Read reads the node's bytes, noting that some came.
func (c *upConn) Read(b []byte) (int, error) {
	n, err := c.conn.Read(b)
	if n > 0 {
		c.gotData.Store(true)
	}
	return n, err
}

func (u *upstream) closeConn() {
	u.mu.Lock()
	c := u.conn
	u.conn = nil
	u.mu.Unlock()
	if c != nil {
		c.end(closedFailure(u.addr, u.serverName, ErrClosed))
	}
}

func (u *upstream) down(now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return now.Before(u.downUntil)
}

func (u *upstream) markDown() {
	u.mu.Lock()
	u.downUntil = time.Now().Add(downPenalty)
	u.mu.Unlock()
}

// ordered returns the upstreams in configured order, those that failed
// recently last.
func (p *Proxy) ordered() []*upstream {
	now := time.Now()
	out := make([]*upstream, 0, len(p.ups))
	var later []*upstream
	for _, u := range p.ups {
		if u.down(now) {
			later = append(later, u)
		} else {
			out = append(out, u)
		}
	}
	return append(out, later...)
}

// connection returns the node's connection, dialing it when there is
// none. A failed dial gives its Failure, already reported.
func (p *Proxy) connection(ctx context.Context, u *upstream) (*upConn, *Failure, error) {
	u.mu.Lock()
	if c := u.conn; c != nil && !c.ended() {
		u.mu.Unlock()
		return c, nil, nil
	}
	d := u.dial
	if d == nil {
		d = &dialCall{done: make(chan struct{})}
		u.dial = d
		// The caller is a counted handler, so the count is above zero.
		p.wg.Add(1)
		go p.dialUpstream(u, d)
	}
	u.mu.Unlock()
	select {
	case <-d.done:
		return d.conn, d.fail, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func (p *Proxy) dialUpstream(u *upstream, d *dialCall) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.DialTimeout)
	defer cancel()
	c, f := p.dialConn(ctx, u)
	u.mu.Lock()
	u.dial = nil
	if f == nil && p.ctx.Err() != nil {
		c.conn.Close()
		c, f = nil, &Failure{Upstream: u.addr, ServerName: u.serverName, Err: ErrClosed}
	}
	if f == nil {
		u.conn = c
		p.wg.Add(1)
		go p.readLoop(c)
	} else if p.ctx.Err() == nil {
		u.downUntil = time.Now().Add(downPenalty)
	}
	u.mu.Unlock()
	if f != nil && p.ctx.Err() == nil {
		p.report(*f)
	}
	d.conn, d.fail = c, f
	close(d.done)
}

func (p *Proxy) dialConn(ctx context.Context, u *upstream) (*upConn, *Failure) {
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", u.addr)
	if err != nil {
		f := connectFailure(u.addr, u.serverName, err)
		return nil, &f
	}
	tc := tls.Client(raw, u.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		f := handshakeFailure(u.addr, u.serverName, err)
		return nil, &f
	}
	cs := tc.ConnectionState()
	p.log.Info("edge: connected to node", "upstream", u.addr, "server_name", u.serverName,
		"tls_version", tls.VersionName(cs.Version), "local", raw.LocalAddr().String())
	// A pong is written within the time the proxy's answers to the node get.
	return &upConn{u: u, conn: tc, w: sipstream.NewWriter(tc, p.cfg.DialTimeout), done: make(chan struct{})}, nil
}

// readLoop reads the node's messages until the connection ends, and
// answers its pings (RFC 5626 §4.4.1).
func (p *Proxy) readLoop(c *upConn) {
	defer p.wg.Done()
	u := c.u
	defer func() {
		u.mu.Lock()
		if u.conn == c {
			u.conn = nil
		}
		u.mu.Unlock()
	}()
	r := sipstream.NewReader(c, sipstream.WithPong(c.w))
	for {
		m, err := r.ReadMessage()
		if err == nil {
			p.dispatch(c, m)
			continue
		}
		var bad *sipstream.Error
		switch {
		case errors.As(err, &bad):
			c.end(badResponseFailure(u.addr, u.serverName, err))
			p.reportConn(c)
		case p.ctx.Err() != nil, c.ended():
			c.end(closedFailure(u.addr, u.serverName, ErrClosed))
		case !c.gotData.Load() && isRefusal(err):
			// The node refused the proxy's certificate after the proxy's
			// side of a TLS 1.3 handshake was done.
			c.end(handshakeFailure(u.addr, u.serverName, err))
			u.markDown()
			p.reportConn(c)
		default:
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				p.log.Info("edge: node closed the connection", "upstream", u.addr)
			} else {
				p.log.Info("edge: connection to node ended", "upstream", u.addr, "error", err.Error())
			}
			c.end(closedFailure(u.addr, u.serverName, err))
		}
		return
	}
}

// reportConn reports why c ended, once.
func (p *Proxy) reportConn(c *upConn) {
	c.reportOnce.Do(func() {
		if p.ctx.Err() == nil {
			p.report(c.fail)
		}
	})
}

// dispatch passes a node's response to the REGISTER waiting for it,
// relays a request of the node routed to a client by the proxy's Path
// (routeBack), and answers the node's other requests statelessly: its
// OPTIONS keep-alive 200, the rest 501.
func (p *Proxy) dispatch(c *upConn, m sip.Message) {
	switch m := m.(type) {
	case *sip.Response:
		via := m.Via()
		if via == nil {
			return
		}
		branch, _ := via.Params.Get("branch")
		p.pendMu.Lock()
		pt := p.pending[branch]
		if pt != nil && pt.conn != c {
			pt = nil
		}
		if pt != nil && !m.IsProvisional() {
			delete(p.pending, branch)
		}
		p.pendMu.Unlock()
		if pt == nil {
			p.log.Debug("edge: unmatched response from node", "upstream", c.u.addr, "status", m.StatusCode)
			return
		}
		if m.IsProvisional() {
			select {
			case pt.prov <- m:
			default: // a slow client misses a provisional answer, never the final one
			}
			return
		}
		pt.final <- m // buffered, and sent once: the entry is gone
	case *sip.Request:
		if m.GetHeader("Route") != nil {
			// For a client, through the flow token of the proxy's Path.
			select {
			case p.routed <- struct{}{}:
				p.wg.Add(1) // counted: this reader is one of p.wg's
				go p.routeBack(c, m)
			default:
				if !m.IsAck() {
					res := sipmsg.NewResponse(m, 503, "Service Unavailable")
					res.AppendHeader(sip.NewHeader("Retry-After", "1"))
					c.w.WriteMessage(res, time.Now().Add(p.cfg.DialTimeout))
				}
			}
			return
		}
		if m.IsAck() {
			return
		}
		code, reason := 501, "Not Implemented"
		if m.Method == sip.OPTIONS {
			code, reason = 200, "OK"
		}
		res := sipmsg.NewResponse(m, code, reason)
		res.AppendHeader(sip.NewHeader("Allow", "OPTIONS"))
		if err := c.w.WriteMessage(res, time.Now().Add(p.cfg.DialTimeout)); err != nil {
			p.log.Debug("edge: answering the node failed", "upstream", c.u.addr, "error", err.Error())
		}
	}
}

// pendingTx is a REGISTER sent to a node and waiting for its answers.
type pendingTx struct {
	conn  *upConn
	prov  chan *sip.Response
	final chan *sip.Response
}

// newBranch returns a branch that is unique across space and time, with
// RFC 3261's magic cookie.
func newBranch() string {
	return sip.RFC3261BranchMagicCookie + rand.Text()
}

// outcome of one attempt on one node.
type outcome int

const (
	answered   outcome = iota // final response in hand
	next                      // this node failed; try the next one
	stop                      // time is up, or the proxy is closing
	overloaded                // too many REGISTERs waiting already
)

// forward sends fwd to the nodes in turn until one gives a final answer,
// relaying provisional answers on tx, and returns the answer for the
// client: the node's, or one the proxy makes when none could answer.
func (p *Proxy) forward(ctx context.Context, req, fwd *sip.Request, tx sip.ServerTransaction) *sip.Response {
	var last *Failure
	var lastBusy *sip.Response
	ups := p.ordered()
	for i, u := range ups {
		res, f, o := p.tryUpstream(ctx, u, fwd, tx)
		switch o {
		case stop:
			return p.giveUp(ctx, req, u)
		case overloaded:
			p.stats.unavailable.Add(1)
			p.log.Warn("edge: overloaded", "pending", p.cfg.MaxPending)
			return p.unavailable(req, "Edge proxy overloaded")
		case next:
			last = f
			continue
		}
		// A 503 from a node says that node cannot serve now; another may.
		// A proxy forwards a 503 only when every request would get one
		// (RFC 3261 §16.7 step 6): so the last node's, when all refused.
		if res.StatusCode == 503 && i < len(ups)-1 {
			p.log.Info("edge: node answered 503, trying the next", "upstream", u.addr)
			lastBusy = res
			continue
		}
		return p.relay(req, res)
	}
	if last == nil && lastBusy != nil {
		return p.relay(req, lastBusy)
	}
	p.stats.unavailable.Add(1)
	if p.ctx.Err() != nil {
		// Close ended the node connections: the failure is the shutdown.
		return p.unavailable(req, "Edge proxy shutting down")
	}
	code := ""
	if last != nil {
		code = last.Code()
	}
	if code == CodeBadUpstreamResponse {
		// The node answered, but not in SIP (RFC 3261 §21.5.3).
		return p.local(req, 502, "Bad Gateway", p.warning(warningText(code)))
	}
	return p.unavailable(req, warningText(code))
}

// tryUpstream sends fwd to one node. A connection that had served
// earlier REGISTERs and turns out to have been closed by the node is
// replaced once, without counting as the node's failure.
func (p *Proxy) tryUpstream(ctx context.Context, u *upstream, fwd *sip.Request, tx sip.ServerTransaction) (*sip.Response, *Failure, outcome) {
	for try := 0; ; try++ {
		c, f, err := p.connection(ctx, u)
		if err != nil {
			return nil, nil, stop
		}
		if f != nil {
			return nil, f, next // reported by the dial
		}
		reused := c.used.Swap(true)
		res, f, o := p.attempt(ctx, c, fwd, tx)
		if o != next {
			return res, f, o
		}
		if reused && try == 0 && f.Code() == CodeUpstreamClosed {
			p.log.Info("edge: idle connection to node was closed, reconnecting", "upstream", u.addr)
			continue
		}
		p.reportConn(c)
		return nil, f, next
	}
}

// giveUp answers a REGISTER whose time ran out, or whose proxy closed.
// A timeout gets 504: RFC 4320 §4.2 forbids a 408 to a non-INVITE from a
// transaction-stateful element, and 504 is the answer of a server that
// did not hear in time from the server it asked (RFC 3261 §21.5.5).
func (p *Proxy) giveUp(ctx context.Context, req *sip.Request, u *upstream) *sip.Response {
	if p.ctx.Err() != nil {
		p.stats.unavailable.Add(1)
		return p.unavailable(req, "Edge proxy shutting down")
	}
	p.report(timeoutFailure(u.addr, u.serverName, ctx.Err()))
	p.stats.timeouts.Add(1)
	return p.local(req, 504, "Server Time-out", p.warning(warningText(CodeUpstreamTimeout)))
}

// attempt sends fwd to one node on c with a new branch and waits for its
// final answer.
func (p *Proxy) attempt(ctx context.Context, c *upConn, fwd *sip.Request, tx sip.ServerTransaction) (*sip.Response, *Failure, outcome) {
	branch := newBranch()
	out := fwd.Clone()
	out.PrependHeader(viaFor(c, branch))
	pt := &pendingTx{conn: c, prov: make(chan *sip.Response, 8), final: make(chan *sip.Response, 1)}

	p.pendMu.Lock()
	if len(p.pending) >= p.cfg.MaxPending {
		p.pendMu.Unlock()
		return nil, nil, overloaded
	}
	p.pending[branch] = pt
	p.pendMu.Unlock()
	defer func() {
		p.pendMu.Lock()
		delete(p.pending, branch)
		p.pendMu.Unlock()
	}()

	deadline, _ := ctx.Deadline()
	if wd := time.Now().Add(p.cfg.DialTimeout); deadline.IsZero() || wd.Before(deadline) {
		deadline = wd
	}
	if err := c.w.WriteMessage(out, deadline); err != nil {
		select {
		case <-c.done:
		case <-time.After(writeGrace):
		}
		c.end(closedFailure(c.u.addr, c.u.serverName, err))
		f := c.fail
		return nil, &f, next
	}
	p.stats.forwarded.Add(1)
	p.log.Debug("edge: REGISTER forwarded", "upstream", c.u.addr, "call_id", callID(fwd), "branch", branch)

	for {
		select {
		case res := <-pt.final:
			p.drain(pt, tx)
			return res, nil, answered
		case res := <-pt.prov:
			p.provisional(res, tx)
		case <-c.done:
			select {
			case res := <-pt.final:
				p.drain(pt, tx)
				return res, nil, answered
			default:
			}
			f := c.fail
			return nil, &f, next
		case <-ctx.Done():
			return nil, nil, stop
		}
	}
}

// provisional relays a provisional answer, except 100 Trying, which is
// hop by hop (RFC 3261 §16.7 step 5).
func (p *Proxy) provisional(res *sip.Response, tx sip.ServerTransaction) {
	if res.StatusCode == 100 {
		return
	}
	if r := p.strip(res); r != nil {
		p.respond(tx, r)
	}
}

// drain relays the provisional answers that came before the final one:
// they were queued first, but select does not keep that order.
func (p *Proxy) drain(pt *pendingTx, tx sip.ServerTransaction) {
	for {
		select {
		case res := <-pt.prov:
			p.provisional(res, tx)
		default:
			return
		}
	}
}

// relay turns a node's final answer into the client's.
func (p *Proxy) relay(req *sip.Request, res *sip.Response) *sip.Response {
	r := p.strip(res)
	if r == nil {
		p.stats.unavailable.Add(1)
		return p.local(req, 502, "Bad Gateway", p.warning(warningText(CodeBadUpstreamResponse)))
	}
	p.stats.relayed.Add(1)
	p.log.Debug("edge: answer relayed", "status", r.StatusCode, "call_id", callID(req), "device", deviceName(req), "source", req.Source())
	return r
}

// strip removes the proxy's Via, the top one (RFC 3261 §16.7 step 3). A
// response with no Via left was not for a client, and gives nil.
func (p *Proxy) strip(res *sip.Response) *sip.Response {
	r := sip.CopyResponse(res)
	r.RemoveHeader("Via")
	if r.Via() == nil {
		return nil
	}
	return r
}

func callID(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}
