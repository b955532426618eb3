package mtlstrust

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// edgePort is a stand-in for the SIP stack on the MRA OAuth port: it
// answers each line a peer sends with "ok" or "refused", asking authz
// about the connection's state every time, as a registrar does for every
// REGISTER.
func edgePort(t *testing.T, server *tls.Config, authz Authorizer) (addr string, refusals <-chan error) {
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
			if err := AuthorizeConnection(authz, &cs); err != nil {
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
	p := newPKI(t)
	ft, err := OpenFileTable(filepath.Join(t.TempDir(), "edge.json"))
	if err != nil {
		t.Fatal(err)
	}
	entry := `{"hostNameOrIp":"expc1.example.com","names":["expc1.example.com"]}`
	if err := ft.Put(Entry{HostNameOrIP: "expc1.example.com", Names: []string{"expc1.example.com"}}); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewTLSServer(NewTableHandler(ft, testUsers))
	defer api.Close()
	c := newClient(t, api)

	authz := AuthorizeTable(ft)
	addr, refusals := edgePort(t, EdgeServerConfig(p.nodeCert, p.tomcatTrust, authz), authz)
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
		var nit *NotInTableError
		if !errors.As(err, &nit) || !errors.Is(err, ErrNotAuthorized) || len(nit.Names.DNS) != 1 || nit.Names.DNS[0] != "expc1.example.com" {
			t.Fatalf("refusal %v, want a NotInTableError naming expc1.example.com", err)
		}
	default:
		t.Fatal("no refusal recorded")
	}
	expect(t, "push the entry again", c.as("PUT", "/entries", entry), 201, entry+"\n")
	request("same connection after the entry came back", "ok")
}

// TestAuthorizeConnection: the same for a MemoryTable, and the states
// that are refused whatever the authorizer says.
func TestAuthorizeConnection(t *testing.T) {
	p := newPKI(t)
	authz := AuthorizeTable(p.table)
	r := handshake(t, p.edgeServer(), p.edgeClient())
	if r.serverErr != nil || r.clientErr != nil {
		t.Fatalf("server %v, client %v", r.serverErr, r.clientErr)
	}
	cs := r.server
	if err := AuthorizeConnection(authz, &cs); err != nil {
		t.Fatalf("listed: %v", err)
	}
	if ok, _ := p.table.Remove("expc1.example.com"); !ok {
		t.Fatal("remove")
	}
	var nit *NotInTableError
	if err := AuthorizeConnection(authz, &cs); !errors.As(err, &nit) || !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("after removal: %v", err)
	}
	if err := p.table.Put(Entry{HostNameOrIP: "expc1.example.com", Names: []string{"expc1.example.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := AuthorizeConnection(authz, &cs); err != nil {
		t.Fatalf("after re-adding: %v", err)
	}

	// A connection on the OAuth port has no peer certificate.
	oauth := handshake(t, OAuthServerConfig(p.nodeCert), &tls.Config{RootCAs: p.nodeCA.Pool(), ServerName: nodeName})
	if oauth.serverErr != nil {
		t.Fatal(oauth.serverErr)
	}
	unverified := cs
	unverified.VerifiedChains = nil // a peer certificate that was never verified
	for _, tc := range []struct {
		what string
		a    Authorizer
		cs   *tls.ConnectionState
		msg  string
	}{
		{"nil state", AuthorizeAny(), nil, "mtlstrust: peer not authorized: no TLS connection state"},
		{"no peer certificate", AuthorizeAny(), &oauth.server, "mtlstrust: peer not authorized: no verified client certificate"},
		{"empty state", AuthorizeAny(), &tls.ConnectionState{}, "mtlstrust: peer not authorized: no verified client certificate"},
		{"unverified peer", AuthorizeAny(), &unverified, "mtlstrust: peer not authorized: no verified client certificate"},
		{"nil authorizer", nil, &cs, "mtlstrust: peer not authorized: no authorizer"},
	} {
		err := AuthorizeConnection(tc.a, tc.cs)
		if !errors.Is(err, ErrNotAuthorized) || err.Error() != tc.msg {
			t.Errorf("%s: %v, want %q", tc.what, err, tc.msg)
		}
	}

	// The authorizer sees the connection's leaf and chains.
	var gotPeer *x509.Certificate
	var gotChains [][]*x509.Certificate
	spy := func(peer *x509.Certificate, chains [][]*x509.Certificate) error {
		gotPeer, gotChains = peer, chains
		return nil
	}
	if err := AuthorizeConnection(spy, &cs); err != nil || gotPeer != cs.PeerCertificates[0] || len(gotChains) != len(cs.VerifiedChains) || gotChains[0][0] != cs.VerifiedChains[0][0] {
		t.Fatalf("authorizer called with %v, %v: %v", gotPeer, gotChains, err)
	}
}

// TestAuthorizeConnectionAllocations: the check made on every request
// allocates nothing of its own, and a refusal for want of a verified
// peer allocates nothing at all.
func TestAuthorizeConnectionAllocations(t *testing.T) {
	p := newPKI(t)
	r := handshake(t, p.edgeServer(), p.edgeClient())
	if r.serverErr != nil {
		t.Fatal(r.serverErr)
	}
	cs := r.server
	if n := testing.AllocsPerRun(100, func() { AuthorizeConnection(AuthorizeAny(), &cs) }); n != 0 {
		t.Errorf("AuthorizeAny: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { AuthorizeConnection(AuthorizeAny(), &tls.ConnectionState{}) }); n != 0 {
		t.Errorf("refusal: %v allocations", n)
	}
}
