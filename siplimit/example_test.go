package siplimit_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/siplimit"
)

// A sipgo server behind a Listener (TCP) and a PacketConn (UDP): a
// REGISTER with a negative Content-Length gets 400 from the Listener, a
// valid one 200 from the server.
func Example() {
	ua, _ := sipgo.NewUA()
	defer ua.Close()
	srv, _ := sipgo.NewServer(ua)
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	tcp := siplimit.NewListener(ln, siplimit.Limits{})
	defer tcp.Close()
	go srv.ServeTCP(tcp)

	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	udp := siplimit.NewPacketConn(pc, siplimit.Limits{})
	defer udp.Close()
	go srv.ServeUDP(udp)

	register := func(transport, cl string) string {
		return "REGISTER sip:127.0.0.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/" + transport + " 127.0.0.1:5999;rport;branch=z9hG4bK-example\r\n" +
			"From: <sip:1001@127.0.0.1>;tag=1\r\nTo: <sip:1001@127.0.0.1>\r\n" +
			"Call-ID: example\r\nCSeq: 1 REGISTER\r\nContent-Length: " + cl + "\r\n\r\n"
	}

	c, _ := net.Dial("tcp", ln.Addr().String())
	defer c.Close()
	c.Write([]byte(register("TCP", "-5")))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Println(strings.TrimSpace(status))

	u, _ := net.Dial("udp", pc.LocalAddr().String())
	defer u.Close()
	u.Write([]byte(register("UDP", "0")))
	u.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, _ := u.Read(buf)
	status, _, _ = strings.Cut(string(buf[:n]), "\r\n")
	fmt.Println(status)

	fmt.Println("bad framing:", tcp.Stats().BadFraming, "admitted:", udp.Stats().Admitted)
	// Output:
	// SIP/2.0 400 Bad Request
	// SIP/2.0 200 OK
	// bad framing: 1 admitted: 1
}
