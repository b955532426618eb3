package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/edge"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/ucm"
)

// story runs the steps in order; each records its checks on tl.
func (l *lab) story(ctx context.Context, tl *timeline) error {
	rado, err := l.onPremises(ctx, tl)
	if rado != nil {
		defer rado.Close()
	}
	if err != nil {
		return err
	}
	alice, err := l.overMRA(ctx, tl)
	if alice != nil {
		defer alice.Close()
	}
	if err != nil {
		return err
	}
	l.reachClients(ctx, tl)
	if err := l.portMismatch(ctx, tl); err != nil {
		return err
	}
	if err := l.unknownCAAtEdge(ctx, tl); err != nil {
		return err
	}
	if err := l.unknownCAAtNode(ctx, tl); err != nil {
		return err
	}
	return l.unregister(tl, rado, alice)
}

// newClient makes a client of device, with a refresh token of its owner.
func (l *lab) newClient(device string, d cnfxml.Deployment, edgeAddr, edgeName string, tl *timeline) (*client.Client, *client.RefreshTokenSource, error) {
	owner := devices[device].Owner
	refresh, err := l.node.issuer.MintRefresh(owner, clientID)
	if err != nil {
		return nil, nil, err
	}
	tokens, err := client.NewRefreshTokenSource(client.RefreshConfig{
		TokenURL: l.node.issuerURL + "/token", RefreshToken: refresh, ClientID: clientID,
		Params: url.Values{"device": {device}}, HTTPClient: l.httpsClient(),
	})
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(client.Config{
		DeviceName: device, User: owner, ConfigURL: l.node.configURL + "/",
		Deployment: d, EdgeAddr: edgeAddr, EdgeServerName: edgeName,
		TLSConfig: l.clientTLS(), Tokens: tokens, Logger: l.log,
		DialTimeout: 2 * time.Second, RequestTimeout: 5 * time.Second,
		// A request the node sends back over the connection: a MESSAGE is
		// taken, and shown by the story.
		OnRequest: func(_ context.Context, req *sip.Request) *sip.Response {
			if req.Method != sip.MESSAGE {
				return sip.NewResponseFromRequest(req, 501, "Not Implemented", nil)
			}
			select {
			case l.inbox <- delivered{device: device, req: req}:
			default:
			}
			return sip.NewResponseFromRequest(req, 200, "OK", nil)
		},
		OnEvent: func(e client.Event) {
			if e.Kind == client.EventTargetSwitched {
				tl.say(device, "moves on to %s: %v", e.Target.Addr, e.Err)
			}
		},
	})
	return c, tokens, err
}

// fetch prints what the client learnt from its configuration file.
func (l *lab) fetch(ctx context.Context, tl *timeline, c *client.Client, device string, d cnfxml.Deployment) ([]client.Target, error) {
	targets, err := c.Targets(ctx)
	if err != nil {
		tl.check(false, "%s fetches its configuration file: %v", device, err)
		return nil, err
	}
	mode := 0
	if len(targets) > 0 && targets[0].OAuth {
		mode = 1
	}
	tl.say(device, "GET %s/%s.cnf.xml → 200: sipOAuthMode %d, %d node(s)", l.node.configURL, device, mode, len(targets))
	for i, t := range targets {
		port := "sipOAuthPort"
		if d == cnfxml.MRA {
			port = "sipMRAOAuthPort"
		}
		tl.say(device, "ccm%d=%s %s=%d → connect to %s (certificate name %s)", i, t.Host, port, t.Port, t.Addr, t.ServerName)
	}
	return targets, nil
}

