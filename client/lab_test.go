package client_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
)

func TestMain(m *testing.M) {
	// sipgo logs to its default logger; the tests read what they check.
	sip.SetDefaultLogger(quiet)
	os.Exit(m.Run())
}

// nodeName is the registrar node's name, in its port-mismatch Warning.
const nodeName = "UCM2-PUB"

// labOptions shape a lab.
type labOptions struct {
	mode        sipauth.ChallengeMode
	challenge   bearer.Challenge
	maxExpires  time.Duration
	minExpires  time.Duration
	retryAfter  int      // the port mismatch's Retry-After; 35 when 0
	requestMTLS bool     // the OAuth listener asks for a client certificate
	names       []string // the node certificate's names; 127.0.0.1 when empty
}

// lab is a registrar node on 127.0.0.1: an OAuth (TLS) listener whose
// received bytes are recorded, a real registrar behind a sipgo server,
// an issuer with its token endpoint over HTTP, and the devices.
type lab struct {
	t          *testing.T
	ca         *testca.CA
	issuer     *issuer.Issuer
	tokenURL   string
	revocation *sipoauth.MemoryRevocation
	store      *registrar.MemoryStore
	addr       string
	port       int
	tap        *tap
	oauth      *atomic.Bool
}

func newLab(t *testing.T, o labOptions) *lab {
	t.Helper()
	l := &lab{t: t, revocation: &sipoauth.MemoryRevocation{}, store: registrar.NewMemoryStore(), oauth: new(atomic.Bool)}
	l.oauth.Store(true)
	var err error
	if l.issuer, err = issuer.New(issuer.Config{Issuer: "https://cucm.example.com", Nested: true, Revocation: l.revocation}); err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{l.issuer.KeyID(): l.issuer.PublicKey()})
	kid, key := l.issuer.EncryptionKey()
	dec, _ := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec, Revocation: l.revocation})
	if err != nil {
		t.Fatal(err)
	}
	devices := registrar.MemoryDevices{
		"CSFrado":   {Name: "CSFrado", Owner: "rado", OAuth: true},
		"SEPlegacy": {Name: "SEPlegacy", Owner: "rado", OAuth: false},
	}
	hs := httptest.NewServer(l.issuer.Handler())
	t.Cleanup(hs.Close)
	l.tokenURL = hs.URL + "/token"

	l.ca = testca.New(t, "Node CA")
	names := o.names
	if len(names) == 0 {
		names = []string{"127.0.0.1"}
	}
	nodeCert, _ := mtlstrust.NewCertSource(l.ca.Server(t, names...).TLS())
	tcfg := mtlstrust.OAuthServerConfig(nodeCert)
	if o.requestMTLS {
		tcfg.ClientAuth = tls.RequestClientCert
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.tap = &tap{}
	ln := &tapListener{Listener: tls.NewListener(raw, tcfg), tap: l.tap}
	l.addr = raw.Addr().String()
	l.port = raw.Addr().(*net.TCPAddr).Port

	reg, err := registrar.New(registrar.Config{
		NodeName: nodeName, OAuthEnabled: l.oauth, Devices: devices, Validator: v, Store: l.store,
		Ports: registrar.Ports{l.port: registrar.RoleOAuth}, Mode: o.mode, Challenge: o.challenge,
		MaxExpires: o.maxExpires, MinExpires: o.minExpires, PeerInfo: tapPeerInfo,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.retryAfter != 0 {
		mm := registrar.PortMismatch{NodeName: nodeName, RetryAfter: o.retryAfter}
		for i, s := range reg.Pipeline {
			switch s := s.(type) {
			case registrar.ClusterSwitch:
				s.Mismatch = mm
				reg.Pipeline[i] = s
			case registrar.PortCheck:
				s.Mismatch = mm
				reg.Pipeline[i] = s
			}
		}
	}
	ua, _ := sipgo.NewUA(sipgo.WithUserAgent("Cisco-CUCM12.5"))
	srv, _ := sipgo.NewServer(ua)
	srv.OnRegister(reg.HandleRegister)
	go srv.ServeTLS(ln)
	t.Cleanup(func() { ln.Close(); srv.Close(); ua.Close() })
	return l
}

// refreshToken mints a refresh token for user at the issuer.
func (l *lab) refreshToken(user string) string {
	l.t.Helper()
	tok, err := l.issuer.MintRefresh(user, "")
	if err != nil {
		l.t.Fatal(err)
	}
	return tok
}

// mint mints an access token.
func (l *lab) mint(r issuer.TokenRequest) string {
	l.t.Helper()
	tok, err := l.issuer.Mint(r)
	if err != nil {
		l.t.Fatal(err)
	}
	return tok
}

// tlsConfig trusts the node's CA.
func (l *lab) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: l.ca.Pool()}
}

// bindings returns the registrar's bindings of rado (the address of
// record's key is the user: see registrar.AORRule).
func (l *lab) bindings() []registrar.Binding {
	bs, err := l.store.Lookup(context.Background(), "rado")
	if err != nil {
		l.t.Fatal(err)
	}
	return bs
}

