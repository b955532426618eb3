package registrar_test

import (
	"bufio"
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/edge"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

// routeLab is a node served by sipserve over TLS on its OAuth and edge
// ports, an edge proxy in front of the edge port, and the issuer.
type routeLab struct {
	reg       *registrar.Registrar
	issuer    *issuer.Issuer
	nodeCA    *testca.CA
	oauthPort int
	edgePort  int
	edgeAddr  string // the edge proxy's client listener
	proxyName string
	proxyCert *testca.Leaf // expc1.example.com, in the edge-proxy table
	// kamailioCert is a third-party proxy's, kamailio.example.com, in the
	// table too.
	kamailioCert *testca.Leaf
}

func newRouteLab(t *testing.T) *routeLab {
	t.Helper()
	l := &routeLab{proxyName: "expe1.example.com"}
	var err error
	if l.issuer, err = issuer.New(issuer.Config{Issuer: "https://cucm.example.com", Nested: true}); err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{l.issuer.KeyID(): l.issuer.PublicKey()})
	kid, key := l.issuer.EncryptionKey()
	dec, _ := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec})
	if err != nil {
		t.Fatal(err)
	}
	l.nodeCA = testca.New(t, "Node CA")
	proxyCA := testca.New(t, "Expressway CA")
	nodeCert, _ := mtlstrust.NewCertSource(l.nodeCA.Server(t, "127.0.0.1").TLS())
	table := &edgetable.Memory{}
	table.Put(edgetable.Entry{HostNameOrIP: "expc1", Names: []string{"expc1.example.com"}})
	table.Put(edgetable.Entry{HostNameOrIP: "kamailio", Names: []string{"kamailio.example.com"}})
	quiet := slog.New(slog.DiscardHandler)
	if os.Getenv("ROUTE_DEBUG") != "" {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	rawOAuth, _ := net.Listen("tcp", "127.0.0.1:0")
	rawEdge, _ := net.Listen("tcp", "127.0.0.1:0")
	lnOAuth := siplimit.NewTLSListener(rawOAuth, mtlstrust.OAuthServerConfig(nodeCert), siplimit.Limits{},
		mtlstrust.ListenerOptions{Side: diag.NodeSide}, siplimit.WithLogger(quiet))
	lnEdge := siplimit.NewTLSListener(rawEdge, mtlstrust.EdgeServerConfig(nodeCert, mtlstrust.NewTrustStore(proxyCA.Cert), edgetable.Authorize(table)),
		siplimit.Limits{}, mtlstrust.ListenerOptions{Side: diag.NodeSide}, siplimit.WithLogger(quiet))
	l.oauthPort, l.edgePort = rawOAuth.Addr().(*net.TCPAddr).Port, rawEdge.Addr().(*net.TCPAddr).Port
	l.reg, err = registrar.New(registrar.Config{NodeName: "UCM2-PUB", Validator: v, Logger: quiet,
		Devices: registrar.MemoryDevices{
			"CSFrado":  {Name: "CSFrado", Owner: "rado", OAuth: true},
			"CSFalice": {Name: "CSFalice", Owner: "alice", OAuth: true},
			"CSFbob":   {Name: "CSFbob", Owner: "bob", OAuth: true},
			"CSFcarol": {Name: "CSFcarol", Owner: "carol", OAuth: true},
			"CSFdave":  {Name: "CSFdave", Owner: "dave", OAuth: true},
			"CSFerin":  {Name: "CSFerin", Owner: "erin", OAuth: true},
			"CSFfrank": {Name: "CSFfrank", Owner: "frank", OAuth: true},
		},
		Ports: registrar.Ports{l.oauthPort: registrar.RoleOAuth, l.edgePort: registrar.RoleEdge}, EdgeAuthorizer: edgetable.Authorize(table)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &sipserve.Server{Handler: sipserve.Methods{sip.REGISTER: l.reg}, Logger: quiet}
	go srv.ServeStream(lnOAuth)
	go srv.ServeStream(lnEdge, sipserve.Shared())
	t.Cleanup(func() { srv.Close() })

	l.proxyCert = proxyCA.Client(t, "expc1.example.com")
	l.kamailioCert = proxyCA.Client(t, "kamailio.example.com")
	proxyCert, _ := mtlstrust.NewCertSource(l.proxyCert.TLS())
	listenCert, _ := mtlstrust.NewCertSource(l.nodeCA.Server(t, "127.0.0.1").TLS())
	p, err := edge.New(edge.Config{Name: l.proxyName, Certificate: proxyCert, ListenCertificate: listenCert,
		NodeTrust: mtlstrust.NewTrustStore(l.nodeCA.Cert), Upstreams: []string{rawEdge.Addr().String()}, ServerName: "127.0.0.1",
		Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.edgeAddr = ln.Addr().String()
	go p.Serve(ln)
	t.Cleanup(func() { p.Close() })
	return l
}

// inbox records what reaches a client.
type inbox struct {
	mu   sync.Mutex
	got  []*sip.Request
	more chan struct{}
}

func (b *inbox) handle(_ context.Context, req *sip.Request) *sip.Response {
	b.mu.Lock()
	b.got = append(b.got, req)
	b.mu.Unlock()
	select {
	case b.more <- struct{}{}:
	default:
	}
	return sip.NewResponseFromRequest(req, 200, "OK", nil)
}

// clientFor registers device of user, directly or through the edge proxy.
func (l *routeLab) clientFor(t *testing.T, device, user string, mra bool, in *inbox) *client.Client {
	t.Helper()
	cfg := cnfxml.NewCSF(device)
	cfg.UserID = user
	cfg.CallManagers = []cnfxml.CallManager{{Name: "127.0.0.1", Ports: cnfxml.Ports{SIPOAuth: l.oauthPort, SIPMRAOAuth: l.edgePort}}}
	tok, err := l.issuer.Mint(issuer.TokenRequest{User: user, Device: device})
	if err != nil {
		t.Fatal(err)
	}
	cc := client.Config{DeviceName: device, Device: cfg, TLSConfig: &tls.Config{RootCAs: l.nodeCA.Pool()},
		Tokens: client.StaticTokenSource(&client.Token{AccessToken: tok}), Logger: slog.New(slog.DiscardHandler)}
	if in != nil {
		cc.OnRequest = in.handle
	}
	if mra {
		cc.Deployment, cc.EdgeAddr, cc.EdgeServerName = cnfxml.MRA, l.edgeAddr, "127.0.0.1"
	}
	c, err := client.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReachRegisteredClients: after registration, Lookup gives each
// contact with its flow and route set, and a MESSAGE sent with Send
// reaches the client registered directly over its own TLS connection and
// the MRA client through the edge proxy, whose Path (with its flow token)
// the node stored and echoed. After the direct client's connection
// closes, Lookup shows its flow gone and Send says so.
func TestReachRegisteredClients(t *testing.T) {
	l := newRouteLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	direct, mra := &inbox{more: make(chan struct{}, 1)}, &inbox{more: make(chan struct{}, 1)}
	rado := l.clientFor(t, "CSFrado", "rado", false, direct)
	defer rado.Close()
	alice := l.clientFor(t, "CSFalice", "alice", true, mra)
	defer alice.Close()
	if _, err := rado.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Register(ctx); err != nil {
		t.Fatal(err)
	}

	from := sip.Uri{Scheme: "sip", User: "ucm", Host: "127.0.0.1"}
	send := func(method sip.RequestMethod, aor, text string, in *inbox) registrar.Contact {
		t.Helper()
		cs, err := l.reg.Lookup(ctx, aor)
		if err != nil || len(cs) != 1 {
			t.Fatalf("Lookup(%s): %+v, %v", aor, cs, err)
		}
		c := cs[0]
		if c.Flow == "" || !c.FlowUp || !c.Local || c.Device == "" || c.Instance == "" || time.Until(c.Expires) < time.Minute {
			t.Fatalf("contact of %s: %+v", aor, c)
		}
		req, err := c.NewRequest(method, from)
		if err != nil {
			t.Fatal(err)
		}
		req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
		req.SetBody([]byte(text))
		res, err := l.reg.Send(ctx, c, req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("Send %s to %s: %v, %v", method, aor, res, err)
		}
		if method == sip.OPTIONS {
			// The client answers it itself, the keep-alive probe.
			if allow := res.GetHeader("Allow"); allow == nil || !strings.Contains(allow.Value(), "MESSAGE") {
				t.Errorf("OPTIONS answered without the client's Allow: %v", res)
			}
			return c
		}
		select {
		case <-in.more:
		case <-ctx.Done():
			t.Fatal("nothing arrived")
		}
		in.mu.Lock()
		got := in.got[len(in.got)-1]
		in.mu.Unlock()
		if got.Method != method || string(got.Body()) != text || got.Recipient.String() != c.Contact {
			t.Fatalf("%s received %s %s %q", aor, got.Method, got.Recipient.String(), got.Body())
		}
		return c
	}
	c := send(sip.MESSAGE, "rado", "hello on-premises", direct)
	if len(c.Path) != 0 {
		t.Errorf("a direct client's route set: %q", c.Path)
	}
	c = send(sip.MESSAGE, "alice", "hello over MRA", mra)
	// The other methods the edge proxy relays by the flow token.
	send(sip.NOTIFY, "alice", "event", mra)
	send(sip.INFO, "alice", "info", mra)
	send(sip.OPTIONS, "alice", "", mra)
	if len(c.Path) != 1 || !strings.HasPrefix(c.Path[0], "<sip:") || !strings.HasSuffix(c.Path[0], "@"+l.proxyName+";transport=tls;lr;ob>") {
		t.Errorf("the MRA client's route set: %q", c.Path)
	}
	mra.mu.Lock()
	if vias := mra.got[0].GetHeaders("Via"); len(vias) != 2 {
		t.Errorf("the MRA client's MESSAGE came with %d Vias, want the edge's and the node's", len(vias))
	}
	if mra.got[0].GetHeader("Route") != nil {
		t.Error("the edge proxy left its Route in")
	}
	mra.mu.Unlock()

	// The edge proxy's connection to the node closes; its next one (opened
	// for erin's REGISTER) carries alice's MESSAGE, by the proxy's flow
	// token, though alice registered over the first.
	old, ok := l.reg.Flows.Local(c.Flow)
	if !ok {
		t.Fatal("the edge proxy's flow is not held")
	}
	old.Close()
	<-old.Done()
	// Meanwhile another proxy of the table names the same first hop: it
	// does not get alice's requests.
	rogue := l.dialRaw(t, l.edgePort, l.kamailioCert)
	if res := rogue.register(t, "frank", "CSFfrank", l.token(t, "frank", "CSFfrank"), []string{"Path: " + c.Path[0]}); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("frank through another proxy:\n%s", res)
	}
	if now, err := l.reg.Lookup(ctx, "alice"); err != nil || len(now) != 1 || now[0].FlowUp {
		t.Errorf("alice with her proxy away and another naming its hop: %+v, %v", now, err)
	} else {
		rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		req0, _ := now[0].NewRequest(sip.MESSAGE, from)
		if _, err := l.reg.Send(rctx, now[0], req0); !errors.Is(err, registrar.ErrFlowGone) {
			t.Errorf("alice's MESSAGE with her proxy away and another naming its hop: %v", err)
		}
		rcancel()
	}
	_, edgePort0, _ := net.SplitHostPort(l.edgeAddr)
	ep0, _ := strconv.Atoi(edgePort0)
	if res := l.dialRaw(t, ep0, nil).register(t, "erin", "CSFerin", l.token(t, "erin", "CSFerin"), nil); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("erin through the edge proxy:\n%s", res)
	}
	if again := send(sip.MESSAGE, "alice", "over the edge proxy's new connection", mra); again.Flow != c.Flow {
		t.Errorf("alice's binding changed: %+v", again)
	}

	// An INVITE needs a dialog, which Send does not keep.
	invite, _ := c.NewRequest(sip.INVITE, from)
	if _, err := l.reg.Send(ctx, c, invite); !errors.Is(err, registrar.ErrMethod) {
		t.Errorf("Send INVITE: %v", err)
	}
	// A route set the edge proxy did not issue is refused by it.
	forged := c
	forged.Path = []string{"<sip:MTI3LjAuMC4xOjQwMDAw.AAAAAAAAAAAAAAAAAAAAAA@" + l.proxyName + ";transport=tls;lr;ob>"}
	req, _ := forged.NewRequest(sip.MESSAGE, from)
	if res, err := l.reg.Send(ctx, forged, req); err != nil || res.StatusCode != 403 {
		t.Errorf("a forged flow token: %v, %v", res, err)
	}
	// A client behind the edge proxy whose connection to it closes: the
	// node's flow (to the proxy) is up, the proxy answers 430 Flow Failed.
	_, edgePort, _ := net.SplitHostPort(l.edgeAddr)
	ep, _ := strconv.Atoi(edgePort)
	// (bob's own Path, naming alice's flow, is dropped by the proxy.)
	gone := l.dialRaw(t, ep, nil)
	if res := gone.register(t, "bob", "CSFbob", l.token(t, "bob", "CSFbob"), []string{"Path: " + c.Path[0], "path: <sip:x@evil.example.com;lr>"}); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("bob through the edge proxy:\n%s", res)
	}
	// Reset, not closed: no TIME_WAIT keeps the address from the next
	// device.
	gone.NetConn().(*net.TCPConn).SetLinger(0)
	gone.Close()
	cs, err := l.reg.Lookup(ctx, "bob")
	if err != nil || len(cs) != 1 || !cs[0].FlowUp || len(cs[0].Path) != 1 || cs[0].Path[0] == c.Path[0] ||
		!strings.HasSuffix(cs[0].Path[0], "@"+l.proxyName+";transport=tls;lr;ob>") {
		t.Fatalf("bob: %+v, %v", cs, err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// Until the proxy has seen the connection close, the MESSAGE is
		// written to it and waits for an answer that never comes.
		req, _ := cs[0].NewRequest(sip.MESSAGE, from)
		actx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		res, err := l.reg.Send(actx, cs[0], req)
		cancel()
		if err == nil && res.StatusCode == 430 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a MESSAGE to a client gone from the edge proxy: %v, %v", res, err)
		}
	}

	// Another device gets bob's address and port (a NAT's reuse): the
	// node's requests for bob, by his flow token, do not reach it.
	reuse := l.dialRawFrom(t, ep, nil, gone.LocalAddr().(*net.TCPAddr))
	if res := reuse.register(t, "dave", "CSFdave", l.token(t, "dave", "CSFdave"), nil); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("dave from bob's old address:\n%s", res)
	}
	req, _ = cs[0].NewRequest(sip.MESSAGE, from)
	if res, err := l.reg.Send(ctx, cs[0], req); err != nil || res.StatusCode != 430 {
		t.Errorf("a MESSAGE for bob, with dave at bob's old address: %v, %v", res, err)
	}

	// carol registers on a connection of her own, which then closes: her
	// flow is gone.
	w := l.dialRaw(t, l.oauthPort, nil)
	res := w.register(t, "carol", "CSFcarol", l.token(t, "carol", "CSFcarol"), nil)
	if !strings.HasPrefix(res, "SIP/2.0 200 ") || !strings.Contains(res, "\r\nSupported: path\r\n") {
		t.Fatalf("carol's REGISTER:\n%s", res)
	}
	if cs, _ := l.reg.Lookup(ctx, "carol"); len(cs) != 1 || !cs[0].FlowUp {
		t.Fatalf("carol before the close: %+v", cs)
	}
	w.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cs, _ := l.reg.Lookup(ctx, "carol")
		if len(cs) == 1 && !cs[0].FlowUp && !cs[0].Local && cs[0].Flow != "" {
			req, _ := cs[0].NewRequest(sip.MESSAGE, from)
			if _, err := l.reg.Send(ctx, cs[0], req); !errors.Is(err, registrar.ErrFlowGone) {
				t.Errorf("Send over a closed flow: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the flow is still up after the connection closed: %+v", cs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *routeLab) token(t *testing.T, user, device string) string {
	t.Helper()
	tok, err := l.issuer.Mint(issuer.TokenRequest{User: user, Device: device})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawConn is a TLS connection written and read as bytes.
type rawConn struct {
	*tls.Conn
	r    *bufio.Reader
	cseq int
}

// dialRaw connects to the node's port, with cert when set (an edge
// proxy's).
func (l *routeLab) dialRaw(t *testing.T, port int, cert *testca.Leaf) *rawConn {
	t.Helper()
	return l.dialRawFrom(t, port, cert, nil)
}

// dialRawFrom is dialRaw from the local address from, when set, reused at
// once (SO_REUSEADDR), as a NAT gives a port to another device.
func (l *routeLab) dialRawFrom(t *testing.T, port int, cert *testca.Leaf, from *net.TCPAddr) *rawConn {
	t.Helper()
	cfg := &tls.Config{RootCAs: l.nodeCA.Pool(), ServerName: "127.0.0.1"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS()}
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	if from != nil {
		d.LocalAddr = from
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) })
			return serr
		}
	}
	c, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// register sends a Jabber-shaped REGISTER with extra header lines and
// returns the answer's header section as read.
func (w *rawConn) register(t *testing.T, user, device, token string, extra []string) string {
	t.Helper()
	local := w.LocalAddr().String()
	w.cseq++
	req := "REGISTER sip:127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS " + local + ";branch=z9hG4bK" + device + strconv.Itoa(w.cseq) + "\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:" + user + "@127.0.0.1>;tag=t" + device + "\r\n" +
		"To: <sip:" + user + "@127.0.0.1>\r\n" +
		"Call-ID: call-" + device + "-" + local + "\r\n" +
		"CSeq: " + strconv.Itoa(100+w.cseq) + " REGISTER\r\n" +
		"Contact: <sip:" + user + "@" + local + ";transport=tls>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-0000000000" + strconv.Itoa(10+len(device)) + ">\";+u.sip!devicename.ccm.cisco.com=\"" + device + "\"\r\n" +
		"Proxy-Authorization: Bearer token=\"" + token + "\"\r\n" +
		"Expires: 3600\r\n"
	for _, h := range extra {
		req += h + "\r\n"
	}
	req += "Content-Length: 0\r\n\r\n"
	w.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(w, req); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		line, err := w.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answer: %v (%q)", err, b.String())
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}

// TestPathRules: a third party proxy's Path headers on the edge role are
// stored and echoed exactly as received, in order, with their
// parameters; a Path on the OAuth role, where clients connect by
// themselves, is refused.
func TestPathRules(t *testing.T) {
	l := newRouteLab(t)
	ctx := context.Background()
	paths := []string{
		"<sip:kamailio-flow-1@sbc.example.com:5061;transport=tls;lr;ob>",
		"<sip:10.0.0.7;lr;received=sip:192.0.2.4:40123>, <sip:core.example.com;lr>",
	}
	var extra []string
	for _, p := range paths {
		extra = append(extra, "Path: "+p)
	}
	w := l.dialRaw(t, l.edgePort, l.proxyCert)
	res := w.register(t, "alice", "CSFalice", l.token(t, "alice", "CSFalice"), extra)
	if !strings.HasPrefix(res, "SIP/2.0 200 ") || !strings.Contains(res, "\r\nPath: "+paths[0]+"\r\nPath: "+paths[1]+"\r\n") ||
		!strings.Contains(res, "\r\nSupported: path\r\n") {
		t.Fatalf("the answer through a proxy:\n%s", res)
	}
	cs, err := l.reg.Lookup(ctx, "alice")
	if err != nil || len(cs) != 1 || !slices.Equal(cs[0].Path, paths) {
		t.Fatalf("Lookup: %+v, %v", cs, err)
	}

	w = l.dialRaw(t, l.oauthPort, nil)
	res = w.register(t, "rado", "CSFrado", l.token(t, "rado", "CSFrado"), []string{"Path: <sip:attacker.example.com;lr>"})
	if !strings.HasPrefix(res, "SIP/2.0 403 Forbidden: Path on a port clients reach directly\r\n") {
		t.Fatalf("a Path on the OAuth port:\n%s", res)
	}
	if cs, _ := l.reg.Lookup(ctx, "rado"); len(cs) != 0 {
		t.Errorf("bound anyway: %+v", cs)
	}
}

// TestSendBounds: a client that never answers holds at most
// MaxPendingPerContact of the node's requests; the next fails at once.
func TestSendBounds(t *testing.T) {
	l := newRouteLab(t)
	ctx := context.Background()
	w := l.dialRaw(t, l.oauthPort, nil)
	if res := w.register(t, "carol", "CSFcarol", l.token(t, "carol", "CSFcarol"), nil); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("carol:\n%s", res)
	}
	cs, err := l.reg.Lookup(ctx, "carol")
	if err != nil || len(cs) != 1 {
		t.Fatal(cs, err)
	}
	from := sip.Uri{Scheme: "sip", User: "ucm", Host: "127.0.0.1"}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range registrar.MaxPendingPerContact {
		req, _ := cs[0].NewRequest(sip.MESSAGE, from)
		wg.Go(func() {
			if _, err := l.reg.Send(wctx, cs[0], req); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Errorf("a request nobody answers: %v", err)
			}
		})
	}
	defer wg.Wait()
	time.Sleep(300 * time.Millisecond) // the eight are written and wait
	req, _ := cs[0].NewRequest(sip.MESSAGE, from)
	start := time.Now()
	if _, err := l.reg.Send(ctx, cs[0], req); !errors.Is(err, registrar.ErrContactBusy) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("a ninth request: %v after %v", err, time.Since(start))
	}
	cancel()
}
