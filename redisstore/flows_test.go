package redisstore

import (
	"bufio"
	"crypto"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

// TestFlowsAcrossNodes: a client registers over TLS on node A; node B,
// which shares the Redis store and flows, sees the contact's flow up but
// held elsewhere, and sees it gone once the client's connection closes.
// A node that dies without a word takes its flows down within their TTL.
func TestFlowsAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := startRedisServer(t, t.TempDir(), false)
	ctx := testCtx(t, 30*time.Second)
	iss, err := issuer.New(issuer.Config{Issuer: "https://cucm.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	v, _ := sipoauth.New(sipoauth.Config{Keys: keys})
	ca := testca.New(t, "Node CA")
	cert, _ := mtlstrust.NewCertSource(ca.Server(t, "127.0.0.1").TLS())
	raw, _ := net.Listen("tcp", "127.0.0.1:0")
	port := raw.Addr().(*net.TCPAddr).Port
	quiet := slog.New(slog.DiscardHandler)
	node := func(flows *Flows) *registrar.Registrar {
		r, err := registrar.New(registrar.Config{Validator: v, Logger: quiet, Store: NewBindings(srv.Client(), ""), FlowRegistry: flows,
			Devices: registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
			Ports:   registrar.Ports{port: registrar.RoleOAuth}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	flowsA, flowsB := NewFlows(srv.Client(), ""), NewFlows(srv.Client(), "")
	flowsA.TTL = 3 * time.Second
	defer flowsB.Close()
	a, b := node(flowsA), node(flowsB)
	s := &sipserve.Server{Handler: sipserve.Methods{sip.REGISTER: a}, Logger: quiet}
	go s.ServeStream(tls.NewListener(raw, mtlstrust.OAuthServerConfig(cert)))
	defer s.Close()

	register := func() net.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", raw.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
		local := c.LocalAddr().String()
		io.WriteString(c, "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS "+local+";branch=z9hG4bK"+strings.ReplaceAll(local, ":", "")+"\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:rado@127.0.0.1>;tag=1\r\nTo: <sip:rado@127.0.0.1>\r\nCall-ID: "+local+"\r\nCSeq: 1 REGISTER\r\n"+
			"Contact: <sip:rado@"+local+";transport=tls>;+u.sip!devicename.ccm.cisco.com=\"CSFrado\"\r\n"+
			"Proxy-Authorization: Bearer token=\""+tok+"\"\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "SIP/2.0 200 OK\r\n" {
			t.Fatalf("REGISTER: %q, %v", line, err)
		}
		return c
	}
	var c net.Conn
	// lookup returns the contact c registered.
	lookup := func(r *registrar.Registrar) registrar.Contact {
		t.Helper()
		cs, err := r.Lookup(ctx, "rado")
		for _, x := range cs {
			if x.Source == c.LocalAddr().String() {
				return x
			}
		}
		t.Fatalf("Lookup: %+v, %v", cs, err)
		return registrar.Contact{}
	}

	c = register()
	if got := lookup(a); !got.FlowUp || !got.Local {
		t.Fatalf("node A: %+v", got)
	}
	got := lookup(b)
	if !got.FlowUp || got.Local {
		t.Fatalf("node B: %+v, want up, held elsewhere", got)
	}
	req, _ := got.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: "ucm", Host: "127.0.0.1"})
	if _, err := b.Send(ctx, got, req); err != registrar.ErrFlowElsewhere {
		t.Errorf("Send on node B: %v", err)
	}
	if ttl := srv.Client().TTL(ctx, flowsA.Key(got.Flow)).Val(); ttl <= 0 || ttl > 3*time.Second {
		t.Errorf("the flow's key TTL %v", ttl)
	}
	// Renewed every second: still up after three.
	time.Sleep(3500 * time.Millisecond)
	if !lookup(b).FlowUp {
		t.Fatal("the flow expired while its connection was open")
	}

	c.Close()
	pollUntil(t, 5*time.Second, "node B sees the flow gone", func() bool { return !lookup(b).FlowUp })
	if got := lookup(a); got.FlowUp || got.Local {
		t.Errorf("node A after the close: %+v", got)
	}

	// Node A stops renewing (as if it died): its other flow expires.
	c = register()
	defer c.Close()
	id := lookup(b).Flow
	if !lookup(b).FlowUp {
		t.Fatal("the new flow is not up")
	}
	flowsA.Close()
	pollUntil(t, 5*time.Second, "the flow of a node that stopped expires", func() bool {
		up, _ := flowsB.Alive(ctx, []string{id})
		return !up[id]
	})
}
