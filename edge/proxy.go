package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/logs"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/ucm"
)

// ErrClosed is returned by Serve after Close, and by Serve and Listen
// called after it.
var ErrClosed = errors.New("edge: proxy closed")

// Proxy is the MRA edge proxy. It is safe for concurrent use: Serve may
// run on several listeners at once, and Close stops them all.
type Proxy struct {
	cfg config
	log *slog.Logger
	ua  *sipgo.UserAgent
	srv *sipgo.Server
	ups []*upstream

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	pushed    bool
	pushMu    sync.Mutex // serializes the first push of concurrent Serve calls
	// wg counts the request handlers and the goroutines they start; Add
	// is only called under mu while open, or by a goroutine it counts.
	wg sync.WaitGroup

	pendMu  sync.Mutex
	pending map[string]*pendingTx // by the branch of the proxy's Via

	stats counters
	// auth checks tokens before forwarding; nil without Config.Validator.
	auth *sipauth.Bearer

	// The clients' flows: the keys of the flow tokens in the Paths the
	// proxy adds, the client that relays the node's requests to them, and
	// a slot per request relayed.
	flows  *flowKeys
	client *sipgo.Client
	routed chan struct{}
	// clients numbers the clients' connections by address, for the flow
	// tokens (*clientConn by host:port); perClient counts the requests
	// relayed to each.
	clients     sync.Map
	perClientMu sync.Mutex
	perClient   map[string]int
}

// Stats are the proxy's counters since New.
type Stats struct {
	// Received counts the REGISTERs clients sent.
	Received uint64
	// Forwarded counts the REGISTERs written to a node, failover
	// attempts included.
	Forwarded uint64
	// Relayed counts the nodes' final answers relayed to clients.
	Relayed uint64
	// RejectedAtEdge counts the REGISTERs the proxy answered itself
	// without asking a node: challenges and refused tokens when it
	// validates, Max-Forwards exhausted, malformed requests.
	RejectedAtEdge uint64
	// UpstreamFailures counts the failures reported to OnFailure.
	UpstreamFailures uint64
	// Unavailable counts the 502 and 503 answers the proxy made because
	// no node could take a REGISTER, or because it was overloaded or
	// shutting down.
	Unavailable uint64
	// Timeouts counts the 504 answers made when no node answered in time.
	Timeouts uint64
}

type counters struct {
	received, forwarded, relayed, rejected, failures, unavailable, timeouts atomic.Uint64
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	s := &p.stats
	return Stats{
		Received: s.received.Load(), Forwarded: s.forwarded.Load(), Relayed: s.relayed.Load(),
		RejectedAtEdge: s.rejected.Load(), UpstreamFailures: s.failures.Load(),
		Unavailable: s.unavailable.Load(), Timeouts: s.timeouts.Load(),
	}
}

