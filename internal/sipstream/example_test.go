package sipstream_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sipoauth/sdk/internal/sipstream"
)

// A node's stream as a client end reads it: a ping, a challenge, a lone
// CRLF, a request in compact form, and a message whose Content-Length is
// not a number. The ping gets a pong; the lone CRLF does not.
func Example() {
	stream := "\r\n\r\n" +
		"SIP/2.0 407 Proxy Authentication Required\r\nCSeq: 1 REGISTER\r\n" +
		"Proxy-Authenticate: Bearer realm=\"ccmsipline\"\r\nContent-Length: 0\r\n\r\n" +
		"\r\n" +
		"OPTIONS sip:127.0.0.1 SIP/2.0\r\ni: c4\r\nCSeq: 1 OPTIONS\r\nl: 4\r\n\r\nping" +
		"SIP/2.0 200 OK\r\nContent-Length: 4x\r\n\r\n"
	var pongs bytes.Buffer
	r := sipstream.NewReader(strings.NewReader(stream), sipstream.WithPong(sipstream.NewWriter(&pongs, 0)))
	for {
		m, err := r.ReadMessage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			break
		}
		line, _, _ := strings.Cut(m.String(), "\r\n")
		fmt.Printf("%s (body %q)\n", line, m.Body())
	}
	fmt.Printf("pongs: %q\n", pongs.String())
	// Output:
	// SIP/2.0 407 Proxy Authentication Required (body "")
	// OPTIONS sip:127.0.0.1 SIP/2.0 (body "ping")
	// error: sipstream: bad Content-Length ("4x") in the message at offset 202
	// pongs: "\r\n"
}