// exchanges prints a registration's REGISTERs and answers.
func exchanges(tl *timeline, actor string, reg client.Registration, token string) {
	if reg.RemoteAddr != "" {
		tl.say(actor, "TLS %s → %s, certificate verified", reg.LocalAddr, reg.RemoteAddr)
	}
	for _, x := range reg.Exchanges {
		cred := "no credentials"
		if x.Credentials != "" {
			form := `Bearer token=`
			if x.CredentialsForm == bearer.FormRFC6750 {
				form = "Bearer "
			}
			cred = fmt.Sprintf("%s: %s%s", x.Credentials, form, shortToken(token))
		}
		tl.say(actor, "REGISTER CSeq %d, Expires %d, %s", x.CSeq, int(x.Expires/time.Second), cred)
		answer := fmt.Sprintf("%d %s", x.Status, x.Reason)
		switch {
		case x.Challenge != "":
			answer += "\n" + challengeHeader(x.Status) + ": " + x.Challenge
		case x.Warning != "":
			answer += "\nWarning: " + x.Warning
			if x.RetryAfter > 0 {
				answer += fmt.Sprintf("\nRetry-After: %d", int(x.RetryAfter/time.Second))
			}
		}
		if x.Status == 200 && reg.Response != nil && reg.Status == 200 {
			if h := reg.Response.GetHeader("Expires"); h != nil {
				answer += "\nExpires: " + h.Value()
			}
			for _, h := range reg.Response.GetHeaders("Contact") {
				answer += "\nContact: " + h.Value()
			}
		}
		tl.say(actor, "← %s", answer)
	}
}

func challengeHeader(status int) string {
	if status == 401 {
		return "WWW-Authenticate"
	}
	return "Proxy-Authenticate"
}

// nodeSaw prints what the registrar answered since mark and returns it.
func (l *lab) nodeSaw(tl *timeline, mark int) []seenRequest {
	seen := l.node.seenSince(mark)
	for _, s := range seen {
		via := ""
		if s.Peer != "" {
			via = ", client certificate " + s.Peer
		}
		reason := ""
		if s.Reason != "" {
			reason = " (" + s.Reason + ")"
		}
		tl.say("node", "REGISTER of %s on the %s port%s → %d%s", s.Device, roleName(s.Role), via, s.Status, reason)
	}
	return seen
}

func roleName(r registrar.Role) string {
	switch r {
	case registrar.RoleOAuth:
		return "OAuth"
	case registrar.RoleEdge:
		return "edge"
	}
	return r.String()
}

func (l *lab) onPremises(ctx context.Context, tl *timeline) (*client.Client, error) {
	tl.step("1.", "On-premises client CSFrado registers on the OAuth port")
	c, tokens, err := l.newClient("CSFrado", cnfxml.OnPremises, "", "", tl)
	if err != nil {
		return nil, err
	}
	targets, err := l.fetch(ctx, tl, c, "CSFrado", cnfxml.OnPremises)
	if err != nil {
		return c, err
	}
	tl.check(len(targets) == 1 && targets[0].Addr == l.node.oauthAddr && targets[0].OAuth,
		"the file leads to the node's OAuth port %s", l.node.oauthAddr)
	mark := l.node.seenCount()
	reg, err := c.Register(ctx)
	tok, _ := tokens.Token(ctx)
	exchanges(tl, "CSFrado", reg, tokenOf(tok))
	l.nodeSaw(tl, mark)
	if !tl.check(err == nil, "registered without error (%v)", err) {
		return c, nil
	}
	tl.check(reg.FirstStatus == 407 && reg.Challenge == `Bearer realm="ccmsipline"` && reg.ChallengeHeader == "Proxy-Authenticate",
		`the first REGISTER is challenged: 407, Proxy-Authenticate: Bearer realm="ccmsipline"`)
	tl.check(len(reg.Exchanges) == 2 && reg.Exchanges[1].CSeq == reg.Exchanges[0].CSeq+1 && reg.Exchanges[1].Branch != reg.Exchanges[0].Branch &&
		reg.Exchanges[1].Credentials == "Proxy-Authorization",
		"the retry carries Proxy-Authorization: Bearer token=\"…\" with CSeq+1 and a new branch")
	tl.check(reg.Status == 200 && reg.Expires == 120*time.Second && reg.Requested == 3600*time.Second,
		"200 OK: the node grants 120 s of the 3600 asked")
	tl.check(reg.NewRegistration, "the contact comes back marked ;"+ucm.NewRegParam)
	b, _ := l.node.store.Lookup(ctx, "rado")
	tl.check(len(b) == 1 && b[0].Device == "CSFrado" && b[0].User == "rado", "the node holds one binding of rado on CSFrado")
	return c, nil
}

