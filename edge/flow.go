package edge

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipmsg"
)

// The flows of the clients (RFC 5626): the proxy adds a Path (RFC 3327) to
// each REGISTER it relays, whose user part is a flow token naming the
// client's connection, so that the node's requests to the client (an
// INVITE, a MESSAGE) come back through the proxy, which relays them over
// the connection the client opened: a client behind NAT is reachable by
// no other way.

// MaxRoutedBack bounds the node's requests the proxy relays to clients at
// once; beyond it they are answered 503.
const MaxRoutedBack = 256

// Timeouts of a request relayed to a client: Timer F for a non-INVITE, and
// three minutes for an INVITE to be answered (RFC 3261 §16.6 step 11's
// Timer C).
const (
	routeBackTimeout       = 32 * time.Second
	routeBackInviteTimeout = 3 * time.Minute
)

// flowKeys sign the flow tokens: a node (or anyone who can put a request
// on a node connection) cannot make the proxy write to a connection it
// names without one the proxy issued.
type flowKeys struct{ key [32]byte }

func newFlowKeys() *flowKeys {
	var k flowKeys
	rand.Read(k.key[:])
	return &k
}

// token is the flow token of the client's connection from source
// (host:port) that the proxy numbered conn: the address, the number and a
// MAC of both, base64url (characters a SIP URI's user part takes as they
// are). The number tells a later connection from the same address apart
// (a NAT that gives the port to another device): RFC 5626 §5.2's token
// names a flow, not an address.
func (k *flowKeys) token(source, conn string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(source)) + "." + conn + "." + base64.RawURLEncoding.EncodeToString(k.mac(source, conn))
}

func (k *flowKeys) mac(source, conn string) []byte {
	m := hmac.New(sha256.New, k.key[:])
	m.Write([]byte(source))
	m.Write([]byte{0})
	m.Write([]byte(conn))
	return m.Sum(nil)[:16]
}

// source reads a flow token; false when the proxy did not issue it.
func (k *flowKeys) source(token string) (source, conn string, ok bool) {
	if len(token) > 256 {
		return "", "", false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", false
	}
	src, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	mac, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || !hmac.Equal(mac, k.mac(string(src), parts[1])) {
		return "", "", false
	}
	return string(src), parts[1], true
}

// clientConn is the client connection from an address that a flow token
// names, with the number the proxy gave it.
type clientConn struct {
	conn sip.Connection
	id   string
}

// connID returns the number of the client's connection from source, the
// one that carried req, numbering it when it is new.
func (p *Proxy) connID(source string) string {
	cur, _ := p.ua.TransportLayer().GetConnection("tls", source)
	if v, ok := p.clients.Load(source); ok && v.(*clientConn).conn == cur {
		return v.(*clientConn).id
	}
	var b [9]byte
	rand.Read(b[:])
	c := &clientConn{conn: cur, id: base64.RawURLEncoding.EncodeToString(b[:])}
	p.clients.Store(source, c)
	return c.id
}

// liveConn reports whether the connection the token numbered id is still
// the open one from source.
func (p *Proxy) liveConn(source, id string) bool {
	v, ok := p.clients.Load(source)
	if !ok || v.(*clientConn).id != id {
		return false
	}
	cur, _ := p.ua.TransportLayer().GetConnection("tls", source)
	if cur == nil || cur != v.(*clientConn).conn {
		p.clients.CompareAndDelete(source, v)
		return false
	}
	return true
}

// sweepClients forgets the numbers of the client connections that have
// closed, every minute until Close.
func (p *Proxy) sweepClients() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		p.clients.Range(func(k, v any) bool {
			if cur, _ := p.ua.TransportLayer().GetConnection("tls", k.(string)); cur == nil || cur != v.(*clientConn).conn {
				p.clients.CompareAndDelete(k, v)
			}
			return true
		})
	}
}

// MaxRoutedBackPerClient bounds the node's requests relayed to one client
// at once, so that a client that does not answer holds up no other's.
const MaxRoutedBackPerClient = 8

// takeClientSlot counts a request relayed to the client at source; false
// when it has MaxRoutedBackPerClient already.
func (p *Proxy) takeClientSlot(source string) bool {
	p.perClientMu.Lock()
	defer p.perClientMu.Unlock()
	if p.perClient[source] >= MaxRoutedBackPerClient {
		return false
	}
	p.perClient[source]++
	return true
}

func (p *Proxy) releaseClientSlot(source string) {
	p.perClientMu.Lock()
	defer p.perClientMu.Unlock()
	if p.perClient[source]--; p.perClient[source] <= 0 {
		delete(p.perClient, source)
	}
}

// path is the Path the proxy adds to a REGISTER from the client at
// source: its flow token and the proxy's name, loose-routed, with RFC
// 5626's ob (the node reaches it over the flow it came on).
func (p *Proxy) path(source string) sip.Header {
	return sip.NewHeader("Path", "<sip:"+p.flows.token(source, p.connID(source))+"@"+p.cfg.Name+";transport=tls;lr;ob>")
}

