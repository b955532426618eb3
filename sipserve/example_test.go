package sipserve_test

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/sipserve"
)

// A server that answers OPTIONS on a UDP socket of 127.0.0.1; any other
// method gets 405.
func Example() {
	srv := &sipserve.Server{Handler: sipserve.Methods{sip.OPTIONS: sipserve.OK}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.ServeUDP(pc)
	defer srv.Close()

	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	for _, method := range []string{"OPTIONS", "INVITE"} {
		fmt.Fprintf(c, "%s sip:node.example.com SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-%s\r\n"+
			"From: <sip:ping@example.com>;tag=1\r\nTo: <sip:node.example.com>\r\n"+
			"Call-ID: ping-1\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n", method, method, method)
		buf := make([]byte, 2048)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(strings.SplitN(string(buf[:n]), "\r\n", 2)[0])
	}
	// Output:
	// SIP/2.0 200 OK
	// SIP/2.0 405 Method Not Allowed
}
