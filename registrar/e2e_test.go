package registrar

import (
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/sipoauth"
)

// lab is a registrar node on 127.0.0.1 with an OAuth (TLS) and an edge
// (mTLS) listener, an issuer, and the devices.
type lab struct {
	t          *testing.T
	issuer     *issuer.Issuer
	revocation *sipoauth.MemoryRevocation
	reg        *Registrar
	store      *MemoryStore
	oauth      *atomic.Bool
	oauthAddr  string
	edgeAddr   string
	nodeCA     *testca.CA
	proxyCA    *testca.CA
	proxy      *testca.Leaf
	table      *edgetable.Memory
}

const node = "UCM2-PUB"

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{t: t, revocation: &sipoauth.MemoryRevocation{}, store: NewMemoryStore(), oauth: new(atomic.Bool)}
	l.oauth.Store(true)
	var err error
	if l.issuer, err = issuer.New(issuer.Config{Issuer: "https://cucm.example.com", Nested: true}); err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{l.issuer.KeyID(): l.issuer.PublicKey()})
	kid, key := l.issuer.EncryptionKey()
	dec, _ := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec, Revocation: l.revocation})
	if err != nil {
		t.Fatal(err)
	}
	devices := MemoryDevices{
		"CSFrado":   {Name: "CSFrado", Owner: "rado", Lines: []string{"1001"}, OAuth: true},
		"CSFrado2":  {Name: "CSFrado2", Owner: "rado", OAuth: true},
		"CSFrado3":  {Name: "CSFrado3", Owner: "rado", OAuth: true},
		"rado":      {Name: "rado", Owner: "rado", OAuth: true}, // a client that names no device
		"CSFalice":  {Name: "CSFalice", Owner: "alice", Lines: []string{"1002", "sip:1099@shared.example.com"}, OAuth: true},
		"SEPlegacy": {Name: "SEPlegacy", Owner: "rado", OAuth: false},
	}
	for i := range 1000 {
		name := fmt.Sprintf("CSFu%04d", i)
		devices[name] = Device{Name: name, Owner: fmt.Sprintf("u%04d", i), OAuth: true}
	}

	l.nodeCA = testca.New(t, "Node CA")
	proxyCA := testca.New(t, "Expressway CA")
	l.proxyCA = proxyCA
	nodeCert, _ := mtlstrust.NewCertSource(l.nodeCA.Server(t, "127.0.0.1").TLS())
	l.proxy = proxyCA.Client(t, "expc1.example.com")
	table := &edgetable.Memory{}
	l.table = table
	table.Put(edgetable.Entry{HostNameOrIP: "expc1", Names: []string{"expc1.example.com"}})

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The listeners a deployment has: siplimit's, over TLS.
	tcpOAuth, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpEdge, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	lnOAuth := siplimit.NewTLSListener(tcpOAuth, mtlstrust.OAuthServerConfig(nodeCert), siplimit.Limits{},
		mtlstrust.ListenerOptions{Side: diag.NodeSide}, siplimit.WithLogger(quiet))
	lnEdge := siplimit.NewTLSListener(tcpEdge, mtlstrust.EdgeServerConfig(nodeCert, mtlstrust.NewTrustStore(proxyCA.Cert), edgetable.Authorize(table)),
		siplimit.Limits{}, mtlstrust.ListenerOptions{Side: diag.NodeSide}, siplimit.WithLogger(quiet))
	l.oauthAddr, l.edgeAddr = lnOAuth.Addr().String(), lnEdge.Addr().String()
	ports := Ports{lnOAuth.Addr().(*net.TCPAddr).Port: RoleOAuth, lnEdge.Addr().(*net.TCPAddr).Port: RoleEdge}
	l.reg, err = New(Config{NodeName: node, OAuthEnabled: l.oauth, Devices: devices, Validator: v, Store: l.store, Ports: ports,
		EdgeAuthorizer: edgetable.Authorize(table)})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, l.reg)
	go srv.ServeTLS(lnOAuth)
	go srv.ServeTLS(lnEdge)
	t.Cleanup(func() { lnOAuth.Close(); lnEdge.Close() })
	_ = ctx
	return l
}

// serve returns a sipgo server answering REGISTERs with reg, closed when
// the test ends; the caller starts it on its listeners.
func serve(t testing.TB, reg *Registrar) *sipgo.Server {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Cisco-CUCM12.5"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(reg.HandleRegister)
	t.Cleanup(func() { srv.Close(); ua.Close() })
	return srv
}

// client is a Jabber-like SIP client over TLS.
type client struct {
	c    *sipgo.Client
	ua   *sipgo.UserAgent
	addr string
}

func (l *lab) client(addr string, cert *testca.Leaf) *client {
	cfg := &tls.Config{RootCAs: l.nodeCA.Pool(), ServerName: "127.0.0.1"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS()}
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Cisco-CSF"), sipgo.WithUserAgenTLSConfig(cfg))
	if err != nil {
		l.t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { c.Close(); ua.Close() })
	return &client{c: c, ua: ua, addr: addr}
}

