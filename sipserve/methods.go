package sipserve

import (
	"context"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipmsg"
)

// Methods is a Handler that hands each request to the Handler of its
// method. An ACK of a method without one gets no answer (it is never
// answered); a CANCEL, 481 (a server without transactions has nothing to
// cancel, RFC 3261 §9.2); any other method, 405 Method Not Allowed with
// Allow listing the methods there are (§8.2.1).
type Methods map[sip.RequestMethod]Handler

// ServeSIP implements Handler.
func (m Methods) ServeSIP(ctx context.Context, req *sip.Request, peer Peer) *sip.Response {
	if h, ok := m[req.Method]; ok && h != nil {
		return h.ServeSIP(ctx, req, peer)
	}
	switch req.Method {
	case sip.ACK:
		return nil
	case sip.CANCEL:
		return sipmsg.NewResponse(req, 481, "Call/Transaction Does Not Exist")
	}
	res := sipmsg.NewResponse(req, 405, "Method Not Allowed")
	res.AppendHeader(sip.NewHeader("Allow", m.allow()))
	return res
}

// allow lists the methods, in order.
func (m Methods) allow() string {
	names := make([]string, 0, len(m))
	for k, h := range m {
		if h != nil {
			names = append(names, string(k))
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// OK is a Handler that answers 200 OK: for OPTIONS, with which edge
// proxies and clients ping a node to see it is up.
var OK Handler = HandlerFunc(func(_ context.Context, req *sip.Request, _ Peer) *sip.Response {
	return sipmsg.NewResponse(req, 200, "OK")
})
