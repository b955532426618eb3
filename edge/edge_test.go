package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/mtlstrust"
)

// checkForwarded checks what the node saw of a REGISTER the client sent
// with clientBranch: the proxy's Via on top, the client's below it, the
// Request-URI kept, over the proxy's certificate on the edge role.
func checkForwarded(t *testing.T, n *node, s seen, clientBranch string) {
	t.Helper()
	hs := s.req.GetHeaders("Via")
	if len(hs) != 2 {
		t.Fatalf("the node saw %d Via headers: %q", len(hs), vias(s.req))
	}
	top := hs[0].(*sip.ViaHeader)
	branch, _ := top.Params.Get("branch")
	_, remotePort, _ := net.SplitHostPort(s.remote)
	if top.ProtocolName != "SIP" || top.ProtocolVersion != "2.0" || top.Transport != "TLS" || top.Host != "127.0.0.1" ||
		strconv.Itoa(top.Port) != remotePort || !strings.HasPrefix(branch, "z9hG4bK") || branch == clientBranch {
		t.Fatalf("top Via %q, connection from %s, client branch %s", top.Value(), s.remote, clientBranch)
	}
	if b, _ := hs[1].(*sip.ViaHeader).Params.Get("branch"); b != clientBranch {
		t.Fatalf("second Via %q, want the client's branch %s", hs[1].Value(), clientBranch)
	}
	if got := s.req.Recipient.String(); got != requestURI {
		t.Fatalf("Request-URI %q, want %q", got, requestURI)
	}
	_, nodePort, _ := net.SplitHostPort(n.addr)
	if s.peerCN != proxyName || !s.verified || strconv.Itoa(s.local) != nodePort {
		t.Fatalf("node saw peer %q (verified %v) on port %d, want %s on %s", s.peerCN, s.verified, s.local, proxyName, nodePort)
	}
}

// TestRegisterThroughProxy is the MRA registration of the source
// document through the proxy, the node challenging: REGISTER → 407
// relayed → REGISTER with the token → 200 with Expires: 120.
func TestRegisterThroughProxy(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	n := newNode(t, p, iss, nodeOptions{})
	px := startProxy(t, p, Config{Upstreams: []string{n.addr}, ServerName: "127.0.0.1"})
	c := newSoftClient(t, p, px.addr)

	req := c.register()
	res := c.do(t, req, sipgo.ClientRequestRegisterBuild)
	if res.StatusCode != 407 || res.Reason != "Proxy Authentication Required" || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline"` {
		t.Fatalf("first answer:\n%s", res)
	}
	if v := vias(res); len(v) != 1 || branchOf(res) != branchOf(req) {
		t.Fatalf("the client got Via %q for its branch %s", v, branchOf(req))
	}
	s := n.next(t)
	checkForwarded(t, n, s, branchOf(req))
	if got := header(s.req, "Max-Forwards"); got != "69" {
		t.Fatalf("Max-Forwards at the node %q, want 69", got)
	}
	if got := header(s.req, "Proxy-Authorization"); got != "" {
		t.Fatalf("Proxy-Authorization %q appeared", got)
	}
	firstConn := s.remote

	tok := iss.mint(t, 0)
	res, req = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+tok+`"`)
	if res.StatusCode != 200 || res.Reason != "OK" || header(res, "Expires") != "120" {
		t.Fatalf("second answer:\n%s", res)
	}
	if contact := header(res, "Contact"); !strings.HasSuffix(contact, ";x-cisco-newreg") || !strings.Contains(contact, `+u.sip!devicename.ccm.cisco.com="CSFrado"`) {
		t.Fatalf("contact %q", contact)
	}
	if v := vias(res); len(v) != 1 || branchOf(res) != branchOf(req) {
		t.Fatalf("the client got Via %q for its branch %s", v, branchOf(req))
	}
	s = n.next(t)
	checkForwarded(t, n, s, branchOf(req))
	if got := header(s.req, "Proxy-Authorization"); got != `Bearer token="`+tok+`"` {
		t.Fatal("the token did not reach the node unchanged")
	}
	if s.remote != firstConn {
		t.Fatalf("second REGISTER came from %s, the first from %s: the upstream connection was not reused", s.remote, firstConn)
	}
	bs, err := n.store.Lookup(context.Background(), "rado")
	if err != nil || len(bs) != 1 || bs[0].Device != "CSFrado" || bs[0].User != "rado" {
		t.Fatalf("bindings %+v, %v", bs, err)
	}
	want := Stats{Received: 2, Forwarded: 2, Relayed: 2}
	if got := px.Stats(); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	px.noFailure(t)
	if logs := px.logs.String(); strings.Contains(logs, tok) || !strings.Contains(logs, "edge: answer relayed") {
		t.Fatalf("logs hold the token or miss the relays:\n%s", logs)
	}
}

