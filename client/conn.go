package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/chans"
	"github.com/sipoauth/sdk/internal/sipmsg"
	"github.com/sipoauth/sdk/internal/sipstream"
)

// writeTimeout bounds each write on the connection.
const writeTimeout = 10 * time.Second

// errTimeout: no final response within the transaction's time.
var errTimeout = errors.New("no final response (transaction timeout)")

// sipConn is one TLS connection to a registrar or edge proxy, carrying
// non-INVITE client transactions over a reliable transport (RFC 3261
// §17.1.2: no retransmission, Timer F bounds the wait). Requests from the
// peer are answered: OPTIONS with 200, anything else but ACK with 501;
// a ping (RFC 5626 §4.4.1) with a pong.
type sipConn struct {
	tls    *tls.Conn
	target Target
	log    *slog.Logger
	local  *net.TCPAddr
	// sentCert is true when the client presented a certificate.
	sentCert bool

	w *sipstream.Writer // serializes writes, pongs included

	onRequest func(ctx context.Context, req *sip.Request) *sip.Response
	reqTime   time.Duration
	incoming  chan struct{} // one slot per request OnRequest is handling
	// life ends when the connection closes: the context of OnRequest.
	life context.Context
	end  context.CancelFunc

	mu      sync.Mutex
	pending map[string]chan *sip.Response // by client transaction key
	err     error                         // why the connection closed
	done    chan struct{}
}

// dial connects to t.Addr and completes the TLS handshake, verifying the
// peer's certificate for t.ServerName.
func dial(ctx context.Context, s *settings, t Target) (*sipConn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.DialTimeout)
	defer cancel()
	raw, err := s.Dial(ctx, "tcp", t.Addr)
	if err != nil {
		return nil, &TargetError{Target: t, Op: "dial", Err: err}
	}
	cfg := &tls.Config{}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	cfg.ServerName = t.ServerName
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	// crypto/tls does not say whether a client certificate was sent; a
	// port-mismatch diagnosis needs to know.
	var sent atomic.Bool
	if cfg.GetClientCertificate != nil || len(cfg.Certificates) > 0 {
		get, certs := cfg.GetClientCertificate, cfg.Certificates
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert := new(tls.Certificate)
			if get != nil {
				var err error
				if cert, err = get(cri); err != nil {
					return nil, err
				}
			} else {
				for i := range certs {
					if cri.SupportsCertificate(&certs[i]) == nil {
						cert = &certs[i]
						break
					}
				}
			}
			if cert != nil && len(cert.Certificate) > 0 {
				sent.Store(true)
			}
			return cert, nil
		}
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, &TargetError{Target: t, Op: "tls", Err: err}
	}
	local, _ := raw.LocalAddr().(*net.TCPAddr)
	if local == nil {
		// A Dial that is not TCP: take the address as written.
		local = &net.TCPAddr{IP: net.IPv4zero}
		if h, p, err := net.SplitHostPort(raw.LocalAddr().String()); err == nil {
			local.IP = net.ParseIP(h)
			fmt.Sscan(p, &local.Port)
		}
	}
	c := &sipConn{
		tls: tc, target: t, log: s.Logger, local: local, sentCert: sent.Load(),
		w:       sipstream.NewWriter(tc, writeTimeout),
		pending: make(map[string]chan *sip.Response),
		done:    make(chan struct{}),

		onRequest: s.OnRequest, reqTime: s.RequestTimeout,
		incoming: make(chan struct{}, MaxIncomingRequests),
	}
	c.life, c.end = context.WithCancel(context.Background())
	go c.readLoop()
	return c, nil
}

// alive reports whether the connection is still open.
func (c *sipConn) alive() bool { return !chans.Closed(c.done) }

// close closes the connection with err as the reason.
func (c *sipConn) close(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.alive() {
		return
	}
	c.err = err
	close(c.done)
	c.end()
	c.tls.Close()
}

