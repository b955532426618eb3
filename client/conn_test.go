package client_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/client"
)

// TestPong: the client answers a ping (RFC 5626 §4.4.1) with a pong,
// however its two CRLFs arrive; a lone CRLF gets none.
func TestPong(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet,
	})
	if _, err := c.Register(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	l.tap.mu.Lock()
	conn := l.tap.conns[len(l.tap.conns)-1]
	l.tap.mu.Unlock()
	read := func() string {
		conn.mu.Lock()
		defer conn.mu.Unlock()
		return conn.buf.String()
	}
	before := read()
	if !strings.HasSuffix(before, "\r\n\r\n") {
		t.Fatalf("the registrar read %q", before)
	}

	// The two CRLFs of a ping in two TLS records, apart in time.
	conn.tls.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.tls.Write([]byte("\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := read(); got != before {
		t.Fatalf("a lone CRLF was answered: %q", strings.TrimPrefix(got, before))
	}
	if _, err := conn.tls.Write([]byte("\r\n")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); read() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no pong")
		}
	}
	if got := strings.TrimPrefix(read(), before); got != "\r\n" {
		t.Fatalf("pong %q", got)
	}
}
