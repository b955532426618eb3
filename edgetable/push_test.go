package edgetable

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

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/mtlstrust"
)

// tableServer serves a Handler over TLS on 127.0.0.1 with the node's
// certificate, under a path prefix, as a node serves its table, and
// counts the requests.
type tableServer struct {
	url      string
	table    *Memory
	requests atomic.Int64
}

func newTableServer(t *testing.T, p *pki, table *Memory) *tableServer {
	t.Helper()
	ts := &tableServer{table: table}
	h := NewHandler(table, map[string]string{"expressway": "s3cret"})
	h.ErrorLog = log.New(io.Discard, "", 0)
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

// TestPush: the entry lands in the table, a second push replaces it, and
// refusals say why.
func TestPush(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ts := newTableServer(t, p, &Memory{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leaf := p.proxy.Cert
	entry := EntryFor("expc1", leaf)
	want := Entry{HostNameOrIP: "expc1", Description: "edge proxy expc1", Names: []string{proxyName}}
	if !reflect.DeepEqual(entry, want) {
		t.Fatalf("EntryFor %+v, want %+v", entry, want)
	}

	created, err := Push(ctx, nodeClient(p), ts.url, "expressway", "s3cret", entry)
	if err != nil || !created {
		t.Fatalf("first push: created %v, %v", created, err)
	}
	created, err = Push(ctx, nodeClient(p), ts.url+"/entries/", "expressway", "s3cret", entry)
	if err != nil || created {
		t.Fatalf("second push: created %v, %v", created, err)
	}
	list, _ := ts.table.List()
	if !reflect.DeepEqual(list, []Entry{want}) {
		t.Fatalf("table %+v", list)
	}
	if _, ok := ts.table.Match(certcheck.PeerNames(leaf, certcheck.CNWhenNoDNSSAN)); !ok {
		t.Fatal("the pushed entry does not match the proxy's certificate")
	}

	_, err = Push(ctx, nodeClient(p), ts.url, "expressway", "wrong", EntryFor("expc9", leaf))
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
	for range DefaultMaxAuthFailures {
		Push(ctx, nodeClient(p), ts.url, "expressway", "guess", entry)
	}
	_, err = Push(ctx, nodeClient(p), ts.url, "expressway", "s3cret", entry)
	if !errors.As(err, &pe) || pe.StatusCode != 429 || pe.RetryAfter <= 0 || pe.RetryAfter > DefaultLockout ||
		!strings.Contains(err.Error(), "too many failed logins") || errors.Is(err, ErrPushUnauthorized) {
		t.Fatalf("locked out: %v", err)
	}

	before := ts.requests.Load()
	_, err = Push(ctx, nodeClient(p), strings.Replace(ts.url, "https:", "http:", 1), "expressway", "s3cret", entry)
	if err == nil || !strings.Contains(err.Error(), "https is required") {
		t.Fatalf("plain http: %v", err)
	}
	_, err = Push(ctx, nodeClient(p), ts.url, "expressway", "s3cret", Entry{HostNameOrIP: "expc1"})
	if !errors.Is(err, ErrInvalidEntry) {
		t.Fatalf("entry without names: %v", err)
	}
	if n := ts.requests.Load(); n != before {
		t.Fatalf("%d requests sent for pushes refused before sending", n-before)
	}

	// A table whose certificate the client does not trust is not sent the
	// credentials.
	_, err = Push(ctx, &http.Client{Timeout: 5 * time.Second}, ts.url, "expressway", "s3cret", entry)
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("untrusted table: %v", err)
	}
}

// TestEntriesURL: "/entries" appended once, and the URLs that must not
// carry the table's credentials refused.
func TestEntriesURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://cucm.example.com":                       "https://cucm.example.com/entries",
		"https://cucm.example.com/":                      "https://cucm.example.com/entries",
		"https://cucm.example.com:8443/axl/edge/":        "https://cucm.example.com:8443/axl/edge/entries",
		"https://cucm.example.com/axl/entries//":         "https://cucm.example.com/axl/entries",
		"https://cucm.example.com/entries?x=1#frag":      "https://cucm.example.com/entries",
		"https://cucm.example.com/a%2Fb/entries":         "https://cucm.example.com/a/b/entries",
		"https://[2001:db8::1]:8443/axl/edge-proxies///": "https://[2001:db8::1]:8443/axl/edge-proxies/entries",
	} {
		u, err := EntriesURL(in)
		if err != nil || u.String() != want {
			t.Errorf("EntriesURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for in, want := range map[string]string{
		"http://cucm.example.com":              "https is required",
		"cucm.example.com/entries":             "https is required",
		"https:///entries":                     "no host",
		"https://axl:secret@cucm.example.com/": "not in the URL",
		"https://cucm.example.com/%zz":         "invalid URL escape",
	} {
		_, err := EntriesURL(in)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("EntriesURL(%q) = %v; want an error containing %q", in, err, want)
		}
	}
}

// TestEntryFor: a CN that is not a name is left out, SANs are kept once.
func TestEntryFor(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "Expressway CA")
	l := ca.Issue(t, testca.Options{CommonName: "Expressway C Cluster", DNSNames: []string{"expc1.example.com", "EXPC1.example.com", "*.mra.example.com", "bad_name"},
		IPs: []net.IP{net.ParseIP("10.0.0.9")}})
	e := EntryFor("", l.Cert)
	want := Entry{HostNameOrIP: "expc1.example.com", Description: "edge proxy expc1.example.com", Names: []string{"expc1.example.com", "*.mra.example.com", "10.0.0.9"}}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("%+v, want %+v", e, want)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
}
