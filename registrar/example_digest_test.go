package registrar_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/sipoauth/sdk/registrar"
)

// A legacy phone registers with SIP Digest on 5060: the registrar
// challenges with SHA-256 and MD5, and the phone answers one of them.
// With sipgo, pass reg.HandleRegister to srv.OnRegister.
func ExampleDigestAuth() {
	devices := registrar.MemoryDevices{
		"SEP001122334455": {Name: "SEP001122334455", Owner: "rado", Digest: &registrar.DigestSecret{Password: "rado-secret"}},
	}
	auth := &registrar.DigestAuth{} // realm "ccmsipline", a random nonce key
	reg := &registrar.Registrar{
		PeerInfo: func(*sip.Request, sip.ServerTransaction) registrar.PeerInfo {
			return registrar.PeerInfo{Local: &net.TCPAddr{Port: 5060}}
		},
		Pipeline: []registrar.Step{
			registrar.DeviceLookup{Devices: devices},
			registrar.Authenticate{ByRole: map[registrar.Role]registrar.Authenticator{registrar.RoleLegacy: auth}},
			registrar.OwnerBinding{},
			registrar.Bind{Store: registrar.NewMemoryStore()},
		},
	}
	register := func(cseq int, authorization string) (*sip.Request, *sip.Response) {
		raw := "REGISTER sip:10.10.10.1 SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP 10.10.10.20:5060;branch=z9hG4bK" + fmt.Sprint(cseq) + "\r\n" +
			"From: <sip:rado@10.10.10.1>;tag=1\r\nTo: <sip:rado@10.10.10.1>\r\nCall-ID: 1@10.10.10.20\r\n" +
			fmt.Sprintf("CSeq: %d REGISTER\r\n", cseq) +
			`Contact: <sip:rado@10.10.10.20:5060>;+u.sip!devicename.ccm.cisco.com="SEP001122334455"` + "\r\n" +
			"Expires: 3600\r\n" + authorization + "Content-Length: 0\r\n\r\n"
		msg, _ := sip.ParseMessage([]byte(raw))
		req := msg.(*sip.Request)
		res, _ := reg.Serve(context.Background(), req, nil)
		return req, res
	}

	req, res := register(1, "")
	fmt.Println(res.StatusCode, res.Reason)
	var chal *digest.Challenge
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, _ := digest.ParseChallenge(h.Value())
		fmt.Println(strings.Replace(h.Value(), c.Nonce, "…", 1))
		if chal == nil {
			chal = c // the first, SHA-256
		}
	}

	// The phone's answer.
	cred, _ := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: req.Recipient.String(), Username: "rado", Password: "rado-secret"})
	_, res = register(2, "Authorization: "+cred.String()+"\r\n")
	fmt.Println(res.StatusCode, res.Reason, res.GetHeader("Expires").Value())
	// Output:
	// 401 Unauthorized
	// Digest realm="ccmsipline", nonce="…", algorithm=SHA-256, qop="auth"
	// Digest realm="ccmsipline", nonce="…", algorithm=MD5, qop="auth"
	// 200 OK 120
}
