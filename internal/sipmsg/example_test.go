package sipmsg_test

import (
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipmsg"
)

func ExampleParse() {
	m, err := sipmsg.Parse([]byte("REGISTER sip:cucm.example.com SIP/2.0\r\n" +
		"v: SIP/2.0/TLS 127.0.0.1:51000;branch=z9hG4bK1\r\n" +
		"CSeq: 7 REGISTER\r\nCall-ID: c1\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	req := m.(*sip.Request)
	fmt.Println(req.Method, req.Via().Host, req.CSeq().SeqNo, req.CallID().Value())
	// Output: REGISTER 127.0.0.1 7 c1
}