// register builds the REGISTER of the source document's client log.
func (c *client) register(device, user string, expires int) *sip.Request {
	var to, ruri sip.Uri
	sip.ParseUri("sip:"+user+"@"+c.addr, &to)
	sip.ParseUri("sip:"+c.addr+";transport=tls", &ruri)
	req := sip.NewRequest(sip.REGISTER, ruri)
	req.SetTransport("TLS")
	req.AppendHeader(sip.NewHeader("To", "<sip:"+user+"@"+c.addr+">"))
	req.AppendHeader(sip.NewHeader("From", "<sip:"+user+"@"+c.addr+">;tag=882323451234089000003bdd-00005eff"))
	req.AppendHeader(sip.NewHeader("Contact", `<sip:`+user+`@127.0.0.1;transport=tls>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-0000`+fmt.Sprintf("%08x", len(device))+`>";+u.sip!devicename.ccm.cisco.com="`+device+`";+u.sip!model.ccm.cisco.com="503";video`))
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
	req.AppendHeader(sip.NewHeader("User-Agent", "Cisco-CSF"))
	req.AppendHeader(sip.NewHeader("Supported", "replaces,join,sdp-anat,norefersub,resource-priority,extended-refer,X-cisco-callinfo,X-cisco-serviceuri,X-cisco-escapecodes,X-cisco-service-control,X-cisco-srtp-fallback,X-cisco-monrec,X-cisco-config,X-cisco-sis-7.0.0,X-cisco-xsi-8.5.1,X-cisco-graceful-reg,X-cisco-duplicate-reg"))
	req.AppendHeader(sip.NewHeader("Content-Type", "multipart/mixed; boundary=uniqueBoundary"))
	req.AppendHeader(sip.NewHeader("Mime-Version", "1.0"))
	req.SetBody([]byte("--uniqueBoundary\r\nContent-Type: application/x-cisco-remotecc-request+xml\r\n\r\n<x-cisco-remotecc-request><bulkregisterreq><contact all=\"true\"><register></register></contact></bulkregisterreq></x-cisco-remotecc-request>\r\n--uniqueBoundary--\r\n"))
	return req
}

func (c *client) do(t *testing.T, req *sip.Request, opts ...sipgo.ClientRequestOption) *sip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.c.Do(ctx, req, opts...)
	if err != nil {
		t.Fatalf("REGISTER: %v", err)
	}
	return res
}

// retry resends req with the next CSeq and a new branch and the given
// header, and returns the answer and the request sent.
func (c *client) retry(t *testing.T, req *sip.Request, name, value string) (*sip.Response, *sip.Request) {
	t.Helper()
	next := req.Clone()
	next.RemoveHeader("Via")
	next.RemoveHeader(name)
	if value != "" {
		next.AppendHeader(sip.NewHeader(name, value))
	}
	return c.do(t, next, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia), next
}

func header(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// TestSourceDocumentFlow: REGISTER → 407 Bearer realm="ccmsipline" →
// REGISTER with Proxy-Authorization: Bearer token="..." → 200 OK with
// Expires: 120 and the contact marked ;x-cisco-newreg.
func TestSourceDocumentFlow(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c := l.client(l.oauthAddr, nil)
	req := c.register("CSFrado", "rado", 3600)
	res := c.do(t, req, sipgo.ClientRequestRegisterBuild)
	if res.StatusCode != 407 || res.Reason != "Proxy Authentication Required" || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline"` {
		t.Fatalf("first answer:\n%s", res)
	}
	tok, _ := l.issuer.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	res, req = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+tok+`"`)
	if res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("second answer:\n%s", res)
	}
	contact := header(res, "Contact")
	if !strings.HasSuffix(contact, ";x-cisco-newreg") || !strings.Contains(contact, `+u.sip!devicename.ccm.cisco.com="CSFrado"`) || !strings.Contains(contact, ";expires=120") {
		t.Fatalf("contact %q", contact)
	}
	bs, _ := l.store.Lookup(context.Background(), "rado")
	if len(bs) != 1 || bs[0].User != "rado" || bs[0].Device != "CSFrado" {
		t.Fatalf("bindings %+v", bs)
	}

	// A refresh is no longer new; a REGISTER with an older CSeq is refused.
	res, req = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+tok+`"`)
	if res.StatusCode != 200 || strings.Contains(header(res, "Contact"), "x-cisco-newreg") {
		t.Fatalf("refresh:\n%s", res)
	}
	old := req.Clone()
	old.CSeq().SeqNo -= 2
	if res, _ = c.retry(t, old, "Proxy-Authorization", `Bearer token="`+tok+`"`); res.StatusCode != 500 {
		t.Fatalf("older CSeq:\n%s", res)
	}
	// Expires: 0 unregisters.
	unreg := req.Clone()
	unreg.RemoveHeader("Expires")
	unreg.AppendHeader(sip.NewHeader("Expires", "0"))
	res, _ = c.retry(t, unreg, "Proxy-Authorization", `Bearer token="`+tok+`"`)
	if res.StatusCode != 200 || res.GetHeader("Contact") != nil || header(res, "Expires") != "0" {
		t.Fatalf("unregister:\n%s", res)
	}
	if bs, _ := l.store.Lookup(context.Background(), "rado"); len(bs) != 0 {
		t.Fatalf("bindings after unregister: %+v", bs)
	}
}

