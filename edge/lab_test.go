package edge

import (
	"bufio"
	"context"
	"crypto"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/internal/sipstream"
	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
)

// TestMain keeps sipgo's process-wide logger, which its connection
// bookkeeping writes to whatever the peer, to errors.
func TestMain(m *testing.M) {
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(m.Run())
}

// pki is a deployment's certificates: the node's CA and Tomcat
// certificate, the edge proxy's CA and certificate, and a CA nobody
// trusts.
type pki struct {
	nodeCA, proxyCA, otherCA *testca.CA
	nodeCert, proxyCert      *mtlstrust.CertSource
}

const proxyName = "expc1.example.com"

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{nodeCA: testca.New(t, "Node CA"), proxyCA: testca.New(t, "Expressway CA"), otherCA: testca.New(t, "Other CA")}
	var err error
	if p.nodeCert, err = mtlstrust.NewCertSource(p.nodeCA.Server(t, "127.0.0.1").TLS()); err != nil {
		t.Fatal(err)
	}
	// The proxy's certificate serves both ways: to the node as a client
	// certificate, to the soft clients as the server certificate of
	// 127.0.0.1.
	if p.proxyCert, err = mtlstrust.NewCertSource(p.proxyCA.Client(t, proxyName, "127.0.0.1").TLS()); err != nil {
		t.Fatal(err)
	}
	return p
}

// issued is a token issuer and a validator that trusts it.
type issued struct {
	issuer    *issuer.Issuer
	validator *sipoauth.Validator
}

func newIssued(t *testing.T) *issued {
	t.Helper()
	iss, err := issuer.New(issuer.Config{Issuer: "https://cucm.example.com", Nested: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	kid, key := iss.EncryptionKey()
	dec, err := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec})
	if err != nil {
		t.Fatal(err)
	}
	return &issued{issuer: iss, validator: v}
}

func (i *issued) mint(t *testing.T, ttl time.Duration) string {
	t.Helper()
	tok, err := i.issuer.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// seen is what the node saw of a REGISTER: the request, its connection's
// peer certificate, the local port and the peer address.
type seen struct {
	req      *sip.Request
	peerCN   string
	local    int
	remote   string
	tlsVer   uint16
	verified bool
}

// node is a real registrar with its MRA OAuth (edge, mutual TLS) role on
// 127.0.0.1.
type node struct {
	addr  string
	table *edgetable.Memory
	store *registrar.MemoryStore
	seen  chan seen
}

type nodeOptions struct {
	// trust is the node's tomcat-trust; the proxy's CA when nil.
	trust *testca.CA
	// tableNames are the names of the one table entry; the proxy's name
	// when nil; no entry when empty.
	tableNames []string
	// table, if set, is used instead of a new one.
	table *edgetable.Memory
	// tls12 caps the node at TLS 1.2, where the node's refusal of the
	// proxy's certificate arrives in the handshake rather than after it.
	tls12 bool
}

func newNode(t *testing.T, p *pki, iss *issued, o nodeOptions) *node {
	t.Helper()
	n := &node{table: o.table, store: registrar.NewMemoryStore(), seen: make(chan seen, 16)}
	if n.table == nil {
		n.table = &edgetable.Memory{}
		names := o.tableNames
		if names == nil {
			names = []string{proxyName}
		}
		if len(names) > 0 {
			if err := n.table.Put(edgetable.Entry{HostNameOrIP: "expc1", Names: names}); err != nil {
				t.Fatal(err)
			}
		}
	}
	trust := o.trust
	if trust == nil {
		trust = p.proxyCA
	}
	cfg := mtlstrust.EdgeServerConfig(p.nodeCert, mtlstrust.NewTrustStore(trust.Cert), edgetable.Authorize(n.table))
	if o.tls12 {
		per := cfg.GetConfigForClient
		cfg.MaxVersion = tls.VersionTLS12
		cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			c, err := per(h)
			if c != nil {
				c.MaxVersion = tls.VersionTLS12
			}
			return c, err
		}
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	devices := registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}}
	reg, err := registrar.New(registrar.Config{
		NodeName: "UCM2-PUB", Devices: devices, Validator: iss.validator, Store: n.store,
		Ports:          registrar.Ports{ln.Addr().(*net.TCPAddr).Port: registrar.RoleEdge},
		EdgeAuthorizer: edgetable.Authorize(n.table),
	})
	if err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Cisco-CUCM12.5"), quietSipgo(), quietTx())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		peer := registrar.SipgoPeerInfo(req, tx)
		s := seen{req: req.Clone()}
		if a, ok := peer.Local.(*net.TCPAddr); ok {
			s.local = a.Port
		}
		if peer.Remote != nil {
			s.remote = peer.Remote.String()
		}
		if peer.TLS != nil {
			s.tlsVer = peer.TLS.Version
			s.verified = len(peer.TLS.VerifiedChains) > 0
			if len(peer.TLS.PeerCertificates) > 0 {
				s.peerCN = peer.TLS.PeerCertificates[0].Subject.CommonName
			}
		}
		select {
		case n.seen <- s:
		default:
		}
		reg.HandleRegister(req, tx)
	})
	go srv.ServeTLS(ln)
	t.Cleanup(func() { ln.Close(); ua.Close() })
	return n
}