// TestEdgeValidation: with a validator the proxy challenges and refuses
// tokens itself, and only a valid token reaches the node.
func TestEdgeValidation(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	n := newNode(t, p, iss, nodeOptions{})
	px := startProxy(t, p, Config{Upstreams: []string{n.addr}, ServerName: "127.0.0.1", Validator: iss.validator})
	c := newSoftClient(t, p, px.addr)

	req := c.register()
	res := c.do(t, req, sipgo.ClientRequestRegisterBuild)
	if res.StatusCode != 407 || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline"` || len(vias(res)) != 1 || branchOf(res) != branchOf(req) {
		t.Fatalf("no credentials:\n%s", res)
	}

	expired := iss.mint(t, -time.Minute)
	foreign := newIssued(t).mint(t, 0)
	refused := []struct{ name, value, secret string }{
		{"expired", `Bearer token="` + expired + `"`, expired},
		{"signed by another issuer", `Bearer token="` + foreign + `"`, foreign},
		{"not a JWT", `Bearer token="not-a-jwt"`, "not-a-jwt"},
	}
	for _, r := range refused {
		res, req = c.retry(t, req, "Proxy-Authorization", r.value)
		if res.StatusCode != 407 || res.Reason != "Proxy Authentication Required" ||
			header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline", error="invalid_token"` {
			t.Fatalf("%s:\n%s", r.name, res)
		}
	}
	res, req = c.retry(t, req, "Proxy-Authorization", `Bearer token="a", Bearer token="b"`)
	if res.StatusCode != 400 {
		t.Fatalf("two tokens:\n%s", res)
	}
	n.none(t)
	if st := px.Stats(); st.RejectedAtEdge != 5 || st.Forwarded != 0 || st.Received != 5 {
		t.Fatalf("stats %+v", st)
	}
	if strings.Contains(px.logs.String(), "connected to node") {
		t.Fatal("the proxy connected to the node for a refused token")
	}

	tok := iss.mint(t, 0)
	res, req = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+tok+`"`)
	if res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("valid token:\n%s", res)
	}
	s := n.next(t)
	checkForwarded(t, n, s, branchOf(req))
	if header(s.req, "Proxy-Authorization") != `Bearer token="`+tok+`"` {
		t.Fatal("the credentials were not forwarded")
	}
	logs := px.logs.String()
	for _, secret := range []string{expired, foreign, tok} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a token is in the logs:\n%s", logs)
		}
	}
	if !strings.Contains(logs, "reason=expired") || !strings.Contains(logs, "reason=no-credentials") {
		t.Fatalf("the refusals are not logged with their reason:\n%s", logs)
	}
	px.noFailure(t)
}

