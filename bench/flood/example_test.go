package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Example shows the two kinds of datagram the flood sends: junk, and
// REGISTERs that look valid, each from its own source.
func Example() {
	fmt.Println(len(junkDatagram(0, netip.AddrPort{})) > 0)
	reg := registerDatagram(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5080})
	msg := string(reg(7, netip.MustParseAddrPort("127.0.0.1:40000")))
	fmt.Println(strings.SplitN(msg, "\r\n", 2)[0])
	// Output:
	// true
	// REGISTER sip:127.0.0.1 SIP/2.0
}