// addPath sets the proxy's Path as the only one. A client connects to
// the proxy by itself: nothing stands between them to add a Path, so one
// the client wrote is its own making, naming a flow it chose (another
// client's), and goes.
func (p *Proxy) addPath(fwd *sip.Request, source string) {
	var names []string
	for _, h := range fwd.Headers() {
		if strings.EqualFold(h.Name(), "Path") {
			names = append(names, h.Name())
		}
	}
	for _, n := range names {
		fwd.RemoveHeader(n)
	}
	fwd.AppendHeader(p.path(source))
}

// routeBack relays a request of the node to the client its Route's flow
// token names, and the client's answers back to the node on c.
func (p *Proxy) routeBack(c *upConn, req *sip.Request) {
	defer p.wg.Done()
	defer func() { <-p.routed }()
	res := p.relayToClient(c, req)
	if res == nil {
		return
	}
	if err := c.w.WriteMessage(res, time.Now().Add(p.cfg.DialTimeout)); err != nil {
		p.log.Debug("edge: answering the node failed", "upstream", c.u.addr, "error", err.Error())
	}
}

// errNotOurs: the request's top Route is not a flow token of this proxy.
var errNotOurs = errors.New("not routed through this proxy")

// clientOf reads the client's address and connection number from the top
// Route, which must be the proxy's Path, and removes it (RFC 3261 §16.4).
func (p *Proxy) clientOf(fwd *sip.Request) (source, conn string, err error) {
	h := fwd.GetHeader("Route")
	if h == nil {
		return "", "", errNotOurs
	}
	var uri sip.Uri
	params := sip.NewParams()
	v := strings.TrimSpace(h.Value())
	first, rest, _ := strings.Cut(v, ",")
	if _, err := sip.ParseAddressValue(strings.TrimSpace(first), &uri, &params); err != nil {
		return "", "", errNotOurs
	}
	src, id, ok := p.flows.source(uri.User)
	if !ok {
		return "", "", errNotOurs
	}
	fwd.RemoveHeader("Route")
	if rest = strings.TrimSpace(rest); rest != "" {
		fwd.PrependHeader(sip.NewHeader("Route", rest))
	}
	return src, id, nil
}

// relayToClient sends the node's request to the client and returns the
// answer for the node, without the proxy's Via; nil for an ACK.
func (p *Proxy) relayToClient(c *upConn, req *sip.Request) *sip.Response {
	fwd := req.Clone()
	src, id, err := p.clientOf(fwd)
	if err != nil {
		if req.IsAck() {
			return nil
		}
		return sipmsg.NewResponse(req, 403, "Forbidden: "+err.Error())
	}
	if mf := fwd.MaxForwards(); mf != nil {
		if mf.Val() == 0 {
			return sipmsg.NewResponse(req, 483, "Too Many Hops")
		}
		n := sip.MaxForwardsHeader(mf.Val() - 1)
		fwd.ReplaceHeader(&n)
	} else {
		n := sip.MaxForwardsHeader(DefaultMaxForwards)
		fwd.AppendHeader(&n)
	}
	if !req.IsAck() {
		if !p.takeClientSlot(src) {
			res := sipmsg.NewResponse(req, 503, "Service Unavailable")
			res.AppendHeader(sip.NewHeader("Retry-After", "1"))
			return res
		}
		defer p.releaseClientSlot(src)
	}
	if !p.liveConn(src, id) {
		// RFC 5626 §5.3: the flow has failed; the client must register
		// again.
		p.log.Info("edge: the client's connection has closed", "client", src, "method", string(req.Method))
		if req.IsAck() {
			return nil
		}
		return sipmsg.NewResponse(req, 430, "Flow Failed")
	}
	fwd.SetTransport("TLS")
	fwd.SetDestination(src)
	if req.IsAck() {
		if err := p.client.WriteRequest(fwd, sipgo.ClientRequestAddVia); err != nil {
			p.log.Debug("edge: relaying an ACK failed", "client", src, "error", err.Error())
		}
		return nil
	}
	timeout := routeBackTimeout
	if req.IsInvite() {
		timeout = routeBackInviteTimeout
	}
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	tx, err := p.client.TransactionRequest(ctx, fwd, sipgo.ClientRequestAddVia)
	if err != nil {
		p.log.Info("edge: relaying to the client failed", "client", src, "method", string(req.Method), "error", err.Error())
		return sipmsg.NewResponse(req, 430, "Flow Failed")
	}
	defer tx.Terminate()
	p.log.Debug("edge: request relayed to the client", "client", src, "method", string(req.Method), "call_id", callID(req))
	for {
		select {
		case res, ok := <-tx.Responses():
			if !ok {
				return sipmsg.NewResponse(req, 430, "Flow Failed")
			}
			out := p.strip(res)
			if out == nil {
				return sipmsg.NewResponse(req, 502, "Bad Gateway")
			}
			if res.IsProvisional() {
				if res.StatusCode != 100 {
					c.w.WriteMessage(out, time.Now().Add(p.cfg.DialTimeout))
				}
				continue
			}
			return out
		case <-tx.Done():
			select {
			case res, ok := <-tx.Responses():
				if out := p.strip(res); ok && out != nil && !res.IsProvisional() {
					return out
				}
			default:
			}
			return sipmsg.NewResponse(req, 430, "Flow Failed")
		case <-ctx.Done():
			return sipmsg.NewResponse(req, 408, "Request Timeout")
		}
	}
}