// TestScenario2: the proxy does not trust the signer of the node's
// certificate. The client gets 503 with the Warning, the caller
// scenario 2.
func TestScenario2(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	n := newNode(t, p, iss, nodeOptions{})
	px := startProxy(t, p, Config{Upstreams: []string{n.addr}, ServerName: "127.0.0.1", NodeTrust: mtlstrust.NewTrustStore(p.otherCA.Cert)})
	rc := dialRaw(t, p, px.addr)

	rc.send(t, rawRegister("z9hG4bKs2a", 1, "70"))
	raw, res := rc.read(t, 5*time.Second)
	wantLines := []string{
		"SIP/2.0 503 Service Unavailable\r\n",
		"\r\nVia: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bKs2a;received=127.0.0.1\r\n",
		"\r\nWarning: 399 expc1 \"Edge proxy does not trust the registrar certificate\"\r\n",
		"\r\nRetry-After: 30\r\n",
		"\r\nCSeq: 1 REGISTER\r\n",
	}
	for _, l := range wantLines {
		if !strings.Contains(raw, l) {
			t.Fatalf("answer lacks %q:\n%s", l, raw)
		}
	}
	if !strings.HasPrefix(raw, wantLines[0]) || res.StatusCode != 503 {
		t.Fatalf("answer:\n%s", raw)
	}
	f := px.failure(t)
	if f.Scenario != 2 || f.Code() != diag.CodeUnknownCAAtEdge || f.Upstream != n.addr || f.ServerName != "127.0.0.1" ||
		len(f.Findings) != 1 || f.Findings[0].Fix == "" || !strings.Contains(f.Findings[0].Message, "Node CA") {
		t.Fatalf("failure %+v", f)
	}
	var cve *tls.CertificateVerificationError
	if !errors.As(f.Err, &cve) {
		t.Fatalf("raw error %T %v", f.Err, f.Err)
	}
	n.none(t)
	if st := px.Stats(); st.UpstreamFailures != 1 || st.Unavailable != 1 || st.Forwarded != 0 {
		t.Fatalf("stats %+v", st)
	}
	if logs := px.logs.String(); !strings.Contains(logs, "code=unknown-ca-at-edge-proxy") || !strings.Contains(logs, "scenario=2") {
		t.Fatalf("failure not logged:\n%s", logs)
	}
}

// TestScenario3: the node refuses the proxy's certificate, because its
// tomcat-trust lacks the proxy's signer (alert unknown_ca) or because the
// proxy's names are not in its table (alert bad_certificate); in TLS 1.3
// the refusal comes after the proxy's handshake is done, in TLS 1.2
// during it.
func TestScenario3(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	cases := []struct {
		name string
		opts nodeOptions
		code string
	}{
		{"unknown CA at the node, TLS 1.3", nodeOptions{trust: p.otherCA}, diag.CodeUnknownCAAtNode},
		{"unknown CA at the node, TLS 1.2", nodeOptions{trust: p.otherCA, tls12: true}, diag.CodeUnknownCAAtNode},
		{"not in the table, TLS 1.3", nodeOptions{tableNames: []string{"expc2.example.com"}}, diag.CodeBadCertificate},
		{"not in the table, TLS 1.2", nodeOptions{tableNames: []string{"expc2.example.com"}, tls12: true}, diag.CodeBadCertificate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, p, iss, tc.opts)
			px := startProxy(t, p, Config{Upstreams: []string{n.addr}, ServerName: "127.0.0.1"})
			rc := dialRaw(t, p, px.addr)
			start := time.Now()
			rc.send(t, rawRegister("z9hG4bKs3", 1, "70"))
			raw, res := rc.read(t, 5*time.Second)
			within(t, "the answer", time.Since(start), 3*time.Second)
			if res.StatusCode != 503 || !strings.Contains(raw, "\r\nWarning: 399 expc1 \"Registrar refused the edge proxy certificate\"\r\n") ||
				!strings.Contains(raw, "\r\nRetry-After: 30\r\n") {
				t.Fatalf("answer:\n%s", raw)
			}
			f := px.failure(t)
			if f.Scenario != 3 || f.Code() != tc.code || f.Upstream != n.addr || f.Findings[0].Fix == "" {
				t.Fatalf("failure %+v", f)
			}
			n.none(t)
			px.noFailure(t)
		})
	}
}

