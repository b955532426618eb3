//go:build !js

// The parity tests compare with mtlstrust and client, which serve and
// dial TLS and are not built for js.

package inspect

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/mtlstrust"
)

// TestPortMismatchParity: the causes of scenario 1 are client's, word for
// word, with the same codes, as possible causes of one refusal.
func TestPortMismatchParity(t *testing.T) {
	t.Parallel()
	for _, port := range []int{0, 5090, 5190} {
		r, err := Check(KindResponse, readFile(t, "testdata/response.input"), Options{Port: port})
		if err != nil {
			t.Fatal(err)
		}
		want := port
		if want == 0 {
			want = 5090
		}
		pm := &client.PortMismatchError{Target: client.Target{Target: cnfxml.Target{Port: want}}}
		causes := pm.Causes()
		for i := range causes {
			causes[i].Severity = diag.Info
			causes[i].Message = PossibleCause + causes[i].Message
		}
		if r.Findings[0].Code != CodePortMismatch || r.Findings[0].Severity != diag.Error || !reflect.DeepEqual(r.Findings[1:], causes) {
			t.Fatalf("port %d:\n got %+v\nwant %+v", port, r.Findings, causes)
		}
	}
	if CodeOAuthDisabled != client.CodeOAuthDisabled || CodeProfileWithoutOAuth != client.CodeProfileWithoutOAuth ||
		CodeWrongConnectionKind != client.CodeWrongConnectionKind {
		t.Fatal("the codes differ from client's")
	}
}

// TestDiagnoseCodes: the codes are mtlstrust's.
func TestDiagnoseCodes(t *testing.T) {
	t.Parallel()
	got := []string{CodeUnknownCAAtEdge, CodeUnknownCAAtNode, CodeUnknownCAAtClient, CodeNotInTable, CodeBadCertificate, CodeCertificateExpired,
		CodeNoClientCertificate, CodeNodeNameMismatch, CodeHandshakeFailed, diag.FixUnknownCAAtClient}
	want := []string{diag.CodeUnknownCAAtEdge, diag.CodeUnknownCAAtNode, diag.CodeUnknownCAAtClient, diag.CodeNotInTable, diag.CodeBadCertificate,
		diag.CodeCertificateExpired, diag.CodeNoClientCertificate, diag.CodeNodeNameMismatch, diag.CodeHandshakeFailed, diag.FixUnknownCAAtClient}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%v != %v", got, want)
	}
}

// deployment is the node and the edge proxy of an MRA deployment, with
// what each trusts.
type deployment struct {
	nodeCA, proxyCA         *testca.CA
	node, proxy             *testca.Leaf
	tomcatTrust, proxyTrust *x509.Certificate
	table                   *edgetable.Memory
	dialName                string
}

const nodeName = "cucm-pub.example.com"

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	d := &deployment{nodeCA: testca.New(t, "Node CA"), proxyCA: testca.New(t, "Expressway CA"), dialName: nodeName}
	d.node = d.nodeCA.Server(t, nodeName, "10.10.10.1")
	d.proxy = d.proxyCA.Client(t, "expc1.example.com")
	d.tomcatTrust, d.proxyTrust = d.proxyCA.Cert, d.nodeCA.Cert
	d.table = &edgetable.Memory{}
	if err := d.table.Put(edgetable.Entry{HostNameOrIP: "expc1.example.com", Names: []string{"expc1.example.com"}}); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *deployment) configs(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	nodeCert, err := mtlstrust.NewCertSource(d.node.TLS())
	if err != nil {
		t.Fatal(err)
	}
	proxyCert, err := mtlstrust.NewCertSource(d.proxy.TLS())
	if err != nil {
		t.Fatal(err)
	}
	server = mtlstrust.EdgeServerConfig(nodeCert, mtlstrust.NewTrustStore(d.tomcatTrust), edgetable.Authorize(d.table))
	client = mtlstrust.EdgeClientConfig(proxyCert, mtlstrust.NewTrustStore(d.proxyTrust), d.dialName)
	return server, client
}

// handshake runs one connection over 127.0.0.1 and returns the errors
// each side saw. The client reads a byte after its handshake: in TLS 1.3
// the server's refusal of the client's certificate arrives then.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, server)
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte{1})
		}
		done <- err
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	tc := tls.Client(c, client)
	if clientErr = tc.Handshake(); clientErr == nil {
		var b [1]byte
		_, clientErr = io.ReadFull(tc, b[:])
	}
	return <-done, clientErr
}