func tokenOf(t *client.Token) string {
	if t == nil {
		return ""
	}
	return t.AccessToken
}

func (l *lab) overMRA(ctx context.Context, tl *timeline) (*client.Client, error) {
	tl.step("2.", "Client CSFalice registers over MRA, through the edge proxy and the node's edge port")
	tl.note("edge proxy %s pushed its names to the node's table at start (as Expressway-C does on refresh):", l.main.name)
	entries, _ := l.node.table.List()
	for _, e := range entries {
		tl.note("  table entry %s: %s", e.HostNameOrIP, strings.Join(e.Names, ", "))
	}
	tl.check(len(entries) == 1 && entries[0].HostNameOrIP == "expc1", "the node's table lists expc1")
	c, tokens, err := l.newClient("CSFalice", cnfxml.MRA, l.main.addr, proxyName, tl)
	if err != nil {
		return nil, err
	}
	targets, err := l.fetch(ctx, tl, c, "CSFalice", cnfxml.MRA)
	if err != nil {
		return c, err
	}
	tl.check(len(targets) == 1 && targets[0].Edge && targets[0].Addr == l.main.addr && targets[0].NodeAddr() == l.node.edgeAddr,
		"over MRA the client connects to the edge proxy, naming the node's MRA port %s", l.node.edgeAddr)
	mark := l.node.seenCount()
	stats := l.main.p.Stats()
	reg, err := c.Register(ctx)
	tok, _ := tokens.Token(ctx)
	exchanges(tl, "CSFalice", reg, tokenOf(tok))
	after := l.main.p.Stats()
	tl.say("expc1", "answered %d REGISTER(s) itself (token checked at the edge), forwarded %d over mutual TLS",
		after.RejectedAtEdge-stats.RejectedAtEdge, after.Forwarded-stats.Forwarded)
	seen := l.nodeSaw(tl, mark)
	if !tl.check(err == nil, "registered through the edge proxy without error (%v)", err) {
		return c, nil
	}
	tl.check(reg.FirstStatus == 407 && reg.Status == 200 && reg.Expires == 120*time.Second,
		"407 from the edge proxy, which checks tokens, then 200 OK with Expires 120 from the node")
	tl.check(len(seen) == 1 && seen[0].Role == registrar.RoleEdge && seen[0].Peer == proxyName && seen[0].Status == 200,
		"the node saw one REGISTER, on its edge port, from %s's certificate", proxyName)
	return c, nil
}

// delivered is a MESSAGE that reached a client.
type delivered struct {
	device string
	req    *sip.Request
}

// reachClients has the node send a MESSAGE to each registered client: the
// location lookup, then the request over the flow the client registered
// on, directly or through the edge proxy's Path.
func (l *lab) reachClients(ctx context.Context, tl *timeline) {
	tl.step("3.", "The node reaches both clients: a MESSAGE over each registration's own connection")
	for _, to := range []struct{ aor, device, text string }{
		{"rado", "CSFrado", "Your 2 pm meeting moved to room 4"},
		{"alice", "CSFalice", "Welcome back, alice"},
	} {
		cs, err := l.node.reg.Lookup(ctx, to.aor)
		if !tl.check(err == nil && len(cs) == 1 && cs[0].FlowUp && cs[0].Local, "the node looks up %s: one contact, its flow open on this node (%v)", to.aor, err) {
			continue
		}
		c := cs[0]
		route := "no route set (registered directly)"
		if len(c.Path) > 0 {
			route = "route set " + strings.Join(c.Path, ", ")
		}
		tl.say("node", "lookup %s → %s on %s, flow %s, %s", to.aor, c.Contact, c.Device, c.Flow, route)
		req, err := c.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: "ucm", Host: nodeName})
		if err != nil {
			tl.check(false, "a MESSAGE for %s: %v", to.aor, err)
			continue
		}
		req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
		req.SetBody([]byte(to.text))
		tl.say("node", "MESSAGE %s over the flow: %q", c.Contact, to.text)
		res, err := l.node.reg.Send(ctx, c, req)
		var got delivered
		select {
		case got = <-l.inbox:
		case <-time.After(5 * time.Second):
		}
		if got.req != nil {
			tl.say(got.device, "← MESSAGE (%d Via: %s), answered 200 OK", len(got.req.GetHeaders("Via")), viaHosts(got.req))
		}
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		tl.say("node", "← %d", status)
		tl.check(err == nil && status == 200 && got.device == to.device && string(got.req.Body()) == to.text,
			"%s receives the node's MESSAGE and accepts it (%v)", to.device, err)
		if to.aor == "alice" {
			tl.check(len(c.Path) == 1 && strings.Contains(c.Path[0], "@"+l.main.name+";") && len(got.req.GetHeaders("Via")) == 2,
				"over MRA it went through %s: the Path it added holds its flow token, and its Via is on the request", l.main.name)
		} else {
			tl.check(len(c.Path) == 0 && len(got.req.GetHeaders("Via")) == 1, "on premises it went straight over the client's own TLS connection")
		}
	}
}