// closeErr returns why the connection closed.
func (c *sipConn) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// do sends req as a client transaction and returns its final response.
func (c *sipConn) do(ctx context.Context, req *sip.Request, timeout time.Duration) (*sip.Response, error) {
	if err := ctx.Err(); err != nil {
		// Nothing is sent for a caller that has gone.
		return nil, err
	}
	key, err := sip.ClientTxKeyMake(req)
	if err != nil {
		return nil, err
	}
	ch := make(chan *sip.Response, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %v", ErrConnectionLost, err)
	}
	c.pending[key] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, key)
		c.mu.Unlock()
	}()

	if err := c.w.WriteMessage(req, time.Time{}); err != nil {
		c.close(err)
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-ch:
		return res, nil
	case <-c.done:
		return nil, fmt.Errorf("%w: %v", ErrConnectionLost, c.closeErr())
	case <-t.C:
		return nil, errTimeout
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readLoop reads messages until the connection closes.
func (c *sipConn) readLoop() {
	r := sipstream.NewReader(c.tls, sipstream.WithPong(c.w))
	for {
		m, err := r.ReadMessage()
		var malformed *sipstream.Error
		switch {
		case errors.As(err, &malformed):
			// No message boundary to resynchronize on.
			c.close(fmt.Errorf("malformed message from %s: %w", c.target.Addr, err))
			return
		case err != nil:
			c.close(err)
			return
		}
		c.handle(m)
	}
}

// handle dispatches one message read from the connection.
func (c *sipConn) handle(m sip.Message) {
	switch m := m.(type) {
	case *sip.Response:
		if m.IsProvisional() {
			return
		}
		key, err := sip.ClientTxKeyMake(m)
		if err != nil {
			c.log.Debug("client: response without a transaction key", "error", err)
			return
		}
		c.mu.Lock()
		ch := c.pending[key]
		delete(c.pending, key)
		c.mu.Unlock()
		if ch == nil {
			c.log.Debug("client: response to no pending request", "status", m.StatusCode)
			return
		}
		ch <- m // buffered, and removed from pending: never blocks
	case *sip.Request:
		switch {
		case m.IsAck():
		case m.Method == sip.OPTIONS:
			// The keep-alive probe of RFC 3261 §11.
			res := sipmsg.NewResponse(m, 200, "OK")
			res.AppendHeader(sip.NewHeader("Allow", c.allow()))
			c.reply(res)
		case c.onRequest == nil:
			c.reply(sipmsg.NewResponse(m, 501, "Not Implemented"))
		default:
			select {
			case c.incoming <- struct{}{}:
				go c.serve(m)
			default:
				res := sipmsg.NewResponse(m, 503, "Service Unavailable")
				res.AppendHeader(sip.NewHeader("Retry-After", "1"))
				c.reply(res)
			}
		}
	}
}

// allow is the Allow header's value: the methods the client answers.
func (c *sipConn) allow() string {
	if c.onRequest == nil {
		return "OPTIONS"
	}
	return "OPTIONS, MESSAGE, NOTIFY, INFO"
}

// serve answers req with OnRequest, in a goroutine of its own.
func (c *sipConn) serve(req *sip.Request) {
	defer func() { <-c.incoming }()
	ctx, cancel := context.WithTimeout(c.life, c.reqTime)
	defer cancel()
	res := func() (res *sip.Response) {
		defer func() {
			if v := recover(); v != nil {
				c.log.Error("client: OnRequest panicked", "method", string(req.Method), "panic", fmt.Sprint(v))
				res = nil
			}
		}()
		return c.onRequest(ctx, req)
	}()
	if res == nil {
		res = sipmsg.NewResponse(req, 500, "Server Internal Error")
	}
	c.reply(res)
}

// reply writes a response to a request of the peer.
func (c *sipConn) reply(res *sip.Response) {
	if err := c.w.WriteMessage(res, time.Time{}); err != nil {
		c.close(err)
	}
}
