package edge

import (
	"crypto/tls"
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

	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/mtlstrust"
)

// tableServer serves an edgetable.Handler over TLS on 127.0.0.1 with
// the node's certificate, as a node serves its table, and counts the
// requests.
type tableServer struct {
	url      string
	table    *edgetable.Memory
	requests atomic.Int64
}

func newTableServer(t *testing.T, p *pki, table *edgetable.Memory) *tableServer {
	t.Helper()
	ts := &tableServer{table: table}
	h := edgetable.NewHandler(table, map[string]string{"expressway": "s3cret"})
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
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	ts.url = "https://" + ln.Addr().String() + "/axl/edge-proxies"
	return ts
}

// TestServePushesIdentity: a proxy whose name is not in the node's table
// pushes it before serving, with the default client that trusts the
// node's CA, and is then let in; with a wrong password Serve fails at
// once and says why.
func TestServePushesIdentity(t *testing.T) {
	t.Parallel()
	p, iss := newPKI(t), newIssued(t)
	table := &edgetable.Memory{}
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
	var pe *edgetable.PushError
	if !errors.As(err, &pe) || pe.StatusCode != 401 || !errors.Is(err, edgetable.ErrPushUnauthorized) {
		t.Fatalf("Serve with a wrong password: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("the listener is still open")
	}
}