// viaHosts lists the sent-by of each Via of req, outermost first.
func viaHosts(req *sip.Request) string {
	var hs []string
	for _, h := range req.GetHeaders("Via") {
		if v, ok := h.(*sip.ViaHeader); ok {
			hs = append(hs, v.Host+":"+strconv.Itoa(v.Port))
		}
	}
	return strings.Join(hs, ", ")
}

func (l *lab) portMismatch(ctx context.Context, tl *timeline) error {
	tl.step("4.1", "Scenario 1: CSFbob's security profile lacks OAuth, yet it registers on the OAuth port")
	c, tokens, err := l.newClient("CSFbob", cnfxml.OnPremises, "", "", tl)
	if err != nil {
		return err
	}
	defer c.Close()
	mark := l.node.seenCount()
	reg, err := c.Register(ctx)
	tok, _ := tokens.Token(ctx)
	exchanges(tl, "CSFbob", reg, tokenOf(tok))
	l.nodeSaw(tl, mark)
	var pm *client.PortMismatchError
	if !tl.check(errors.As(err, &pm), "the client reports a port mismatch (%v)", err) {
		return nil
	}
	want := ucm.PortMismatchWarning(nodeLabel).String()
	tl.check(reg.Status == 403 && pm.RetryAfter == ucm.PortMismatchRetryAfter && pm.Warning == want,
		"403 Forbidden, Retry-After: %d, Warning: %s", int(ucm.PortMismatchRetryAfter/time.Second), want)
	explain(tl, pm.Causes())
	return nil
}

// explain prints findings with their fixes.
func explain(tl *timeline, fs diag.Findings) {
	for _, f := range fs {
		tl.note("%s [%s] %s", f.Severity, f.Code, f.Message)
		if f.Fix != "" {
			tl.note("    fix: %s", f.Fix)
		}
	}
}

func (l *lab) unknownCAAtEdge(ctx context.Context, tl *timeline) error {
	tl.step("4.2", "Scenario 2: the edge proxy does not trust the signer of the node's certificate")
	cert, err := l.edgeCA.issue(proxyName, "127.0.0.1")
	if err != nil {
		return err
	}
	// expc1's certificate, but a trust store without the node's CA (for
	// example after the node's certificate was signed by a new CA).
	p, err := l.startProxy(0, edge.Config{Name: "expc1-stale", NodeTrust: mtlstrust.NewTrustStore(l.edgeCA.cert)}, cert)
	if err != nil {
		return err
	}
	tl.note("a second edge proxy %s at %s trusts only %q", p.name, p.addr, l.edgeCA.cert.Subject.CommonName)
	_, err = l.failedHop(ctx, tl, p, 2, diag.CodeUnknownCAAtEdge)
	return err
}