// TestTLSParity produces the failures of scenarios 2 and 3 with real
// handshakes, on both TLS versions, and checks that the text of each
// side's error classifies as mtlstrust.Diagnose classifies the error.
func TestTLSParity(t *testing.T) {
	t.Parallel()
	other := testca.New(t, "Some Other CA")
	cases := []struct {
		name  string
		setup func(d *deployment)
		// scenario each side sees: node, edge
		node, edge int
	}{
		{"2: the proxy does not trust the node's signer", func(d *deployment) { d.proxyTrust = other.Cert }, 2, 2},
		{"3: the node does not trust the proxy's signer", func(d *deployment) { d.tomcatTrust = other.Cert }, 3, 3},
		{"3: the proxy is not in the table", func(d *deployment) {
			d.table.Remove("expc1.example.com")
			d.table.Put(edgetable.Entry{HostNameOrIP: "expc2", Names: []string{"expc2.example.com"}})
		}, 3, 3},
		{"expired proxy certificate", func(d *deployment) {
			d.proxy = d.proxyCA.Issue(t, testca.Options{CommonName: "expc1.example.com", DNSNames: []string{"expc1.example.com"},
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
		}, 3, 3},
		{"the node's certificate lacks the name dialed", func(d *deployment) { d.dialName = "cucm-sub.example.com" }, -1, 0},
	}
	for _, tc := range cases {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tc.name+"/"+tls.VersionName(v), func(t *testing.T) {
				d := newDeployment(t)
				tc.setup(d)
				server, client := d.configs(t)
				client.MaxVersion = v
				serverErr, clientErr := handshake(t, server, client)
				if serverErr == nil || clientErr == nil {
					t.Fatalf("handshake passed: server %v, client %v", serverErr, clientErr)
				}
				compare(t, serverErr, "node", diag.NodeSide, tc.node)
				compare(t, clientErr, "edge", diag.EdgeSide, tc.edge)
			})
		}
	}

	// A client without a certificate on the MRA OAuth port: none of the
	// scenarios.
	d := newDeployment(t)
	server, _ := d.configs(t)
	serverErr, clientErr := handshake(t, server, &tls.Config{RootCAs: d.nodeCA.Pool(), ServerName: nodeName})
	compare(t, serverErr, "node", diag.NodeSide, 0)
	compare(t, clientErr, "edge", diag.EdgeSide, 0)

	// A soft client on the OAuth port: one that does not trust the node's
	// signer, and one that finds the node's certificate expired.
	clientCA := testca.New(t, "Client's CA")
	nodeCert, err := mtlstrust.NewCertSource(d.node.TLS())
	if err != nil {
		t.Fatal(err)
	}
	_, clientErr = handshake(t, mtlstrust.OAuthServerConfig(nodeCert), &tls.Config{RootCAs: clientCA.Pool(), ServerName: nodeName})
	compare(t, clientErr, "client", diag.ClientSide, 0)
	if r, _ := Check(KindTLS, []byte(clientErr.Error()), Options{Side: "client"}); r.Findings[0].Code != CodeUnknownCAAtClient || r.TLS.Side != SideClient {
		t.Fatalf("client side: %+v %+v", r.Findings, r.TLS)
	}
	expired := d.nodeCA.Issue(t, testca.Options{CommonName: nodeName, DNSNames: []string{nodeName},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	expiredCert, err := mtlstrust.NewCertSource(expired.TLS())
	if err != nil {
		t.Fatal(err)
	}
	_, clientErr = handshake(t, mtlstrust.OAuthServerConfig(expiredCert), &tls.Config{RootCAs: d.nodeCA.Pool(), ServerName: nodeName})
	compare(t, clientErr, "client", diag.ClientSide, 0)
}

// compare checks that the text of err, seen on side, classifies as
// Diagnose classifies err, and as scenario (-1: any).
func compare(t *testing.T, err error, side string, ms diag.Side, scenario int) {
	t.Helper()
	want := mtlstrust.Diagnose(err, ms)
	r, cerr := Check(KindTLS, []byte(err.Error()), Options{Side: side})
	if cerr != nil {
		t.Fatal(cerr)
	}
	got := r.Findings[0]
	if got.Code != want.Code || got.Fix != want.Fix || r.TLS.Scenario != want.Scenario || r.TLS.Alert != want.Alert ||
		got.Severity != want.Severity || got.Path != want.Path {
		t.Fatalf("%s side, %q:\n got %s scenario %d alert %d fix %q\nwant %s scenario %d alert %d fix %q",
			side, err, got.Code, r.TLS.Scenario, r.TLS.Alert, got.Fix, want.Code, want.Scenario, want.Alert, want.Fix)
	}
	if scenario >= 0 && r.TLS.Scenario != scenario {
		t.Fatalf("%s side, %q: scenario %d, want %d", side, err, r.TLS.Scenario, scenario)
	}
	if k, _ := Detect([]byte(err.Error())); k != KindTLS {
		t.Fatalf("%q detected as %q", err, k)
	}
}
