package loopback_test

import (
	"fmt"
	"net"
	"time"

	"github.com/sipoauth/sdk/internal/loopback"
)

// A server reads from one socket the datagrams of a client on 127.0.0.1
// and of one on ::1, and answers each through the socket of its family.
func Example() {
	srv, err := loopback.ListenUDP(0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))

	for _, to := range []net.Addr{srv.LocalAddr(), srv.LocalAddr6()} {
		// The client binds the server's address family's loopback address.
		to := to.(*net.UDPAddr)
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: to.IP}, to)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("ping"))

		buf := make([]byte, 64)
		n, from, err := srv.ReadFrom(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		srv.WriteTo([]byte("pong"), from)
		fmt.Println(string(buf[:n]), "from", from.(*net.UDPAddr).IP)

		n, err = c.Read(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(buf[:n]), "back")
	}
	// Output:
	// ping from 127.0.0.1
	// pong back
	// ping from ::1
	// pong back
}
