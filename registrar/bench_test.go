package registrar

import (
	"context"
	"crypto"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

// BenchmarkServeCachedToken runs a refresh REGISTER through the whole
// pipeline with a token already validated: the registrar's own cost.
func BenchmarkServeCachedToken(b *testing.B) {
	reg, iss := unitRegistrar(b, true)
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	raw := fmt.Sprintf(rawRegister, csfContact+"\nProxy-Authorization: Bearer token=\""+tok+"\"")
	b.ReportAllocs()
	cseq := 3000
	for b.Loop() {
		cseq++
		req := parseRequest(b, strings.Replace(raw, "CSeq: 2270", fmt.Sprintf("CSeq: %d", cseq), 1))
		res, _ := reg.Serve(context.Background(), req, fakeTx{})
		if res.StatusCode != 200 {
			b.Fatal(res.StatusCode)
		}
	}
}

// BenchmarkServeSIPUDP runs refresh REGISTERs over UDP on 127.0.0.1
// through package sipserve and the default pipeline, from parallel
// clients, each its own device with a token already validated: the
// registrar's own path from datagram to answer, system calls included
// (and the clients' own, which share the CPUs).
func BenchmarkServeSIPUDP(b *testing.B) {
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		b.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	v, _ := sipoauth.New(sipoauth.Config{Keys: keys})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	const clients = 64
	devs := MemoryDevices{}
	tokens := make([]string, clients)
	for i := range clients {
		name := fmt.Sprintf("CSFbench%02d", i)
		devs[name] = Device{Name: name, Owner: fmt.Sprintf("bench%02d", i), OAuth: true}
		tokens[i], _ = iss.Mint(issuer.TokenRequest{User: fmt.Sprintf("bench%02d", i), Device: name})
	}
	reg, err := New(Config{NodeName: "BENCH", Devices: devs, Validator: v, PlaintextForLoadTests: true,
		Ports: Ports{pc.LocalAddr().(*net.UDPAddr).Port: RoleOAuth}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	srv := &sipserve.Server{Handler: sipserve.Methods{sip.REGISTER: reg}}
	go srv.ServeUDP(pc)
	defer srv.Close()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(clients / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)-1) % clients
		c, err := net.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		user, device := fmt.Sprintf("bench%02d", i), fmt.Sprintf("CSFbench%02d", i)
		buf := make([]byte, 2048)
		for cseq := 1; pb.Next(); cseq++ {
			msg := "REGISTER sip:127.0.0.1 SIP/2.0\r\n" +
				"Via: SIP/2.0/UDP " + c.LocalAddr().String() + ";branch=z9hG4bK-" + strconv.Itoa(cseq) + ";rport\r\n" +
				"From: <sip:" + user + "@127.0.0.1>;tag=t" + user + "\r\nTo: <sip:" + user + "@127.0.0.1>\r\n" +
				"Call-ID: bench-" + user + "\r\nCSeq: " + strconv.Itoa(cseq) + " REGISTER\r\nMax-Forwards: 70\r\n" +
				"Contact: <sip:" + user + "@" + c.LocalAddr().String() + `>;+u.sip!devicename.ccm.cisco.com="` + device + "\"\r\n" +
				"Expires: 120\r\nProxy-Authorization: Bearer token=\"" + tokens[i] + "\"\r\nContent-Length: 0\r\n\r\n"
			if _, err := c.Write([]byte(msg)); err != nil {
				b.Error(err)
				return
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				b.Error(err)
				return
			}
			if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200 ") {
				b.Errorf("answer:\n%s", buf[:n])
				return
			}
		}
	})
}