// tap records, per connection, the bytes the registrar read (inside TLS).
type tap struct {
	mu    sync.Mutex
	conns []*tapConn
}

type tapListener struct {
	net.Listener
	tap *tap
}

func (l *tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &tapConn{Conn: c, tls: c.(*tls.Conn)}
	l.tap.mu.Lock()
	l.tap.conns = append(l.tap.conns, tc)
	l.tap.mu.Unlock()
	return tc, nil
}

type tapConn struct {
	net.Conn
	tls *tls.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.buf.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

// registers returns the REGISTER requests received, in order, as the
// bytes read: the client sends no bodies, so a blank line ends each.
func (tp *tap) registers() []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var out []string
	for _, c := range tp.conns {
		c.mu.Lock()
		s := c.buf.String()
		c.mu.Unlock()
		for _, m := range strings.SplitAfter(s, "\r\n\r\n") {
			if m = strings.TrimLeft(m, "\r\n"); strings.HasPrefix(m, "REGISTER ") {
				out = append(out, m)
			}
		}
	}
	return out
}

// closeAll closes every connection the registrar accepted.
func (tp *tap) closeAll() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, c := range tp.conns {
		c.Close()
	}
}

// tapPeerInfo is registrar.SipgoPeerInfo for connections wrapped by tap.
func tapPeerInfo(req *sip.Request, tx sip.ServerTransaction) registrar.PeerInfo {
	var p registrar.PeerInfo
	if st, ok := tx.(interface{ Connection() sip.Connection }); ok {
		if tc, ok := st.Connection().(*sip.TCPConnection); ok {
			p.Local, p.Remote = tc.LocalAddr(), tc.RemoteAddr()
			if c, ok := tc.Conn.(*tapConn); ok {
				cs := c.tls.ConnectionState()
				p.TLS = &cs
			}
		}
	}
	return p
}

// header returns the value of the first header name in a raw message.
func header(msg, name string) string {
	for _, line := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// startLine returns the first line of a raw message.
func startLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\r\n")
	return line
}

// cseq returns the CSeq number of a raw message.
func cseq(t *testing.T, msg string) int {
	t.Helper()
	n, _, _ := strings.Cut(header(msg, "CSeq"), " ")
	v, err := strconv.Atoi(n)
	if err != nil {
		t.Fatalf("CSeq of %q", msg)
	}
	return v
}

// branch returns the Via branch of a raw message.
func branch(msg string) string {
	_, b, _ := strings.Cut(header(msg, "Via"), ";branch=")
	b, _, _ = strings.Cut(b, ";")
	return b
}

// deviceFile returns the CSFrado test file with its nodes pointed at the
// given host:port pairs (on-premises OAuth ports) and MRA ports.
func deviceFile(t *testing.T, nodes ...string) *cnfxml.Config {
	t.Helper()
	cfg, err := cnfxml.ParseFile("../cnfxml/testdata/CSFrado.cnf.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) > len(cfg.CallManagers) {
		t.Fatalf("the file has %d nodes", len(cfg.CallManagers))
	}
	cfg.CallManagers = cfg.CallManagers[:len(nodes)]
	for i, n := range nodes {
		host, port, _ := net.SplitHostPort(n)
		p, _ := strconv.Atoi(port)
		cfg.CallManagers[i].Name = host
		cfg.CallManagers[i].Ports.SIPOAuth = p
	}
	return cfg
}

// memSource is a cnfxml.Source in memory.
type memSource map[string][]byte

func (m memSource) ReadConfig(_ context.Context, device string) ([]byte, error) {
	b, ok := m[device]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return b, nil
}

// serveConfigs serves files like the TFTP service on port 6970, with
// cnfxml.Handler, and returns the base URL.
func serveConfigs(t *testing.T, files map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(&cnfxml.Handler{Source: memSource(files)})
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// events collects a client's events.
type events struct {
	mu  sync.Mutex
	all []client.Event
	ch  chan client.Event
}

func newEvents() *events { return &events{ch: make(chan client.Event, 256)} }

func (e *events) on(ev client.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
}

func (e *events) kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, len(e.all))
	for i, ev := range e.all {
		out[i] = ev.Kind.String()
	}
	return out
}

// wait returns the next event of kind, failing after d.
func (e *events) wait(t *testing.T, kind client.EventKind, d time.Duration) client.Event {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-e.ch:
			if ev.Kind == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within %s; got %v", kind, d, e.kinds())
			return client.Event{}
		}
	}
}

// quiet is a logger that discards.
var quiet = slog.New(slog.DiscardHandler)

// ctx returns a context bounded by d.
func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

// countingHandler counts requests to h and records their forms.
type countingHandler struct {
	h     http.Handler
	n     atomic.Int32
	mu    sync.Mutex
	forms []string
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	c.mu.Lock()
	c.forms = append(c.forms, string(b))
	c.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(b))
	c.h.ServeHTTP(w, r)
}