// TestFailover: the first node refuses connections; the REGISTER goes to
// the second, and the next one goes there first.
func TestFailover(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	n := newNode(t, p, iss, nodeOptions{})
	dead := refusedAddr(t)
	px := startProxy(t, p, Config{Upstreams: []string{dead, n.addr}, ServerName: "127.0.0.1"})
	c := newSoftClient(t, p, px.addr)

	req := c.register()
	res := c.do(t, req, sipgo.ClientRequestRegisterBuild)
	if res.StatusCode != 407 || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline"` {
		t.Fatalf("first answer:\n%s", res)
	}
	checkForwarded(t, n, n.next(t), branchOf(req))
	f := px.failure(t)
	if f.Upstream != dead || f.Code() != CodeUpstreamUnreachable || f.Scenario != 0 || !errors.Is(f.Err, syscall.ECONNREFUSED) {
		t.Fatalf("failure %+v", f)
	}

	res, req = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+iss.mint(t, 0)+`"`)
	if res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("second answer:\n%s", res)
	}
	checkForwarded(t, n, n.next(t), branchOf(req))
	px.noFailure(t) // the dead node is now tried last
	if st := px.Stats(); st.UpstreamFailures != 1 || st.Forwarded != 2 || st.Relayed != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRequestValidation: Max-Forwards 0 gets 483 without reaching the
