package edge

import (
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipstream"
	"github.com/sipoauth/sdk/mtlstrust"
)

// TestPongToNode: a ping from the node (RFC 5626 §4.4.1), its two CRLFs
// in two TLS records, gets a pong while a REGISTER waits for its answer;
// the answer after it is relayed as usual.
func TestPongToNode(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	cfg := mtlstrust.EdgeServerConfig(p.nodeCert, mtlstrust.NewTrustStore(p.proxyCA.Cert), mtlstrust.AuthorizeAny())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pong := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		m, err := sipstream.NewReader(conn).ReadMessage()
		req, ok := m.(*sip.Request)
		if err != nil || !ok {
			pong <- "no REGISTER"
			return
		}
		io.WriteString(conn, "\r\n")
		time.Sleep(50 * time.Millisecond)
		io.WriteString(conn, "\r\n")
		// Nothing else comes from the proxy while its REGISTER waits.
		b := make([]byte, 2)
		_, err = io.ReadFull(conn, b)
		if err != nil {
			pong <- err.Error()
			return
		}
		pong <- string(b)
		io.WriteString(conn, reply(req, 200, "OK", "Expires: 120"))
		io.Copy(io.Discard, conn)
	}()
	px := startProxy(t, p, Config{Upstreams: []string{ln.Addr().String()}, ServerName: "127.0.0.1"})
	rc := dialRaw(t, p, px.addr)
	rc.send(t, rawRegister("z9hG4bKpong", 1, "70"))
	if raw, _ := rc.read(t, 5*time.Second); !strings.HasPrefix(raw, "SIP/2.0 200 OK\r\n") {
		t.Fatalf("answer:\n%s", raw)
	}
	if got := <-pong; got != "\r\n" {
		t.Fatalf("pong %q", got)
	}
}
