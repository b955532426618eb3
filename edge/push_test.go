package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/mtlstrust"
)

// tableServer serves an mtlstrust.TableHandler over TLS on 127.0.0.1 with
// the node's certificate, as a node serves its table, and counts the
// requests.
type tableServer struct {
	url      string
	table    *mtlstrust.MemoryTable
	requests atomic.Int64
}

func newTableServer(t *testing.T, p *pki, table *mtlstrust.MemoryTable) *tableServer {
	t.Helper()
	ts := &tableServer{table: table}
	h := mtlstrust.NewTableHandler(table, map[string]string{"expressway": "s3cret"})
	ln, err := tls.Listen("tcp", "127.0.0.1:0", mtlstrust.OAuthServerConfig(p.nodeCert))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ts.requests.Add(1)
			http.StripPrefix("/axl/edge-proxies", h).ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // the refused handshake of the untrusting client
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ts.url = "https://" + ln.Addr().String() + "/axl/edge-proxies"
	return ts
}

// nodeClient trusts the node's CA.
func nodeClient(p *pki) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.nodeCA.Pool()}}}
}

// TestPushIdentity: the entry lands in the table, a second push replaces
// it, and refusals say why.
func TestPushIdentity(t *testing.T) {
	p := newPKI(t)
	ts := newTableServer(t, p, &mtlstrust.MemoryTable{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leaf, err := leafOf(p.proxyCert)
	if err != nil {
		t.Fatal(err)
	}
	entry := EntryFor("expc1", leaf)
	want := mtlstrust.Entry{HostNameOrIP: "expc1", Description: "edge proxy expc1", Names: []string{proxyName, "127.0.0.1"}}
	if !reflect.DeepEqual(entry, want) {
		t.Fatalf("EntryFor %+v, want %+v", entry, want)
	}

	created, err := PushIdentity(ctx, nodeClient(p), ts.url, "expressway", "s3cret", entry)
	if err != nil || !created {
		t.Fatalf("first push: created %v, %v", created, err)
	}
	created, err = PushIdentity(ctx, nodeClient(p), ts.url+"/entries/", "expressway", "s3cret", entry)
	if err != nil || created {
		t.Fatalf("second push: created %v, %v", created, err)
	}
	list, _ := ts.table.List()
	if !reflect.DeepEqual(list, []mtlstrust.Entry{want}) {
		t.Fatalf("table %+v", list)
	}
	if _, ok := ts.table.Match(mtlstrust.PeerNames(leaf, mtlstrust.CNWhenNoDNSSAN)); !ok {
		t.Fatal("the pushed entry does not match the proxy's certificate")
	}

	_, err = PushIdentity(ctx, nodeClient(p), ts.url, "expressway", "wrong", EntryFor("expc9", leaf))
	var pe *PushError
	if !errors.As(err, &pe) || pe.StatusCode != 401 || pe.Message != "authentication required" || pe.User != "expressway" ||
		pe.URL != strings.TrimSuffix(ts.url, "/")+"/entries" || !errors.Is(err, ErrPushUnauthorized) ||
		!strings.Contains(err.Error(), "wrong user name or password") || strings.Contains(err.Error(), "wrong\"") {
		t.Fatalf("wrong password: %v", err)
	}
	if list, _ := ts.table.List(); len(list) != 1 {
		t.Fatalf("the refused push changed the table: %+v", list)
	}
	// Guessing locks this address out: the table answers 429, which the
	// error reports with its Retry-After.
	for range mtlstrust.DefaultMaxAuthFailures {
		PushIdentity(ctx, nodeClient(p), ts.url, "expressway", "guess", entry)
	}
	_, err = PushIdentity(ctx, nodeClient(p), ts.url, "expressway", "s3cret", entry)
	if !errors.As(err, &pe) || pe.StatusCode != 429 || pe.RetryAfter <= 0 || pe.RetryAfter > mtlstrust.DefaultLockout ||
		!strings.Contains(err.Error(), "too many failed logins") || errors.Is(err, ErrPushUnauthorized) {
		t.Fatalf("locked out: %v", err)
	}

	before := ts.requests.Load()
	_, err = PushIdentity(ctx, nodeClient(p), strings.Replace(ts.url, "https:", "http:", 1), "expressway", "s3cret", entry)
	if err == nil || !strings.Contains(err.Error(), "https is required") {
		t.Fatalf("plain http: %v", err)
	}
	_, err = PushIdentity(ctx, nodeClient(p), ts.url, "expressway", "s3cret", mtlstrust.Entry{HostNameOrIP: "expc1"})
	if !errors.Is(err, mtlstrust.ErrInvalidEntry) {
		t.Fatalf("entry without names: %v", err)
	}
	if n := ts.requests.Load(); n != before {
		t.Fatalf("%d requests sent for pushes refused before sending", n-before)
	}

	// A table whose certificate the client does not trust is not sent the
	// credentials.
	_, err = PushIdentity(ctx, &http.Client{Timeout: 5 * time.Second}, ts.url, "expressway", "s3cret", entry)
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("untrusted table: %v", err)
	}
}

// TestEntryFor: a CN that is not a name is left out, SANs are kept once.
func TestEntryFor(t *testing.T) {
	ca := testca.New(t, "Expressway CA")
	l := ca.Issue(t, testca.Options{CommonName: "Expressway C Cluster", DNSNames: []string{"expc1.example.com", "EXPC1.example.com", "*.mra.example.com", "bad_name"},
		IPs: []net.IP{net.ParseIP("10.0.0.9")}})
	e := EntryFor("", l.Cert)
	want := mtlstrust.Entry{HostNameOrIP: "expc1.example.com", Description: "edge proxy expc1.example.com", Names: []string{"expc1.example.com", "*.mra.example.com", "10.0.0.9"}}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("%+v, want %+v", e, want)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestServePushesIdentity: a proxy whose name is not in the node's table
// pushes it before serving, with the default client that trusts the
// node's CA, and is then let in; with a wrong password Serve fails at
// once and says why.
func TestServePushesIdentity(t *testing.T) {
	p, iss := newPKI(t), newIssued(t)
	table := &mtlstrust.MemoryTable{}
	n := newNode(t, p, iss, nodeOptions{table: table})
	ts := newTableServer(t, p, table)

	px := startProxy(t, p, Config{Upstreams: []string{n.addr}, ServerName: "127.0.0.1",
		Table: &TableConfig{URL: ts.url, User: "expressway", Password: "s3cret"}})
	c := newSoftClient(t, p, px.addr)
	req := c.register()
	res := c.do(t, req, sipgo.ClientRequestRegisterBuild)
	if res.StatusCode != 407 {
		t.Fatalf("answer:\n%s", res)
	}
	checkForwarded(t, n, n.next(t), branchOf(req))
	list, _ := table.List()
	if len(list) != 1 || list[0].HostNameOrIP != "expc1" || !reflect.DeepEqual(list[0].Names, []string{proxyName, "127.0.0.1"}) {
		t.Fatalf("table %+v", list)
	}
	px.noFailure(t)
	if logs := px.logs.String(); !strings.Contains(logs, "edge: identity pushed") || strings.Contains(logs, "s3cret") {
		t.Fatalf("logs:\n%s", logs)
	}

	bad, err := New(Config{Certificate: p.proxyCert, NodeTrust: mtlstrust.NewTrustStore(p.nodeCA.Cert), Upstreams: []string{n.addr},
		Table: &TableConfig{URL: ts.url, User: "expressway", Password: "guess"}})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	ln, err := bad.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- bad.Serve(ln) }()
	select {
	case err = <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	var pe *PushError
	if !errors.As(err, &pe) || pe.StatusCode != 401 || !errors.Is(err, ErrPushUnauthorized) {
		t.Fatalf("Serve with a wrong password: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("the listener is still open")
	}
}