// New returns a proxy for cfg. It does not touch the network: Serve does.
func New(cfg Config) (*Proxy, error) {
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	// A client that hangs up is logged at Debug, not as sipgo's "Read error".
	sipLog := slog.New(logs.SIPStack(bearer.RedactHandler(c.Logger.Handler()))).With("component", "sipgo")
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(c.Name),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sipLog)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sipLog)),
	)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(sipLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("edge: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(sipLog))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("edge: %w", err)
	}
	p := &Proxy{
		cfg: c, log: c.Logger, ua: ua, srv: srv,
		listeners: map[net.Listener]struct{}{}, pending: map[string]*pendingTx{},
		flows: newFlowKeys(), client: client, routed: make(chan struct{}, MaxRoutedBack), perClient: map[string]int{},
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.sweepClients()
	if c.Validator != nil {
		p.auth = &sipauth.Bearer{Validator: c.Validator, Mode: sipauth.CiscoMode, Challenge: c.Challenge, RetryAfter: c.retryAfterSeconds()}
	}
	for _, u := range c.upstream {
		p.ups = append(p.ups, &upstream{
			addr: u.addr, serverName: u.serverName,
			tls: mtlstrust.EdgeClientConfig(c.Certificate, c.NodeTrust, u.serverName, c.TLSOptions...),
		})
	}
	srv.OnRegister(p.handleRegister)
	srv.OnNoRoute(p.handleOther)
	return p, nil
}

// Name returns the proxy's name, as it appears in its Warning headers.
func (p *Proxy) Name() string { return p.cfg.Name }

// Listen returns a TLS listener on addr (such as ":5061" or
// "127.0.0.1:0") presenting the proxy's certificate, server-authenticated
// only: clients authenticate with their token. It is a siplimit listener
// bounded by Config.Limits: handshakes complete before Serve sees a
// connection, idle and slow connections are closed, connections over the
// caps refused, badly framed messages answered 400.
func (p *Proxy) Listen(addr string) (net.Listener, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	cert := p.cfg.ListenCertificate
	if cert == nil {
		cert = p.cfg.Certificate
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	return siplimit.NewTLSListener(ln, mtlstrust.OAuthServerConfig(cert), p.cfg.Limits,
		mtlstrust.ListenerOptions{Side: diag.EdgeSide}, siplimit.WithLogger(p.log)), nil
}

// ListenAndServe is Listen then Serve.
func (p *Proxy) ListenAndServe(addr string) error {
	ln, err := p.Listen(addr)
	if err != nil {
		return err
	}
	return p.Serve(ln)
}

// Serve accepts clients on ln until Close, and returns ErrClosed then.
// ln must hand out TLS connections, as tls.Listen's or Listen's do: the
// requests are treated as having come over TLS. The first Serve pushes
// the proxy's identity to Config.Table, if set, and returns the push's
// error without serving when it fails. Serve returns any other accept
// error; ln is closed when Serve returns.
func (p *Proxy) Serve(ln net.Listener) error {
	if ln == nil {
		return errors.New("edge: Serve: nil listener")
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	p.listeners[ln] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.listeners, ln)
		p.mu.Unlock()
		ln.Close()
	}()
	if err := p.pushOnce(); err != nil {
		if p.isClosed() {
			return ErrClosed
		}
		return err
	}
	p.log.Info("edge: serving", "listen", ln.Addr().String(), "upstreams", strings.Join(p.cfg.Upstreams, ","), "validate", p.cfg.Validator != nil)
	err := p.srv.ServeTLS(ln)
	if p.isClosed() {
		return ErrClosed
	}
	return fmt.Errorf("edge: serving %s: %w", ln.Addr(), err)
}

func (p *Proxy) pushOnce() error {
	if p.cfg.Table == nil {
		return nil
	}
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	p.mu.Lock()
	done := p.pushed
	p.mu.Unlock()
	if done {
		return nil
	}
	if err := p.Refresh(p.ctx); err != nil {
		return err
	}
	p.mu.Lock()
	p.pushed = true
	p.mu.Unlock()
	return nil
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Close stops the proxy: it closes the listeners, answers the REGISTERs
// still waiting for a node with 503, closes the connections to nodes and
// clients, and returns once its request handlers and node connections
// have ended. Calling it again does nothing.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	lns := make([]net.Listener, 0, len(p.listeners))
	for ln := range p.listeners {
		lns = append(lns, ln)
	}
	p.mu.Unlock()

	p.cancel()
	var errs []error
	for _, ln := range lns {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for _, u := range p.ups {
		u.closeConn()
	}
	p.wg.Wait()
	for _, u := range p.ups {
		u.closeConn()
	}
	if err := p.ua.Close(); err != nil {
		errs = append(errs, err)
	}
	p.log.Info("edge: closed")
	return errors.Join(errs...)
}

// enter counts a handler in, unless the proxy is closed.
func (p *Proxy) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

func (p *Proxy) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	if !p.enter() {
		p.respond(tx, p.unavailable(req, "Edge proxy shutting down"))
		return
	}
	defer p.wg.Done()
	p.stats.received.Add(1)
	if res := p.route(req, tx); res != nil {
		p.respond(tx, res)
	}
}

// handleOther answers what is not a REGISTER: OPTIONS locally (a client's
// or load balancer's keepalive), ACK not at all, the rest with 405.
func (p *Proxy) handleOther(req *sip.Request, tx sip.ServerTransaction) {
	switch {
	case req.IsAck():
		return
	case req.Method == sip.OPTIONS:
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Allow", "REGISTER, OPTIONS"))
		p.respond(tx, res)
	default:
		res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
		res.AppendHeader(sip.NewHeader("Allow", "REGISTER, OPTIONS"))
		p.respond(tx, res)
	}
}

func (p *Proxy) respond(tx sip.ServerTransaction, res *sip.Response) {
	if tx == nil {
		return
	}
	if err := tx.Respond(res); err != nil {
		p.log.Debug("edge: answering the client failed", "status", res.StatusCode, "error", err)
	}
}

// local builds an answer the proxy makes itself.
func (p *Proxy) local(req *sip.Request, code int, reason string, headers ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	return res
}

// warning is the Warning of an answer the proxy makes itself: 399, the
// proxy's name, and a short text saying which hop failed.
func (p *Proxy) warning(text string) sip.Header {
	return sip.NewHeader("Warning", ucm.Warning{Code: ucm.WarnCode, Agent: p.cfg.Name, Text: text}.String())
}

func (p *Proxy) retryAfter() sip.Header {
	return sip.NewHeader("Retry-After", strconv.Itoa(p.cfg.retryAfterSeconds()))
}

// retryAfterSeconds is RetryAfter in whole seconds, at least one.
func (c *config) retryAfterSeconds() int {
	return max(1, int(c.RetryAfter/time.Second))
}

// unavailable is the 503 of a proxy that cannot serve any request now
// (RFC 3261 §21.5.4), which tells the client to try another edge.
func (p *Proxy) unavailable(req *sip.Request, text string) *sip.Response {
	return p.local(req, 503, "Service Unavailable", p.warning(text), p.retryAfter())
}

// report counts, logs and passes on an upstream failure.
func (p *Proxy) report(f Failure) {
	p.stats.failures.Add(1)
	attrs := []any{"upstream", f.Upstream, "server_name", f.ServerName, "scenario", f.Scenario}
	if len(f.Findings) > 0 {
		attrs = append(attrs, "code", f.Findings[0].Code, "message", f.Findings[0].Message, "fix", f.Findings[0].Fix)
	}
	if f.Err != nil {
		attrs = append(attrs, "error", f.Err.Error())
	}
	p.log.Warn("edge: upstream failure", attrs...)
	if p.cfg.OnFailure != nil {
		p.cfg.OnFailure(f)
	}
}
