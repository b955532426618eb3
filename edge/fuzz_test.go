package edge

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipstream"
)

// fuzzSeeds are streams a node's connection carries: answers with the
// proxy's Via on top, keepalives between them, compact headers, a
// message cut short, and malformed ones.
var fuzzSeeds = []string{
	"SIP/2.0 407 Proxy Authentication Required\r\nVia: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bKproxy\r\nVia: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bKclient;received=127.0.0.1\r\nFrom: <sip:rado@ucm.example.com>;tag=1\r\nTo: <sip:rado@ucm.example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\nProxy-Authenticate: Bearer realm=\"ccmsipline\"\r\nContent-Length: 0\r\n\r\n",
	"\r\n\r\nSIP/2.0 100 Trying\r\nv: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bKproxy\r\nv: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bKclient\r\nf: <sip:a@b>;tag=1\r\nt: <sip:a@b>\r\ni: c2\r\nCSeq: 2 REGISTER\r\nl: 0\r\n\r\n\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bKproxy\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c3\r\nCSeq: 3 REGISTER\r\nContent-Length: 4\r\n\r\n\r\n\r\n",
	"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5091;branch=z9hG4bKnode\r\nMax-Forwards: 0\r\nFrom: <sip:n@x>;tag=1\r\nTo: <sip:p@y>\r\nCall-ID: c4\r\nCSeq: 1 OPTIONS\r\nContact: <sip:a@b>;+u.sip!devicename.ccm.cisco.com=\"CSFrado\"\r\nProxy-Require: foo, bar\r\nContent-Length: 0\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bKproxy\r\nContent-Length: 99999999\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 127.0.0.1",
	"not sip at all\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: ;;;\r\nContent-Length: 0\r\n\r\n",
}

// FuzzStream reads a node's byte stream whole and in two pieces split
// anywhere, and passes every message read to the proxy's handling:
// nothing panics, and the split changes neither the messages, nor the
// pongs, nor the error.
func FuzzStream(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	p := &Proxy{
		cfg:     config{Config: Config{Name: "expc1", RetryAfter: DefaultRetryAfter}},
		log:     slog.New(slog.DiscardHandler),
		pending: map[string]*pendingTx{},
	}
	c := &upConn{u: &upstream{addr: "127.0.0.1:5091"}, done: make(chan struct{})}

	read := func(chunks ...[]byte) (msgs []string, pongs string, err error) {
		var out bytes.Buffer
		r := sipstream.NewReader(io.MultiReader(readers(chunks)...), sipstream.WithPong(sipstream.NewWriter(&out, 0)))
		for {
			m, err := r.ReadMessage()
			if err != nil {
				return msgs, out.String(), err
			}
			msgs = append(msgs, m.String())
			handle(p, c, m)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		if len(data) > 1<<16 {
			return
		}
		k := int(cut) % (len(data) + 1)
		whole, pongsWhole, errWhole := read(data)
		split, pongsSplit, errSplit := read(data[:k], data[k:])
		if strings.Join(whole, "\x00") != strings.Join(split, "\x00") || pongsWhole != pongsSplit {
			t.Fatalf("split at %d changed the messages or pongs:\n%q %q\n%q %q", k, whole, pongsWhole, split, pongsSplit)
		}
		if (errWhole == io.EOF) != (errSplit == io.EOF) {
			t.Fatalf("split at %d changed the end: %v / %v", k, errWhole, errSplit)
		}
	})
}

// readers returns a reader of each chunk, so that a read never joins two.
func readers(chunks [][]byte) []io.Reader {
	rs := make([]io.Reader, len(chunks))
	for i, ch := range chunks {
		rs[i] = bytes.NewReader(ch)
	}
	return rs
}

// handle runs a message through what the proxy does with one: a
// response to the matching and Via removal, a request to the request
// checks and preparation.
func handle(p *Proxy, c *upConn, m sip.Message) {
	switch m := m.(type) {
	case *sip.Response:
		pt := &pendingTx{conn: c, prov: make(chan *sip.Response, 8), final: make(chan *sip.Response, 1)}
		p.pending["z9hG4bKproxy"] = pt
		if m.Via() != nil {
			p.dispatch(c, m)
		}
		if r := p.strip(m); r != nil {
			_ = r.String()
		}
	case *sip.Request:
		m.SetSource("127.0.0.1:40000")
		markReceived(m)
		p.check(m)
		deviceName(m)
		fromUser(m)
		_ = p.prepare(m).String()
	}
}

// FuzzRouteBack reads the top Route of a request from the node as the
// proxy does before relaying it to a client: any value gives a client
// address only when it is a flow token this proxy issued, and the token
// of an address reads back as that address.
func FuzzRouteBack(f *testing.F) {
	k := newFlowKeys()
	for _, s := range []string{
		"<sip:" + k.token("127.0.0.1:50123", "c1") + "@expe1.example.com;transport=tls;lr;ob>",
		"<sip:" + k.token("[::1]:5061", "AAAAAAAAAAAA") + "@expe1;lr>, <sip:core.example.com;lr>",
		"<sip:MTI3LjAuMC4xOjU4Mjc4.bijZY7n1OcW6kBy3osnJLg@expc1;transport=tls;lr;ob>",
		"<sip:forged.AAAA@expe1;lr>",
		"sip:bare@host",
		"<>",
		"",
		"<sip:.@x>",
	} {
		f.Add(s, "127.0.0.1:40000")
	}
	p := &Proxy{flows: k}
	f.Fuzz(func(t *testing.T, route, addr string) {
		// A client's address, [IPv6%zone]:port at most, has a token the
		// proxy reads back; no longer one is ever issued.
		if got, id, ok := k.source(k.token(addr, "n1")); len(addr) <= 100 && (!ok || got != addr || id != "n1") {
			t.Fatalf("token of %q read back as %q %q, %v", addr, got, id, ok)
		}
		req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: "a", Host: "b"})
		req.AppendHeader(sip.NewHeader("Route", route))
		src, id, err := p.clientOf(req)
		if err != nil {
			return
		}
		// Only a token of this proxy names a client.
		first, _, _ := strings.Cut(route, ",")
		if !strings.Contains(first, k.token(src, id)) {
			t.Fatalf("%q gave client %q without its token", route, src)
		}
	})
}
