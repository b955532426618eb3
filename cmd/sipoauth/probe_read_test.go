package main

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/sipstream"
)

// TestReadFinalResponsePong: while the probe waits for its answer, a
// ping from the server gets a pong, however its CRLFs arrive; an answer
// over sipstream's bounds is malformed.
func TestReadFinalResponsePong(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	a.SetDeadline(time.Now().Add(5 * time.Second))
	b.SetDeadline(time.Now().Add(5 * time.Second))
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res, err := readFinalResponse(a, maxAnswer, sipstream.WithPong(sipstream.NewWriter(a, 0)))
		if err != nil {
			done <- result{0, err}
			return
		}
		done <- result{res.StatusCode, nil}
	}()
	for _, ping := range [][]string{{"\r\n\r\n"}, {"\r\n", "\r\n"}} {
		for _, part := range ping {
			if _, err := io.WriteString(b, part); err != nil {
				t.Fatal(err)
			}
		}
		pong := make([]byte, 2)
		if _, err := io.ReadFull(b, pong); err != nil || string(pong) != "\r\n" {
			t.Fatalf("%q: pong %q, %v", ping, pong, err)
		}
	}
	io.WriteString(b, "SIP/2.0 100 Trying\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n\r\n"+
		"SIP/2.0 407 Proxy Authentication Required\r\nCSeq: 1 REGISTER\r\nl: 0\r\n\r\n")
	if r := <-done; r.err != nil || r.status != 407 {
		t.Fatalf("%+v", r)
	}

	big := "SIP/2.0 200 OK\r\nContent-Length: 65500\r\n\r\n" + strings.Repeat("a", 65500)
	if _, err := readFinalResponse(strings.NewReader(big), maxAnswer); err == nil || !strings.HasPrefix(err.Error(), "malformed answer: sipstream: body over the limit") {
		t.Errorf("over the bound: %v", err)
	}
}
