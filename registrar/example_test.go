package registrar_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
)

// A registrar answers a Jabber REGISTER on the OAuth port the way Unified
// CM does. Here the peer is supplied by hand, as another SIP stack would;
// with sipgo, pass reg.HandleRegister to srv.OnRegister.
func ExampleNew() {
	iss, _ := issuer.New(issuer.Config{})
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	v, _ := sipoauth.New(sipoauth.Config{Keys: keys})
	reg, err := registrar.New(registrar.Config{
		NodeName:  "UCM2-PUB",
		Devices:   registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Validator: v,
		PeerInfo: func(*sip.Request, sip.ServerTransaction) registrar.PeerInfo {
			return registrar.PeerInfo{Local: &net.TCPAddr{Port: 5090}, TLS: &tls.ConnectionState{}}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	register := func(cseq int, auth string) *sip.Response {
		raw := "REGISTER sip:10.10.10.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK0000" + fmt.Sprint(cseq) + "\r\n" +
			"From: <sip:rado@10.10.10.1>;tag=1\r\nTo: <sip:rado@10.10.10.1>\r\nCall-ID: 1@10.10.10.10\r\n" +
			fmt.Sprintf("CSeq: %d REGISTER\r\n", cseq) +
			`Contact: <sip:rado@10.10.10.10:62162;transport=tls>;+u.sip!devicename.ccm.cisco.com="CSFrado"` + "\r\n" +
			"Expires: 3600\r\n" + auth + "Content-Length: 0\r\n\r\n"
		msg, _ := sip.ParseMessage([]byte(raw))
		res, _ := reg.Serve(context.Background(), msg.(*sip.Request), nil)
		return res
	}
	res := register(2270, "")
	fmt.Println(res.StatusCode, res.GetHeader("Proxy-Authenticate").Value())
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	res = register(2271, `Proxy-Authorization: Bearer token="`+tok+`"`+"\r\n")
	contact := res.GetHeader("Contact").Value()
	fmt.Println(res.StatusCode, res.GetHeader("Expires").Value(), contact[strings.LastIndex(contact, ";")+1:])
	// Output:
	// 407 Bearer realm="ccmsipline"
	// 200 120 x-cisco-newreg
}

// The address-of-record rule: the To URI's user, unescaped and compared
// by the user rule, is the key; with Domains the served domain is part
// of it. A device registers its owner's own address and its lines.
func ExampleAORRule() {
	var to sip.Uri
	sip.ParseUri("sip:%52ado@10.10.10.1;transport=tls", &to)
	key, _ := registrar.AORRule{}.Key(to)
	withDomain, err := registrar.AORRule{Domains: []string{"cucm.example.com"}}.Key(to)
	fmt.Println(key, withDomain == "", err)

	check := registrar.AORCheck{}
	d := registrar.Device{Name: "CSFrado", Owner: "rado", Lines: []string{"1001"}}
	fmt.Println(check.Allowed("rado", "RADO", d), check.Allowed("1001", "rado", d), check.Allowed("alice", "rado", d))
	// Output:
	// rado true registrar: the address of record's domain is not served here
	// true true false
}