func (l *lab) unknownCAAtNode(ctx context.Context, tl *timeline) error {
	tl.step("4.3", "Scenario 3: the node does not trust the signer of the edge proxy's certificate")
	cert, err := l.otherCA.issue("expc3.lab.example", "127.0.0.1")
	if err != nil {
		return err
	}
	// Clients still see a certificate they trust.
	front, err := l.edgeCA.issue("expc3.lab.example", "127.0.0.1")
	if err != nil {
		return err
	}
	frontSrc, err := mtlstrust.NewCertSource(front)
	if err != nil {
		return err
	}
	p, err := l.startProxy(0, edge.Config{
		ListenCertificate: frontSrc,
		Name:              "expc3", NodeTrust: mtlstrust.NewTrustStore(l.nodeCA.cert),
		Table: &edge.TableConfig{URL: l.node.tableURL, User: tableUser, Password: l.node.tablePW},
	}, cert)
	if err != nil {
		return err
	}
	tl.note("a third edge proxy %s at %s, its certificate signed by %q, which the node's trust store lacks;", p.name, p.addr, l.otherCA.cert.Subject.CommonName)
	tl.note("its names are in the node's table, so only the signer is missing")
	fails, err := l.failedHop(ctx, tl, p, 3, diag.CodeUnknownCAAtNode)
	if err != nil {
		return err
	}
	tl.check(len(fails) >= 1 && fails[0].Diagnosis.Scenario == 3 && fails[0].Diagnosis.Code == diag.CodeUnknownCAAtNode,
		"the node's own diagnosis of the refused handshake is scenario 3 (%s)", diag.CodeUnknownCAAtNode)
	return nil
}

// failedHop registers CSFalice through p, whose hop to the node must fail
// with scenario and code. It returns the node's failed handshakes.
func (l *lab) failedHop(ctx context.Context, tl *timeline, p *proxy, scenario int, code string) ([]*mtlstrust.HandshakeError, error) {
	c, _, err := l.newClient("CSFalice", cnfxml.MRA, p.addr, p.certName, tl)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	mark := l.node.seenCount()
	hs := l.node.handshakeCount()
	reg, err := c.Register(ctx)
	exchanges(tl, "CSFalice", reg, "")
	var te *client.TargetError
	refused := errors.As(err, &te) && te.Op == "response" && te.Status == 503
	if refused {
		tl.say("CSFalice", "← %v from the edge proxy %s", te.Err, p.addr)
	}
	fails := p.failuresSince(0)
	for _, f := range fails {
		tl.say(p.name, "hop to %s failed: %v", f.Upstream, f.Err)
		for _, fd := range f.Findings {
			tl.say(p.name, "diagnosis: scenario %d [%s] %s", f.Scenario, fd.Code, fd.Message)
			if fd.Fix != "" {
				tl.note("    fix: %s", fd.Fix)
			}
		}
	}
	tl.check(refused, "the client is not registered: the edge proxy answers 503 (%v)", err)
	tl.check(len(fails) >= 1 && fails[0].Scenario == scenario && fails[0].Code() == code,
		"the edge proxy diagnoses scenario %d (%s)", scenario, code)
	edgeSeen := 0
	for _, r := range l.node.seenSince(mark) {
		if r.Role == registrar.RoleEdge {
			edgeSeen++
		}
	}
	tl.check(edgeSeen == 0, "no REGISTER reached the registrar's edge port")
	l.node.waitHandshakes(hs)
	nodeFails := l.node.handshakeFailures(hs)
	for _, f := range nodeFails {
		tl.say("node", "edge port handshake with %s failed: %v", f.Remote, f.Err)
		tl.say("node", "diagnosis: scenario %d [%s] %s", f.Diagnosis.Scenario, f.Diagnosis.Code, f.Diagnosis.Message)
		if f.Diagnosis.Fix != "" {
			tl.note("    fix: %s", f.Diagnosis.Fix)
		}
	}
	return nodeFails, nil
}

func (l *lab) unregister(tl *timeline, clients ...*client.Client) error {
	tl.step("5.", "The clients unregister")
	for _, c := range clients {
		if c == nil {
			continue
		}
		if err := c.Close(); err != nil {
			tl.check(false, "unregister: %v", err)
		}
	}
	ctx := context.Background()
	rado, _ := l.node.store.Lookup(ctx, "rado")
	alice, _ := l.node.store.Lookup(ctx, "alice")
	tl.say("node", "bindings left: rado %d, alice %d", len(rado), len(alice))
	tl.check(len(rado) == 0 && len(alice) == 0, "REGISTER with Expires: 0 removed both bindings")
	return nil
}
