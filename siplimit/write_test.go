//go:build unix

package siplimit

import (
	"context"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallBuffers sets 4 KiB socket buffers, so that a few answers fill them.
func smallBuffers(_, _ string, c syscall.RawConn) error {
	var err error
	_ = c.Control(func(fd uintptr) {
		if err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096); err == nil {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}
	})
	return err
}

// A client that sends requests and never reads the answers is closed
// once a write has blocked for WriteTimeout. Behind a plain listener the
// server's writes block for as long as the client likes.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	for _, limited := range []bool{true, false} {
		t.Run(map[bool]string{true: "limited", false: "plain"}[limited], func(t *testing.T) {
			t.Parallel()
			srv := newSIPServer(t)
			lc := net.ListenConfig{Control: smallBuffers}
			ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var served net.Listener = ln
			var l *Listener
			if limited {
				l = NewListener(ln, Limits{WriteTimeout: 300 * time.Millisecond})
				served = l
			}
			srv.serve(t, served, false)
			d := net.Dialer{Control: smallBuffers}
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Enough requests for their answers to fill both buffers; the
			// client reads none of them.
			var reqs strings.Builder
			for i := range 400 {
				reqs.WriteString(request("TCP", "w"+strconv.Itoa(i), "0", ""))
			}
			go c.Write([]byte(reqs.String()))
			if !limited {
				time.Sleep(1500 * time.Millisecond)
				if closedWithin(c, 10*time.Millisecond) {
					t.Fatal("plain listener closed the connection")
				}
				return
			}
			if !waitFor(5*time.Second, func() bool { return l.Stats().ClosedWriteTimeout == 1 }) {
				t.Fatalf("stats %+v", l.Stats())
			}
			if !closedWithin(c, 5*time.Second) {
				t.Fatal("connection left open")
			}
		})
	}
}
