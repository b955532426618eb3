package edge

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
)

// route answers one REGISTER: validated, possibly authorized, forwarded.
// Provisional answers are relayed as they come; the final one is returned.
func (p *Proxy) route(req *sip.Request, tx sip.ServerTransaction) *sip.Response {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
	defer cancel()
	markReceived(req)
	if res := p.check(req); res != nil {
		p.stats.rejected.Add(1)
		return res
	}
	if p.auth != nil {
		if res := p.authorize(ctx, req); res != nil {
			p.stats.rejected.Add(1)
			return res
		}
	}
	fwd := p.prepare(req)
	p.addPath(fwd, req.Source())
	return p.forward(ctx, req, fwd, tx)
}

// check is the request validation of RFC 3261 §16.3 that applies here.
func (p *Proxy) check(req *sip.Request) *sip.Response {
	if h := req.GetHeader("Max-Forwards"); h != nil {
		mf := req.MaxForwards()
		if mf == nil {
			p.log.Info("edge: REGISTER refused", "reason", sipauth.BadMaxForwards, "source", req.Source())
			return p.local(req, 400, "Bad Request: bad Max-Forwards")
		}
		if mf.Val() == 0 {
			p.log.Info("edge: REGISTER refused", "reason", sipauth.TooManyHops, "source", req.Source())
			return p.local(req, 483, "Too Many Hops")
		}
	}
	// This proxy supports no extension a client could require of it.
	var unsupported []string
	for _, h := range req.GetHeaders("Proxy-Require") {
		for _, opt := range strings.Split(h.Value(), ",") {
			if opt = strings.TrimSpace(opt); opt != "" && len(unsupported) < 16 {
				unsupported = append(unsupported, opt)
			}
		}
	}
	if len(unsupported) > 0 {
		p.log.Info("edge: REGISTER refused", "reason", sipauth.UnsupportedProxyRequire, "source", req.Source())
		return p.local(req, 420, "Bad Extension", sip.NewHeader("Unsupported", strings.Join(unsupported, ", ")))
	}
	return nil
}

// authorize checks the bearer token as the node would (the same
// sipauth.Bearer step), and answers the way the node would when it is
// missing or refused.
func (p *Proxy) authorize(ctx context.Context, req *sip.Request) *sip.Response {
	var values []string
	for _, h := range req.Headers() {
		if name := h.Name(); strings.EqualFold(name, "Proxy-Authorization") || strings.EqualFold(name, "Authorization") {
			values = append(values, h.Value())
		}
	}
	v := p.auth.Authenticate(ctx, values, sipoauth.Request{Device: deviceName(req), FromUser: fromUser(req)})
	if v.Accepted() {
		p.log.Debug("edge: token accepted", "user", v.Identity.User, "device", deviceName(req), "source", req.Source())
		return nil
	}
	if v.Reason.Class() == sipauth.ClassUnavailable {
		// Not the token's fault (a key server out of reach): no challenge.
		p.log.Warn("edge: token could not be checked", "reason", v.Reason, "error", v.Err)
		return p.refuse(req, v.Reason, v.Response(req, p.warning("Token validation unavailable")))
	}
	return p.refuse(req, v.Reason, v.Response(req))
}

// refuse logs a REGISTER answered at the edge; the token is never logged.
func (p *Proxy) refuse(req *sip.Request, reason sipauth.Reason, res *sip.Response) *sip.Response {
	p.log.Info("edge: REGISTER answered at the edge", "status", res.StatusCode, "reason", reason,
		"device", deviceName(req), "source", req.Source())
	return res
}

// deviceName is the device the REGISTER is for, by the node's rule
// (sipauth.DeviceName); a REGISTER whose contacts name different devices
// is the first's here, and the node refuses it.
func deviceName(req *sip.Request) string {
	var contacts []*sip.ContactHeader
	for _, h := range req.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok {
			contacts = append(contacts, c)
		}
	}
	toUser := ""
	if to := req.To(); to != nil {
		toUser = to.Address.User
	}
	name, ok := sipauth.DeviceName(contacts, toUser)
	for i := 0; !ok && i < len(contacts); i++ {
		name, _ = sipauth.DeviceName(contacts[i:i+1], "")
		ok = name != ""
	}
	return name
}

func fromUser(req *sip.Request) string {
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}

// markReceived marks the client's Via with the address the request came
// from, when it names another (RFC 3261 §18.2.1, RFC 3581), so that the
// answers made here and the ones relayed carry it alike.
func markReceived(req *sip.Request) {
	v := req.Via()
	if v == nil {
		return
	}
	host, port, err := net.SplitHostPort(req.Source())
	if err != nil {
		return
	}
	if v.Host != host {
		v.Params.Add("received", host)
	}
	if rport, ok := v.Params.Get("rport"); ok && rport == "" {
		v.Params.Add("rport", port)
	}
}

// prepare returns the request to forward, without the proxy's Via, which
// each attempt adds with its own branch (RFC 3261 §16.6): the
// Request-URI and every header kept, Max-Forwards decremented or set.
func (p *Proxy) prepare(req *sip.Request) *sip.Request {
	fwd := req.Clone()
	// A clone shares the parsed Max-Forwards with the original, so it is
	// replaced rather than decremented in place.
	n := sip.MaxForwardsHeader(DefaultMaxForwards)
	if mf := fwd.MaxForwards(); mf != nil {
		n = sip.MaxForwardsHeader(mf.Val() - 1)
		fwd.ReplaceHeader(&n)
	} else {
		fwd.AppendHeader(&n)
	}
	return fwd
}

// viaFor is the proxy's Via for a request sent on c.
func viaFor(c *upConn, branch string) *sip.ViaHeader {
	host, port := "127.0.0.1", 0
	if a, ok := c.conn.LocalAddr().(*net.TCPAddr); ok {
		host, port = a.IP.String(), a.Port
	} else if h, ps, err := net.SplitHostPort(c.conn.LocalAddr().String()); err == nil {
		host = h
		port, _ = strconv.Atoi(ps)
	}
	params := sip.NewParams()
	params.Add("branch", branch)
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: host, Port: port, Params: params}
}