// node, Max-Forwards is decremented or set, Proxy-Require gets 420.
func TestRequestValidation(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	n := newNode(t, p, iss, nodeOptions{})
	px := startProxy(t, p, Config{Upstreams: []string{n.addr}, ServerName: "127.0.0.1"})
	rc := dialRaw(t, p, px.addr)

	rc.send(t, rawRegister("z9hG4bKmf0", 1, "0"))
	raw, _ := rc.read(t, 5*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 483 Too Many Hops\r\n") ||
		!strings.Contains(raw, "\r\nVia: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bKmf0;received=127.0.0.1\r\n") {
		t.Fatalf("Max-Forwards 0:\n%s", raw)
	}
	n.none(t)

	for _, tc := range []struct{ in, atNode string }{{"1", "0"}, {"", "70"}, {"70", "69"}} {
		cseq := 2
		rc.send(t, rawRegister("z9hG4bKmf"+tc.in, cseq, tc.in))
		raw, _ = rc.read(t, 5*time.Second)
		if !strings.HasPrefix(raw, "SIP/2.0 407 Proxy Authentication Required\r\n") ||
			!strings.Contains(raw, "\r\nVia: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bKmf"+tc.in+";received=127.0.0.1\r\n") ||
			strings.Count(raw, "Via:") != 1 {
			t.Fatalf("Max-Forwards %q:\n%s", tc.in, raw)
		}
		s := n.next(t)
		if got := header(s.req, "Max-Forwards"); got != tc.atNode {
			t.Fatalf("Max-Forwards %q reached the node as %q", tc.in, got)
		}
		if v := vias(s.req); len(v) != 2 || v[1] != "SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bKmf"+tc.in+";received=127.0.0.1" {
			t.Fatalf("Vias at the node %q", v)
		}
	}

	rc.send(t, rawRegister("z9hG4bKpr", 3, "70", "Proxy-Require: sec-agree, foo"))
	raw, _ = rc.read(t, 5*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 420 Bad Extension\r\n") || !strings.Contains(raw, "\r\nUnsupported: sec-agree, foo\r\n") {
		t.Fatalf("Proxy-Require:\n%s", raw)
	}
	n.none(t)

	opts := strings.Replace(rawRegister("z9hG4bKopt", 4, "70"), "REGISTER", "OPTIONS", 2)
	rc.send(t, opts)
	raw, _ = rc.read(t, 5*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 200 OK\r\n") || !strings.Contains(raw, "\r\nAllow: REGISTER, OPTIONS\r\n") {
		t.Fatalf("OPTIONS:\n%s", raw)
	}
	msg := strings.Replace(rawRegister("z9hG4bKmsg", 5, "70"), "REGISTER", "MESSAGE", 2)
	rc.send(t, msg)
	raw, _ = rc.read(t, 5*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 405 Method Not Allowed\r\n") {
		t.Fatalf("MESSAGE:\n%s", raw)
	}
	n.none(t)
	if st := px.Stats(); st.RejectedAtEdge != 2 || st.Forwarded != 3 || st.Relayed != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRelayAndBusyFailover: a node answering 503 passes the REGISTER to
// the next; provisional answers other than 100 are relayed; CRLF
// keepalives between the node's messages are skipped; every answer loses
// the proxy's Via.
func TestRelayAndBusyFailover(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	busy := newFakeNode(t, p, func(req *sip.Request, _ int) []string {
		return []string{reply(req, 503, "Service Unavailable", "Retry-After: 5")}
	})
	good := newFakeNode(t, p, func(req *sip.Request, _ int) []string {
		return []string{
			"\r\n\r\n",
			reply(req, 100, "Trying"),
			reply(req, 182, "Queued"),
			"\r\n\r\n",
			reply(req, 200, "OK", "Expires: 120"),
		}
	})
	px := startProxy(t, p, Config{Upstreams: []string{busy.addr, good.addr}, ServerName: "127.0.0.1"})
	rc := dialRaw(t, p, px.addr)
	rc.send(t, rawRegister("z9hG4bKrelay", 7, "70"))

	clientVia := "\r\nVia: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bKrelay;received=127.0.0.1\r\n"
	raw, _ := rc.read(t, 5*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 182 Queued\r\n") || !strings.Contains(raw, clientVia) || strings.Count(raw, "Via:") != 1 {
		t.Fatalf("provisional answer:\n%s", raw)
	}
	raw, _ = rc.read(t, 5*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 200 OK\r\n") || !strings.Contains(raw, clientVia) || strings.Count(raw, "Via:") != 1 ||
		!strings.Contains(raw, "\r\nExpires: 120\r\n") || !strings.Contains(raw, "\r\nCSeq: 7 REGISTER\r\n") {
		t.Fatalf("final answer:\n%s", raw)
	}
	b1, b2 := branchOf(<-busy.requests), branchOf(<-good.requests)
	if b1 == b2 || !strings.HasPrefix(b1, "z9hG4bK") || !strings.HasPrefix(b2, "z9hG4bK") {
		t.Fatalf("branches %q and %q", b1, b2)
	}
	if st := px.Stats(); st.Forwarded != 2 || st.Relayed != 1 || st.UpstreamFailures != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestBusyEverywhere: when every node answers 503, the last 503 is
// relayed.
func TestBusyEverywhere(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	busy := newFakeNode(t, p, func(req *sip.Request, _ int) []string {
		return []string{reply(req, 503, "Service Unavailable", "Retry-After: 5")}
	})
	px := startProxy(t, p, Config{Upstreams: []string{busy.addr}, ServerName: "127.0.0.1"})
	rc := dialRaw(t, p, px.addr)
	rc.send(t, rawRegister("z9hG4bKbusy", 1, "70"))
	raw, _ := rc.read(t, 5*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 503 Service Unavailable\r\n") || !strings.Contains(raw, "\r\nRetry-After: 5\r\n") || strings.Contains(raw, "Warning:") {
		t.Fatalf("answer:\n%s", raw)
	}
}

// TestUpstreamTimeout: a node that never answers, and one that never
// finishes its handshake, give the client a final answer in bounded time.
func TestUpstreamTimeout(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	t.Run("no answer", func(t *testing.T) {
		silent := newFakeNode(t, p, func(*sip.Request, int) []string { return nil })
		px := startProxy(t, p, Config{Upstreams: []string{silent.addr}, ServerName: "127.0.0.1", Timeout: 800 * time.Millisecond})
		rc := dialRaw(t, p, px.addr)
		start := time.Now()
		rc.send(t, rawRegister("z9hG4bKsilent", 1, "70"))
		raw, _ := rc.read(t, 5*time.Second)
		elapsed := time.Since(start)
		if !strings.HasPrefix(raw, "SIP/2.0 504 Server Time-out\r\n") || !strings.Contains(raw, "\r\nWarning: 399 expc1 \"No answer from the registrar\"\r\n") ||
			strings.Contains(raw, "Retry-After") {
			t.Fatalf("answer:\n%s", raw)
		}
		if elapsed < 700*time.Millisecond {
			t.Fatalf("answered after %v, before the timeout", elapsed)
		}
		within(t, "the 504", elapsed, 3*time.Second)
		if f := px.failure(t); f.Code() != CodeUpstreamTimeout || f.Upstream != silent.addr {
			t.Fatalf("failure %+v", f)
		}
		if st := px.Stats(); st.Timeouts != 1 || st.Forwarded != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("no handshake", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held := make(chan net.Conn, 4)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				held <- c // accepted, never answered
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			for len(held) > 0 {
				(<-held).Close()
			}
		})
		px := startProxy(t, p, Config{Upstreams: []string{ln.Addr().String()}, ServerName: "127.0.0.1", DialTimeout: 300 * time.Millisecond, Timeout: 3 * time.Second})
		rc := dialRaw(t, p, px.addr)
		start := time.Now()
		rc.send(t, rawRegister("z9hG4bKnohs", 1, "70"))
		raw, _ := rc.read(t, 5*time.Second)
		within(t, "the 503", time.Since(start), 2*time.Second)
		if !strings.HasPrefix(raw, "SIP/2.0 503 Service Unavailable\r\n") || !strings.Contains(raw, "\r\nWarning: 399 expc1 \"Registrar unreachable\"\r\n") {
			t.Fatalf("answer:\n%s", raw)
		}
		f := px.failure(t)
		if f.Code() != CodeUpstreamUnreachable || !isTimeout(f.Err) {
			t.Fatalf("failure %+v", f)
		}
	})
}

// TestCloseAnswersWaiting: Close answers a REGISTER waiting for a node
// with 503, and Serve returns ErrClosed.
func TestCloseAnswersWaiting(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	silent := newFakeNode(t, p, func(*sip.Request, int) []string { return nil })
	px := startProxy(t, p, Config{Upstreams: []string{silent.addr}, ServerName: "127.0.0.1", Timeout: time.Minute})
	rc := dialRaw(t, p, px.addr)
	rc.send(t, rawRegister("z9hG4bKclose", 1, "70"))
	select {
	case <-silent.requests:
	case <-time.After(5 * time.Second):
		t.Fatal("the REGISTER was not forwarded")
	}
	start := time.Now()
	if err := px.Close(); err != nil {
		t.Fatal(err)
	}
	within(t, "Close", time.Since(start), 3*time.Second)
	raw, _ := rc.read(t, 3*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 503 Service Unavailable\r\n") || !strings.Contains(raw, "\r\nWarning: 399 expc1 \"Edge proxy shutting down\"\r\n") {
		t.Fatalf("answer:\n%s", raw)
	}
	select {
	case err := <-px.served:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return")
	}
	px.noFailure(t)
	if _, err := px.Listen("127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Listen after Close: %v", err)
	}
	if err := px.ListenAndServe("127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("ListenAndServe after Close: %v", err)
	}
	if err := px.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestConfigErrors: New refuses what cannot work, saying why.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	trust := mtlstrust.NewTrustStore(p.nodeCA.Cert)
	ok := Config{Certificate: p.proxyCert, NodeTrust: trust, Upstreams: []string{"127.0.0.1:5091"}}
	cases := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"no certificate", func(c *Config) { c.Certificate = nil }, "Certificate is required"},
		{"no trust", func(c *Config) { c.NodeTrust = nil }, "NodeTrust is required"},
		{"no upstream", func(c *Config) { c.Upstreams = nil }, "at least one upstream"},
		{"no port", func(c *Config) { c.Upstreams = []string{"127.0.0.1"} }, `upstream "127.0.0.1"`},
		{"port 0", func(c *Config) { c.Upstreams = []string{"127.0.0.1:0"} }, "bad port"},
		{"twice", func(c *Config) { c.Upstreams = []string{"127.0.0.1:5091", "127.0.0.1:5091"} }, "listed twice"},
		{"bad name", func(c *Config) { c.Name = `exp "c"` }, "neither a host name nor a token"},
		{"plain table", func(c *Config) { c.Table = &TableConfig{URL: "http://127.0.0.1:8443", User: "u"} }, "https is required"},
		{"table without user", func(c *Config) { c.Table = &TableConfig{URL: "https://127.0.0.1:8443"} }, "User is required"},
	}
	for _, tc := range cases {
		cfg := ok
		tc.change(&cfg)
		_, err := New(cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	px, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	if px.Name() != proxyName {
		t.Fatalf("default name %q, want the certificate's %q", px.Name(), proxyName)
	}
	if err := px.Serve(nil); err == nil {
		t.Fatal("Serve(nil) passed")
	}
}

// TestReconnectAfterIdleClose: a node that closed the shared connection
// is dialed again for the REGISTER that found it closed, which is not a
// failure of the node.
func TestReconnectAfterIdleClose(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	fake := newFakeNode(t, p, func(req *sip.Request, nth int) []string {
		if nth == 1 {
			return []string{closeConn} // the second REGISTER on a connection
		}
		return []string{reply(req, 200, "OK", "Expires: 120")}
	})
	px := startProxy(t, p, Config{Upstreams: []string{fake.addr}, ServerName: "127.0.0.1"})
	rc := dialRaw(t, p, px.addr)
	for i, b := range []string{"z9hG4bKidle1", "z9hG4bKidle2"} {
		rc.send(t, rawRegister(b, i+1, "70"))
		raw, _ := rc.read(t, 5*time.Second)
		if !strings.HasPrefix(raw, "SIP/2.0 200 OK\r\n") || !strings.Contains(raw, "branch="+b+";") {
			t.Fatalf("REGISTER %d:\n%s", i+1, raw)
		}
	}
	px.noFailure(t)
	if st := px.Stats(); st.Forwarded != 3 || st.Relayed != 2 || st.UpstreamFailures != 0 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(px.logs.String(), "reconnecting") {
		t.Fatalf("logs:\n%s", px.logs)
	}
}

// TestBadUpstreamResponse: a node whose bytes are not SIP gets the client
// a 502 and the caller a finding.
func TestBadUpstreamResponse(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	fake := newFakeNode(t, p, func(*sip.Request, int) []string {
		return []string{"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}
	})
	px := startProxy(t, p, Config{Upstreams: []string{fake.addr}, ServerName: "127.0.0.1"})
	rc := dialRaw(t, p, px.addr)
	rc.send(t, rawRegister("z9hG4bKbad", 1, "70"))
	raw, _ := rc.read(t, 5*time.Second)
	if !strings.HasPrefix(raw, "SIP/2.0 502 Bad Gateway\r\n") || !strings.Contains(raw, "\r\nWarning: 399 expc1 \"Bad response from the registrar\"\r\n") {
		t.Fatalf("answer:\n%s", raw)
	}
	if f := px.failure(t); f.Code() != CodeBadUpstreamResponse || f.Upstream != fake.addr || f.Err == nil {
		t.Fatalf("failure %+v", f)
	}
	px.noFailure(t)
}

// TestRequestFromNode: the node's own requests on the connection are
// answered without disturbing the REGISTER in flight: OPTIONS (a
// keepalive) with 200, anything else with 501.
func TestRequestFromNode(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	fake := newFakeNode(t, p, func(req *sip.Request, _ int) []string {
		ping := func(method, callID string) string {
			return method + " sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5091;branch=z9hG4bKnode" + callID +
				"\r\nMax-Forwards: 70\r\nFrom: <sip:node@127.0.0.1>;tag=9\r\nTo: <sip:edge@127.0.0.1>\r\nCall-ID: " + callID +
				"\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n"
		}
		return []string{ping("OPTIONS", "ping1"), ping("NOTIFY", "ping2"), reply(req, 200, "OK", "Expires: 120")}
	})
	px := startProxy(t, p, Config{Upstreams: []string{fake.addr}, ServerName: "127.0.0.1"})
	rc := dialRaw(t, p, px.addr)
	rc.send(t, rawRegister("z9hG4bKping", 1, "70"))
	if raw, _ := rc.read(t, 5*time.Second); !strings.HasPrefix(raw, "SIP/2.0 200 OK\r\n") {
		t.Fatalf("answer:\n%s", raw)
	}
	want := map[string]string{"ping1": "200 OK", "ping2": "501 Not Implemented"}
	for range want {
		select {
		case res := <-fake.responses:
			got := strconv.Itoa(res.StatusCode) + " " + res.Reason
			if got != want[res.CallID().Value()] || branchOf(res) != "z9hG4bKnode"+res.CallID().Value() || header(res, "Allow") != "OPTIONS" {
				t.Fatalf("answer to the node:\n%s", res)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the node's requests were not answered")
		}
	}
}

// TestFailureError: a Failure reads as one line and unwraps to its cause.
func TestFailureError(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp 127.0.0.1:5091: connect: connection refused")
	f := connectFailure("127.0.0.1:5091", "127.0.0.1", cause)
	want := "edge: upstream 127.0.0.1:5091: upstream-unreachable: no connection to the node: " + cause.Error()
	if f.Error() != want || !errors.Is(f, cause) || f.Code() != CodeUpstreamUnreachable {
		t.Fatalf("%q", f.Error())
	}
	if got := (Failure{Upstream: "x:1"}).Error(); got != "edge: upstream x:1: failed" {
		t.Fatalf("%q", got)
	}
	if got := (Failure{}).Code(); got != "" {
		t.Fatalf("%q", got)
	}
}

// TestConcurrentRegisters: REGISTERs from many clients at once share one
// connection to the node, and each client gets its own answer.
func TestConcurrentRegisters(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	n := newNode(t, p, iss, nodeOptions{})
	n.seen = make(chan seen, 64)
	px := startProxy(t, p, Config{Upstreams: []string{n.addr}, ServerName: "127.0.0.1"})
	const clients = 20
	errs := make(chan string, clients)
	for i := range clients {
		rc := dialRaw(t, p, px.addr)
		go func() {
			branch := "z9hG4bKconc" + strconv.Itoa(i)
			rc.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := rc.conn.Write([]byte(rawRegister(branch, 1, "70"))); err != nil {
				errs <- err.Error()
				return
			}
			rc.conn.SetReadDeadline(time.Now().Add(8 * time.Second))
			head, err := rc.r.ReadString('\n')
			var rest strings.Builder
			for err == nil {
				var line string
				line, err = rc.r.ReadString('\n')
				rest.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			switch {
			case err != nil:
				errs <- branch + ": " + err.Error()
			case head != "SIP/2.0 407 Proxy Authentication Required\r\n" || !strings.Contains(rest.String(), "branch="+branch+";received=127.0.0.1\r\n"):
				errs <- branch + ": " + head + rest.String()
			default:
				errs <- ""
			}
		}()
	}
	for range clients {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
	from := map[string]bool{}
	for range clients {
		from[n.next(t).remote] = true
	}
	if len(from) != 1 {
		t.Fatalf("the REGISTERs reached the node over %d connections", len(from))
	}
	if st := px.Stats(); st.Forwarded != clients || st.Relayed != clients || st.UpstreamFailures != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestMalformedNotLogged: a message that cannot be framed is refused
// before the SIP stack sees it (Listen's siplimit listener), and logged
// without its bytes, which may hold a token.
func TestMalformedNotLogged(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	n := newNode(t, p, iss, nodeOptions{})
	px := startProxy(t, p, Config{Upstreams: []string{n.addr}, ServerName: "127.0.0.1"})
	rc := dialRaw(t, p, px.addr)
	secret := iss.mint(t, 0)
	// No Content-Length: the stream cannot be framed.
	rc.send(t, "REGISTER sip:ucm.example.com SIP/2.0\r\nVia: SIP/2.0/TLS 10.0.0.5;branch=z9hG4bKmal\r\nProxy-Authorization: Bearer token=\""+secret+"\"\r\n\r\n")
	rc.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := rc.r.ReadByte(); err == nil {
		t.Fatal("the proxy answered an unframed message")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(px.logs.String(), `reason="bad framing"`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logs := px.logs.String()
	if !strings.Contains(logs, `msg="siplimit: connection closed" reason="bad framing"`) || strings.Contains(logs, secret) || strings.Contains(logs, "failed to parse") {
		t.Fatalf("logs:\n%s", logs)
	}
	n.none(t)
}
