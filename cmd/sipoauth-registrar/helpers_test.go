package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
)

// fixture is the files of a registrar node written to a temporary
// directory: node certificate, edge-proxy signer and table, token keys,
// devices; and what the test needs to talk to it.
type fixture struct {
	t        *testing.T
	dir      string
	issuer   *issuer.Issuer
	nodeCA   *testca.CA
	proxyCA  *testca.CA   // the edge proxies' signer, in -trust
	proxy    *testca.Leaf // expc1.example.com: in the edge-proxy table
	stranger *testca.Leaf // expc9.example.com: signed by the same CA, not in the table
	files    map[string]string
}

const (
	issuerName     = "https://cucm.example.com"
	audience       = "sip"
	digestPassword = "legacy-secret"
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), files: map[string]string{}}
	var err error
	// Unified CM's nested shape, so that the decryption key is used.
	f.issuer, err = issuer.New(issuer.Config{Issuer: issuerName, Nested: true, Audience: []string{audience}})
	if err != nil {
		t.Fatal(err)
	}
	f.nodeCA = testca.New(t, "Node CA")
	f.proxyCA = testca.New(t, "Expressway CA")
	proxyCA := f.proxyCA
	node := f.nodeCA.Server(t, "127.0.0.1")
	f.proxy = proxyCA.Client(t, "expc1.example.com")
	f.stranger = proxyCA.Client(t, "expc9.example.com")

	kid, key := f.issuer.EncryptionKey()
	dk, _ := json.Marshal(map[string]string{kid: base64.StdEncoding.EncodeToString(key)})
	f.write("cert", "node.pem", node.CertPEM())
	f.write("key", "node.key", node.KeyPEM())
	f.write("trust", "edge-ca.pem", testca.CertPEM(proxyCA.Cert))
	f.write("edge-table", "edge-proxies.json", []byte(`{"entries": [{"hostNameOrIp": "expc1", "description": "Expressway-C 1", "names": ["expc1.example.com"]}]}`))
	f.write("keys", "authz.pem", f.issuer.PublicKeyPEM())
	f.write("decryption-key", "cluster-key.json", dk)
	f.write("devices", "devices.json", []byte(`[
		{"name": "CSFrado", "owner": "rado", "lines": ["1001"], "oauth": true},
		{"name": "CSFalice", "owner": "alice", "oauth": true},
		{"name": "SEPlegacy", "owner": "rado", "oauth": false},
		{"name": "SEPdigest", "owner": "bob", "lines": ["1005"], "oauth": false, "digest": {"password": "`+digestPassword+`"}}
	]`))
	return f
}

// write writes a file of the node and remembers it as the setting's value.
func (f *fixture) write(setting, name string, data []byte) {
	p := filepath.Join(f.dir, name)
	writeFile(f.t, p, string(data))
	f.files[setting] = p
}

// args are the flags of a node on 127.0.0.1 ephemeral ports, with extra
// flags after them.
func (f *fixture) args(extra ...string) []string {
	a := []string{
		"-oauth", "127.0.0.1:0", "-edge", "127.0.0.1:0", "-metrics", "127.0.0.1:0",
		"-issuer", issuerName, "-audience", audience, "-node-name", "UCM2-PUB", "-log-level", "info",
	}
	for _, s := range []string{"cert", "key", "trust", "edge-table", "keys", "decryption-key", "devices"} {
		a = append(a, "-"+s, f.files[s])
	}
	return append(a, extra...)
}

// start starts a registrar with f.args(extra...); it stops with the test,
// and its log is shown when the test fails.
func (f *fixture) start(extra ...string) *running {
	f.t.Helper()
	r, _ := f.startLogged(extra...)
	return r
}

// startLogged is start, returning the node's log too.
func (f *fixture) startLogged(extra ...string) (*running, *syncbuf.Buffer) {
	f.t.Helper()
	return startArgs(f.t, f.args(extra...))
}

// startArgs starts a registrar with the command line args; it stops with
// the test, and its log is shown when the test fails.
func startArgs(t *testing.T, args []string) (*running, *syncbuf.Buffer) {
	t.Helper()
	s, err := loadConfig(args)
	if err != nil {
		t.Fatal(err)
	}
	logs := new(syncbuf.Buffer)
	s.logOut = logs
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("registrar log:\n%s", logs)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return r, logs
}

// mint returns an access token of user for device.
func (f *fixture) mint(user, device string, extra map[string]any) string {
	f.t.Helper()
	tok, err := f.issuer.Mint(issuer.TokenRequest{User: user, Device: device, Extra: extra})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// client is a Jabber-like SIP client: over TLS trusting the node CA (with
// cert as its client certificate when set), or over plain TCP or UDP.
type client struct {
	c         *sipgo.Client
	addr      string
	transport string // TLS, TCP or UDP
}

func (f *fixture) client(addr, transport string, cert *testca.Leaf) *client {
	f.t.Helper()
	cfg := &tls.Config{RootCAs: f.nodeCA.Pool(), ServerName: "127.0.0.1"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS()}
	}
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Cisco-CSF"), sipgo.WithUserAgenTLSConfig(cfg),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		f.t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(quiet))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close(); ua.Close() })
	return &client{c: c, addr: addr, transport: transport}
}

// register builds a Jabber REGISTER of device by user, as in a client log.
func (c *client) register(device, user string) *sip.Request {
	tp := map[string]string{"TLS": "tls", "TCP": "tcp", "UDP": "udp"}[c.transport]
	var ruri sip.Uri
	sip.ParseUri("sip:"+c.addr+";transport="+tp, &ruri)
	req := sip.NewRequest(sip.REGISTER, ruri)
	req.SetTransport(c.transport)
	req.AppendHeader(sip.NewHeader("To", "<sip:"+user+"@"+c.addr+">"))
	req.AppendHeader(sip.NewHeader("From", "<sip:"+user+"@"+c.addr+">;tag=882323451234089000003bdd-00005eff"))
	req.AppendHeader(sip.NewHeader("Contact", `<sip:`+user+`@127.0.0.1;transport=`+tp+`>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-`+fmt.Sprintf("%012x", len(device)+len(user)*7)+`>";+u.sip!devicename.ccm.cisco.com="`+device+`";+u.sip!model.ccm.cisco.com="503";video`))
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	req.AppendHeader(sip.NewHeader("User-Agent", "Cisco-CSF"))
	return req
}

// do sends req and returns the final answer.
func (c *client) do(t *testing.T, req *sip.Request, opts ...sipgo.ClientRequestOption) *sip.Response {
	t.Helper()
	res, err := c.try(req, opts...)
	if err != nil {
		t.Fatalf("REGISTER over %s to %s: %v", c.transport, c.addr, err)
	}
	return res
}

func (c *client) try(req *sip.Request, opts ...sipgo.ClientRequestOption) (*sip.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if len(opts) == 0 {
		opts = []sipgo.ClientRequestOption{sipgo.ClientRequestRegisterBuild}
	}
	return c.c.Do(ctx, req, opts...)
}

// retry resends req with the next CSeq, a new branch and the header
// name: value, as a client answers a challenge.
func (c *client) retry(t *testing.T, req *sip.Request, name, value string) (*sip.Response, *sip.Request) {
	t.Helper()
	next := req.Clone()
	next.RemoveHeader("Via")
	next.RemoveHeader(name)
	next.AppendHeader(sip.NewHeader(name, value))
	return c.do(t, next, sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia), next
}

func header(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