// next returns what the node saw next, failing after a bound.
func (n *node) next(t *testing.T) seen {
	t.Helper()
	select {
	case s := <-n.seen:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("the node saw no REGISTER")
		return seen{}
	}
}

// none checks that the node saw no REGISTER.
func (n *node) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-n.seen:
		t.Fatalf("the node saw a REGISTER:\n%s", s.req)
	default:
	}
}

// running is a proxy serving on 127.0.0.1, with what it reported.
type running struct {
	*Proxy
	addr     string
	logs     *syncbuf.Buffer
	failures chan Failure
	served   chan error
}

// startProxy starts a proxy for cfg, filling in the certificate, the
// trust of the node's CA, the logger and the failure hook when unset.
func startProxy(t *testing.T, p *pki, cfg Config) *running {
	t.Helper()
	r := &running{logs: &syncbuf.Buffer{}, failures: make(chan Failure, 16), served: make(chan error, 1)}
	if cfg.Certificate == nil {
		cfg.Certificate = p.proxyCert
	}
	if cfg.NodeTrust == nil {
		cfg.NodeTrust = mtlstrust.NewTrustStore(p.nodeCA.Cert)
	}
	if cfg.Name == "" {
		cfg.Name = "expc1"
	}
	cfg.Logger = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.OnFailure = func(f Failure) {
		select {
		case r.failures <- f:
		default:
		}
	}
	px, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.Proxy = px
	ln, err := px.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { r.served <- px.Serve(ln) }()
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { px.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Close did not return")
		}
	})
	return r
}

func (r *running) failure(t *testing.T) Failure {
	t.Helper()
	select {
	case f := <-r.failures:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no failure reported")
		return Failure{}
	}
}

func (r *running) noFailure(t *testing.T) {
	t.Helper()
	select {
	case f := <-r.failures:
		t.Fatalf("failure reported: %v", f)
	default:
	}
}

// softClient is a Jabber-like MRA client on sipgo, connected to the proxy.
type softClient struct {
	c     *sipgo.Client
	proxy string
}

func newSoftClient(t *testing.T, p *pki, proxyAddr string) *softClient {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Cisco-CSF"), quietSipgo(), quietTx(), sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: p.proxyCA.Pool(), ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); ua.Close() })
	return &softClient{c: c, proxy: proxyAddr}
}

// requestURI is the Request-URI of the clients' REGISTERs: the cluster's
// domain, which the proxy keeps.
const requestURI = "sip:ucm.example.com;transport=tls"

// register builds the REGISTER of the source document's client log, sent
// to the proxy.
func (c *softClient) register() *sip.Request {
	var ruri sip.Uri
	sip.ParseUri(requestURI, &ruri)
	req := sip.NewRequest(sip.REGISTER, ruri)
	req.SetTransport("TLS")
	req.SetDestination(c.proxy)
	req.AppendHeader(sip.NewHeader("To", "<sip:rado@ucm.example.com>"))
	req.AppendHeader(sip.NewHeader("From", "<sip:rado@ucm.example.com>;tag=882323451234089000003bdd-00005eff"))
	req.AppendHeader(sip.NewHeader("Contact", `<sip:rado@127.0.0.1;transport=tls>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000007>";+u.sip!devicename.ccm.cisco.com="CSFrado";+u.sip!model.ccm.cisco.com="503";video`))
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	req.AppendHeader(sip.NewHeader("User-Agent", "Cisco-CSF"))
	req.AppendHeader(sip.NewHeader("Content-Type", "multipart/mixed; boundary=uniqueBoundary"))
	req.AppendHeader(sip.NewHeader("Mime-Version", "1.0"))
	req.SetBody([]byte("--uniqueBoundary\r\nContent-Type: application/x-cisco-remotecc-request+xml\r\n\r\n<x-cisco-remotecc-request><bulkregisterreq><contact all=\"true\"><register></register></contact></bulkregisterreq></x-cisco-remotecc-request>\r\n--uniqueBoundary--\r\n"))
	return req
}

func (c *softClient) do(t *testing.T, req *sip.Request, opts ...sipgo.ClientRequestOption) *sip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	res, err := c.c.Do(ctx, req, opts...)
	if err != nil {
		t.Fatalf("REGISTER: %v", err)
	}
	return res
}

// retry resends req with the next CSeq, a new branch and the header given.
func (c *softClient) retry(t *testing.T, req *sip.Request, name, value string) (*sip.Response, *sip.Request) {
	t.Helper()
	next := req.Clone()
	next.RemoveHeader("Via")
	next.RemoveHeader(name)
	if value != "" {
		next.AppendHeader(sip.NewHeader(name, value))
	}
	return c.do(t, next, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia), next
}

func header(m sip.Message, name string) string {
	if hs := m.GetHeaders(name); len(hs) > 0 {
		return hs[0].Value()
	}
	return ""
}

func vias(m sip.Message) []string {
	var out []string
	for _, h := range m.GetHeaders("Via") {
		out = append(out, h.Value())
	}
	return out
}