func TestPortMismatch(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	tok, _ := l.issuer.Mint(issuer.TokenRequest{User: "rado", Device: "SEPlegacy"})
	want := `399 ` + node + ` "SIP OAuth Registration port Mismatch"`
	check := func(name string, res *sip.Response) {
		t.Helper()
		if res.StatusCode != 403 || res.Reason != "Forbidden" || header(res, "Retry-After") != "35" || header(res, "Warning") != want {
			t.Fatalf("%s:\n%s", name, res)
		}
	}
	// Cause 2: the device's security profile lacks OAuth.
	c := l.client(l.oauthAddr, nil)
	req := c.register("SEPlegacy", "rado", 3600)
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
	check("profile without OAuth", c.do(t, req, sipgo.ClientRequestRegisterBuild))
	// Cause 3: edge-proxy traffic on the OAuth port (proxied: two Vias).
	proxied := c.register("CSFrado", "rado", 3600)
	proxied.AppendHeader(sip.NewHeader("Via", "SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00001188"))
	check("proxied REGISTER on 5090", c.do(t, proxied, sipgo.ClientRequestRegisterBuild, sipgo.ClientRequestAddVia))
	// Cause 1: OAuth off cluster-wide.
	l.oauth.Store(false)
	c2 := l.client(l.oauthAddr, nil)
	check("cluster switch off", c2.do(t, c2.register("CSFrado", "rado", 3600), sipgo.ClientRequestRegisterBuild))
}

func TestEdgeRole(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c := l.client(l.edgeAddr, l.proxy)
	req := c.register("CSFrado", "rado", 3600)
	res := c.do(t, req, sipgo.ClientRequestRegisterBuild)
	if res.StatusCode != 407 {
		t.Fatalf("first:\n%s", res)
	}
	tok, _ := l.issuer.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	if res, _ = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+tok+`"`); res.StatusCode != 200 {
		t.Fatalf("edge registration:\n%s", res)
	}
}

func TestRefusedTokens(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c := l.client(l.oauthAddr, nil)
	mint := func(r issuer.TokenRequest) string { s, _ := l.issuer.Mint(r); return s }
	refresh, _ := l.issuer.MintRefresh("rado", "jabber")
	revoked := mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", Extra: map[string]any{"jti": "revoked-1"}})
	l.revocation.RevokeToken("revoked-1", time.Time{})
	cases := []struct {
		name, token string
		status      int
		challenge   string
	}{
		{"expired", mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", TTL: -time.Hour}), 407, `Bearer realm="ccmsipline", error="invalid_token"`},
		{"revoked", revoked, 407, `Bearer realm="ccmsipline", error="invalid_token"`},
		{"refresh token", refresh, 407, `Bearer realm="ccmsipline", error="invalid_token"`},
		{"token of another device", mint(issuer.TokenRequest{User: "rado", Device: "CSFalice"}), 403, ""},
		{"another user's token", mint(issuer.TokenRequest{User: "alice"}), 403, ""},
		{"garbage", "not.a.token", 407, `Bearer realm="ccmsipline", error="invalid_token"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := c.register("CSFrado", "rado", 3600)
			req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tc.token+`"`))
			res := c.do(t, req, sipgo.ClientRequestRegisterBuild)
			if res.StatusCode != tc.status || header(res, "Proxy-Authenticate") != tc.challenge {
				t.Fatalf("answer:\n%s", res)
			}
		})
	}
	// Malformed: two Bearer credentials.
	req := c.register("CSFrado", "rado", 3600)
	tok := mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
	if res := c.do(t, req, sipgo.ClientRequestRegisterBuild); res.StatusCode != 400 {
		t.Fatalf("duplicate credentials:\n%s", res)
	}
}

// TestManyDevices registers 1,000 devices concurrently, each through its
// 407 and its token.
func TestManyDevices(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	var wg sync.WaitGroup
	var ok atomic.Int32
	clients := make([]*client, 8)
	for i := range clients {
		clients[i] = l.client(l.oauthAddr, nil)
	}
	sem := make(chan struct{}, 64)
	for i := range 1000 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c := clients[i%len(clients)]
			user, device := fmt.Sprintf("u%04d", i), fmt.Sprintf("CSFu%04d", i)
			req := c.register(device, user, 3600)
			tok, _ := l.issuer.Mint(issuer.TokenRequest{User: user, Device: device})
			req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := c.c.Do(ctx, req, sipgo.ClientRequestRegisterBuild)
			if err == nil && res.StatusCode == 200 {
				ok.Add(1)
			} else if err != nil {
				t.Errorf("%s: %v", device, err)
			} else {
				t.Errorf("%s: %d %s", device, res.StatusCode, res.Reason)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1000 {
		t.Fatalf("%d of 1000 registered", ok.Load())
	}
	if n := l.store.Sweep(time.Now()); n != 1000 {
		t.Fatalf("%d bindings", n)
	}
}
