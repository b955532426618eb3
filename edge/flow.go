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

// token is the flow token of the client at source (host:port of its
// connection): the address and a MAC of it, base64url (characters a SIP
// URI's user part takes as they are).
func (k *flowKeys) token(source string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(source)) + "." + base64.RawURLEncoding.EncodeToString(k.mac(source))
}

func (k *flowKeys) mac(source string) []byte {
	m := hmac.New(sha256.New, k.key[:])
	m.Write([]byte(source))
	return m.Sum(nil)[:16]
}

// source reads a flow token; false when the proxy did not issue it.
func (k *flowKeys) source(token string) (string, bool) {
	a, b, ok := strings.Cut(token, ".")
	if !ok || len(token) > 256 {
		return "", false
	}
	src, err1 := base64.RawURLEncoding.DecodeString(a)
	mac, err2 := base64.RawURLEncoding.DecodeString(b)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, k.mac(string(src))) {
		return "", false
	}
	return string(src), true
}

// path is the Path the proxy adds to a REGISTER from the client at
// source: its flow token and the proxy's name, loose-routed, with RFC
// 5626's ob (the node reaches it over the flow it came on).
func (p *Proxy) path(source string) sip.Header {
	return sip.NewHeader("Path", "<sip:"+p.flows.token(source)+"@"+p.cfg.Name+";transport=tls;lr;ob>")
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

// clientOf reads the client's address from the top Route, which must be
// the proxy's Path, and removes it (RFC 3261 §16.4).
func (p *Proxy) clientOf(fwd *sip.Request) (string, error) {
	h := fwd.GetHeader("Route")
	if h == nil {
		return "", errNotOurs
	}
	var uri sip.Uri
	params := sip.NewParams()
	v := strings.TrimSpace(h.Value())
	first, rest, _ := strings.Cut(v, ",")
	if _, err := sip.ParseAddressValue(strings.TrimSpace(first), &uri, &params); err != nil {
		return "", errNotOurs
	}
	src, ok := p.flows.source(uri.User)
	if !ok {
		return "", errNotOurs
	}
	fwd.RemoveHeader("Route")
	if rest = strings.TrimSpace(rest); rest != "" {
		fwd.PrependHeader(sip.NewHeader("Route", rest))
	}
	return src, nil
}

// relayToClient sends the node's request to the client and returns the
// answer for the node, without the proxy's Via; nil for an ACK.
func (p *Proxy) relayToClient(c *upConn, req *sip.Request) *sip.Response {
	fwd := req.Clone()
	src, err := p.clientOf(fwd)
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
	}
	if conn, _ := p.ua.TransportLayer().GetConnection("tls", src); conn == nil {
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