func branchOf(m sip.Message) string {
	hs := m.GetHeaders("Via")
	if len(hs) == 0 {
		return ""
	}
	v, ok := hs[0].(*sip.ViaHeader)
	if !ok {
		return ""
	}
	b, _ := v.Params.Get("branch")
	return b
}

// rawClient speaks SIP over TLS byte by byte, for the exact wire form.
type rawClient struct {
	conn *tls.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, p *pki, addr string) *rawClient {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: p.proxyCA.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawClient{conn: conn, r: bufio.NewReader(conn)}
}

// rawRegister is a REGISTER as text. Its Via names another address than
// the connection's, so the proxy adds received. maxForwards "" leaves the
// header out.
func rawRegister(branch string, cseq int, maxForwards string, extra ...string) string {
	lines := []string{
		"REGISTER " + requestURI + " SIP/2.0",
		"Via: SIP/2.0/TLS 10.0.0.5:50123;branch=" + branch,
	}
	if maxForwards != "" {
		lines = append(lines, "Max-Forwards: "+maxForwards)
	}
	lines = append(lines,
		"From: <sip:rado@ucm.example.com>;tag=1928301774",
		"To: <sip:rado@ucm.example.com>",
		"Call-ID: a84b4c76e66710@10.0.0.5",
		"CSeq: "+strconv.Itoa(cseq)+" REGISTER",
		`Contact: <sip:rado@10.0.0.5:50123;transport=tls>;+u.sip!devicename.ccm.cisco.com="CSFrado";+u.sip!model.ccm.cisco.com="503"`,
		"Expires: 3600",
		"User-Agent: Cisco-CSF",
	)
	lines = append(lines, extra...)
	lines = append(lines, "Content-Length: 0", "", "")
	return strings.Join(lines, "\r\n")
}

func (c *rawClient) send(t *testing.T, msg string) {
	t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.conn, msg); err != nil {
		t.Fatal(err)
	}
}

// read returns the next message as text and parsed, within wait.
func (c *rawClient) read(t *testing.T, wait time.Duration) (string, *sip.Response) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(wait))
	var raw strings.Builder
	length := 0
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answer: %v (so far %q)", err, raw.String())
		}
		if raw.Len() == 0 && strings.TrimSpace(line) == "" {
			continue // keepalive
		}
		raw.WriteString(line)
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(value))
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(c.r, body); err != nil {
		t.Fatal(err)
	}
	raw.Write(body)
	msg, err := sip.ParseMessage([]byte(raw.String()))
	if err != nil {
		t.Fatalf("parsing %q: %v", raw.String(), err)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("not a response: %q", raw.String())
	}
	return raw.String(), res
}

// quietSipgo and quietTx keep the sipgo peers of the tests (the node,
// the soft client) from logging the failures the tests cause on purpose.
func quietSipgo() sipgo.UserAgentOption {
	return sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(slog.New(slog.DiscardHandler)))
}

func quietTx() sipgo.UserAgentOption {
	return sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(slog.New(slog.DiscardHandler)))
}

// refusedAddr is an address on 127.0.0.1 where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fakeNode is a SIP peer on the MRA OAuth port whose answers a test
// writes, for what a registrar does not do: provisional answers, 503,
// silence.
type fakeNode struct {
	addr      string
	requests  chan *sip.Request
	responses chan *sip.Response // answers to the fake node's own requests
}

// closeConn, among a fake node's answers, closes the connection.
const closeConn = "\x00close"

// newFakeNode serves mutual TLS like a node's 5091 (any certificate of
// the proxy's CA) and answers each request with answer's messages; nth
// counts the requests of the connection from 0.
func newFakeNode(t *testing.T, p *pki, answer func(req *sip.Request, nth int) []string) *fakeNode {
	t.Helper()
	cfg := mtlstrust.EdgeServerConfig(p.nodeCert, mtlstrust.NewTrustStore(p.proxyCA.Cert), mtlstrust.AuthorizeAny())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNode{addr: ln.Addr().String(), requests: make(chan *sip.Request, 16), responses: make(chan *sip.Response, 16)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				r := sipstream.NewReader(conn)
				nth := 0
				for {
					m, err := r.ReadMessage()
					if err != nil {
						return
					}
					req, ok := m.(*sip.Request)
					if !ok {
						select {
						case f.responses <- m.(*sip.Response):
						default:
						}
						continue
					}
					select {
					case f.requests <- req:
					default:
					}
					for _, out := range answer(req, nth) {
						if out == closeConn {
							return
						}
						io.WriteString(conn, out)
					}
					nth++
				}
			}()
		}
	}()
	return f
}

// reply is a response to req as text, with every Via copied.
func reply(req *sip.Request, code int, reason string, headers ...string) string {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		res.AppendHeader(sip.NewHeader(name, value))
	}
	return res.String()
}

// within fails unless d is under limit.
func within(t *testing.T, what string, d, limit time.Duration) {
	t.Helper()
	if d > limit {
		t.Fatalf("%s took %v, more than %v", what, d, limit)
	}
}
