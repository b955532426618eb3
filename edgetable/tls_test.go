package edgetable

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/mtlstrust"
)

// pki is a deployment: the node's CA and certificate, the edge proxy's
// CA and certificate, the stores each side trusts, and the node's table
// listing the proxy.
type pki struct {
	nodeCA, proxyCA *testca.CA
	node, proxy     *testca.Leaf
	nodeCert        *mtlstrust.CertSource
	proxyCert       *mtlstrust.CertSource
	tomcatTrust     *mtlstrust.TrustStore // the node trusts the proxy's signer
	proxyTrust      *mtlstrust.TrustStore // the proxy trusts the node's signer
	table           *Memory
}

const (
	nodeName  = "cucm-pub.example.com"
	proxyName = "expc1.example.com"
)

func newPKI(t testing.TB) *pki {
	t.Helper()
	p := &pki{nodeCA: testca.New(t, "Node CA"), proxyCA: testca.New(t, "Expressway CA")}
	// The node serves its table API on 127.0.0.1 in the push tests.
	p.node = p.nodeCA.Server(t, nodeName, "10.10.10.1", "127.0.0.1")
	p.proxy = p.proxyCA.Client(t, proxyName)
	var err error
	if p.nodeCert, err = mtlstrust.NewCertSource(p.node.TLS()); err != nil {
		t.Fatal(err)
	}
	if p.proxyCert, err = mtlstrust.NewCertSource(p.proxy.TLS()); err != nil {
		t.Fatal(err)
	}
	p.tomcatTrust = mtlstrust.NewTrustStore(p.proxyCA.Cert)
	p.proxyTrust = mtlstrust.NewTrustStore(p.nodeCA.Cert)
	p.table = &Memory{}
	if err := p.table.Put(Entry{HostNameOrIP: proxyName, Description: "Expressway-C 1", Names: []string{proxyName}}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pki) edgeServer() *tls.Config {
	return mtlstrust.EdgeServerConfig(p.nodeCert, p.tomcatTrust, Authorize(p.table))
}

func (p *pki) edgeClient() *tls.Config {
	return mtlstrust.EdgeClientConfig(p.proxyCert, p.proxyTrust, nodeName)
}

// edgePort is a stand-in for the SIP stack on the MRA OAuth port: it
// answers each line a peer sends with "ok" or "refused", asking authz
// about the connection's state every time, as a registrar does for every
// REGISTER.
func edgePort(t *testing.T, server *tls.Config, authz mtlstrust.Authorizer) (addr string, refusals <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errs := make(chan error, 16)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, server)
		if err := tc.Handshake(); err != nil {
			errs <- err
			return
		}
		r := bufio.NewReader(tc)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			cs := tc.ConnectionState()
			answer := "ok\n"
			if err := mtlstrust.AuthorizeConnection(authz, &cs); err != nil {
				errs <- err
				answer = "refused\n"
			}
			if _, err := tc.Write([]byte(answer)); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String(), errs
}

// TestAuthorizeConnectionOverTLS: an edge proxy whose entry is deleted
// through the table's HTTP API is refused on the connection it already
// holds, at its next request, and accepted again on the same connection
// once its entry is pushed again.
func TestAuthorizeConnectionOverTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ft, err := OpenFile(filepath.Join(t.TempDir(), "edge.json"))
	if err != nil {
		t.Fatal(err)
	}
	entry := `{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"]}`
	if err := ft.Put(Entry{HostNameOrIP: "expc1.example.com", Names: []string{"expc1.example.com"}}); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewTLSServer(NewHandler(ft, testUsers))
	defer api.Close()
	c := newClient(t, api)

	authz := Authorize(ft)
	addr, refusals := edgePort(t, mtlstrust.EdgeServerConfig(p.nodeCert, p.tomcatTrust, authz), authz)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, p.edgeClient())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	request := func(what, want string) {
		t.Helper()
		if _, err := conn.Write([]byte("REGISTER\n")); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got, err := r.ReadString('\n')
		if err != nil || got != want+"\n" {
			t.Fatalf("%s: answered %q (%v), want %q", what, got, err, want)
		}
	}

	request("listed", "ok")
	expect(t, "delete the entry", c.as("DELETE", "/entries/expc1.example.com", ""), 204, "")
	request("same connection after the entry was deleted", "refused")
	select {
	case err := <-refusals:
		var nit *mtlstrust.NotInTableError
		if !errors.As(err, &nit) || !errors.Is(err, mtlstrust.ErrNotAuthorized) || len(nit.Names.DNS) != 1 || nit.Names.DNS[0] != "expc1.example.com" {
			t.Fatalf("refusal %v, want a NotInTableError naming expc1.example.com", err)
		}
	default:
		t.Fatal("no refusal recorded")
	}
	expect(t, "push the entry again", c.as("PUT", "/entries", entry), 201, entry+"\n")
	request("same connection after the entry came back", "ok")
}

// TestAuthorizeFollowsTable: an entry removed from the table refuses the
// proxy's next handshake.
func TestAuthorizeFollowsTable(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	server := p.edgeServer()
	if r := testca.RunHandshake(t, server, p.edgeClient()); r.ServerErr != nil {
		t.Fatal(r.ServerErr)
	}
	p.table.Remove("expc1.example.com")
	if r := testca.RunHandshake(t, server, p.edgeClient()); !errors.Is(r.ServerErr, mtlstrust.ErrNotAuthorized) {
		t.Fatalf("removed entry still accepted: %v", r.ServerErr)
	}
}

