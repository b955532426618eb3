package sipmsg

import (
	"math/rand/v2"
	"net"
	"strconv"

	"github.com/emiago/sipgo/sip"
)

// NewResponse returns the response to req with the status code and reason
// given, as sip.NewResponseFromRequest builds it (RFC 3261 §8.2.6: the
// Vias, From, To with a tag of its own, Call-ID and CSeq of the request;
// Record-Route for a 2xx or 18x to a method that can make a dialog; the
// top Via's rport and received filled in, RFC 3581 §4), with less copying:
// the response shares the request's header values, but for the top Via
// and the To it changes, so neither may be changed afterwards through the
// other. The To tag is 64 bits from the process's ChaCha8 generator,
// written in hex.
//
// It is for requests parsed by Parse (or built by hand). sipgo's
// transport layer gives the requests it reads a resolved address (over
// UDP, the source's host with the Via's port, RFC 3261 §18.2.2) that
// NewResponseFromRequest makes the destination and that no one else can
// read: NewResponse's destination is always the request's source, so
// answers to requests that came through sipgo's transport are built with
// sipgo's function.
func NewResponse(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponse(code, reason)
	res.SipVersion = req.SipVersion
	dialog := req.Method != sip.REGISTER && !req.IsAck() &&
		((code >= 180 && code < 190) || (code >= 200 && code < 300) || (req.IsInvite() && code > 100 && code < 200))
	if dialog {
		for _, h := range req.GetHeaders("Record-Route") {
			res.AppendHeader(h)
		}
	}
	top := true
	for _, h := range req.GetHeaders("Via") {
		via, ok := h.(*sip.ViaHeader)
		if !ok || !top {
			res.AppendHeader(h)
			continue
		}
		top = false
		res.AppendHeader(answerVia(via, req.Source()))
	}
	if h := req.From(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.To(); h != nil {
		if code != 100 && !h.Params.Has("tag") {
			h = withTag(h)
		}
		res.AppendHeader(h)
	}
	if h := req.CallID(); h != nil {
		res.AppendHeader(h)
	}
	if h := req.CSeq(); h != nil {
		res.AppendHeader(h)
	}
	if code == 100 {
		for _, h := range req.GetHeaders("Timestamp") {
			res.AppendHeader(h)
		}
	}
	res.SetBody(nil)
	res.SetTransport(req.Transport())
	res.SetDestination(req.Source())
	return res
}

// answerVia is the response's copy of the request's top Via: with an
// empty rport, the source's port in it and its address in received.
func answerVia(via *sip.ViaHeader, source string) *sip.ViaHeader {
	if v, ok := via.Params.Get("rport"); !ok || v != "" {
		return via
	}
	c := *via
	c.Params = make(sip.HeaderParams, len(via.Params), len(via.Params)+1)
	copy(c.Params, via.Params)
	host, port, _ := net.SplitHostPort(source)
	c.Params.Add("rport", port)
	c.Params.Add("received", host)
	return &c
}

// withTag is a copy of to with a tag of its own.
func withTag(to *sip.ToHeader) *sip.ToHeader {
	c := *to
	c.Params = make(sip.HeaderParams, len(to.Params), len(to.Params)+1)
	copy(c.Params, to.Params)
	var b [16]byte
	c.Params = append(c.Params, sip.HeaderKV{K: "tag", V: string(strconv.AppendUint(b[:0], rand.Uint64(), 16))})
	return &c
}