// TestEntryAddedOverHTTP: an edge proxy is refused until its entry is
// pushed through the table's HTTP handler (as Expressway-C does on
// refresh); the next handshake passes, and the entry survives a restart.
func TestEntryAddedOverHTTP(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	path := filepath.Join(t.TempDir(), "edge-proxies.json")
	ft, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	server := mtlstrust.EdgeServerConfig(p.nodeCert, p.tomcatTrust, Authorize(ft))
	if r := testca.RunHandshake(t, server, p.edgeClient()); mtlstrust.Diagnose(r.ServerErr, diag.NodeSide).Code != diag.CodeNotInTable {
		t.Fatalf("before: %v", r.ServerErr)
	}

	api := httptest.NewTLSServer(NewHandler(ft, map[string]string{"axl": "s3cret"}))
	defer api.Close()
	client := api.Client()
	client.Timeout = 5 * time.Second
	req, _ := http.NewRequest("PUT", api.URL+"/entries",
		strings.NewReader(`{"hostNameOrIp":"expc1.example.com","description":"Expressway-C 1","names":["expc1.example.com"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("axl", "s3cret")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", res.StatusCode)
	}
	if r := testca.RunHandshake(t, server, p.edgeClient()); r.ServerErr != nil || r.ClientErr != nil {
		t.Fatalf("after: server %v, client %v", r.ServerErr, r.ClientErr)
	}
	reopened, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := reopened.Match(certcheck.PeerNames(p.proxy.Cert, certcheck.CNWhenNoDNSSAN)); !ok || e.Description != "Expressway-C 1" {
		t.Fatalf("after a restart: %+v %v", e, ok)
	}
}

// TestWildcardCertificateOverTLS: a certificate from the trusted CA whose
// only name is "*.example.com" passes on the MRA port for an entry it
// covers only once the operator allows wildcard certificates for that
// entry, here through the table's HTTP API, and no longer once the entry
// is pushed again without it.
func TestWildcardCertificateOverTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	wild, err := mtlstrust.NewCertSource(p.proxyCA.Client(t, "*.example.com").TLS())
	if err != nil {
		t.Fatal(err)
	}
	plain := p.proxyCert
	ft, err := OpenFile(filepath.Join(t.TempDir(), "edge.json"))
	if err != nil {
		t.Fatal(err)
	}
	server := mtlstrust.EdgeServerConfig(p.nodeCert, p.tomcatTrust, Authorize(ft))
	refused := func(what string) {
		t.Helper()
		r := testca.RunHandshake(t, server, p.edgeClient())
		var nit *mtlstrust.NotInTableError
		if !errors.As(r.ServerErr, &nit) || !errors.Is(r.ServerErr, mtlstrust.ErrNotAuthorized) || r.ClientErr == nil {
			t.Fatalf("%s: server %v, client %v; want a NotInTableError", what, r.ServerErr, r.ClientErr)
		}
	}
	accepted := func(what string) {
		t.Helper()
		if r := testca.RunHandshake(t, server, p.edgeClient()); r.ServerErr != nil || r.ClientErr != nil {
			t.Fatalf("%s: server %v, client %v", what, r.ServerErr, r.ClientErr)
		}
	}

	srv := httptest.NewTLSServer(NewHandler(ft, testUsers))
	defer srv.Close()
	c := newClient(t, srv)
	plainEntry := `{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"]}`
	expect(t, "push without wildcard certificates", c.as("PUT", "/entries", plainEntry), 201, plainEntry+"\n")

	p.proxyCert = wild
	refused("wildcard certificate over expc1.example.com, not allowed")
	p.proxyCert = plain
	accepted("the proxy's own certificate")

	allowing := `{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"],"allowWildcardCertificate":true}`
	expect(t, "allow wildcard certificates", c.as("PUT", "/entries", allowing), 200, allowing+"\n")
	expect(t, "list shows the setting", c.as("GET", "/entries", ""), 200, "["+allowing+"]\n")
	p.proxyCert = wild
	accepted("wildcard certificate over expc1.example.com, allowed")
	re, err := OpenFile(ft.Path())
	if err != nil {
		t.Fatal(err)
	}
	if l := mustList(t, re); len(l) != 1 || !l[0].AllowWildcardCertificate {
		t.Fatalf("the setting did not survive a restart: %+v", l)
	}

	// An entry that lists the wildcard itself still takes plain names
	// under it, but not the wildcard certificate, unless allowed.
	wildEntry := `{"hostNameOrIp":"expc1.example.com","names":["*.example.com"]}`
	expect(t, "push a wildcard entry", c.as("PUT", "/entries", wildEntry), 200, wildEntry+"\n")
	refused("the same wildcard in the certificate, not allowed")
	p.proxyCert = plain
	accepted("plain name under the entry's wildcard")

	expect(t, "remove", c.as("DELETE", "/entries/expc1.example.com", ""), 204, "")
	refused("no entry")
}
