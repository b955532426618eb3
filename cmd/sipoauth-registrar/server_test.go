package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/sipoauth/sdk/internal/bounded"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipserve"
)

// TestRegistration starts a node on 127.0.0.1 and registers through both
// OAuth listeners: Jabber on the OAuth port (407 Bearer realm="ccmsipline",
// then 200 with Expires: 120), and a client behind an edge proxy over
// mutual TLS. The metrics endpoint counts them.
func TestRegistration(t *testing.T) {
	f := newFixture(t)
	r := f.start()
	oauth, edge, metrics := r.addr("oauth", "tls"), r.addr("edge", "tls"), r.addr("metrics", "http")
	if oauth == "" || edge == "" || metrics == "" || len(r.addrs) != 3 {
		t.Fatalf("listening on %+v", r.addrs)
	}
	for _, a := range r.addrs {
		if !strings.HasPrefix(a.Addr, "127.0.0.1:") || strings.HasSuffix(a.Addr, ":0") {
			t.Fatalf("bound %+v", a)
		}
	}

	// On-premises Jabber: no credentials, then the token.
	c := f.client(oauth, "TLS", nil)
	req := c.register("CSFrado", "rado")
	res := c.do(t, req)
	if res.StatusCode != 407 || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline"` {
		t.Fatalf("without credentials:\n%s", res)
	}
	res, _ = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`)
	if res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("with a token:\n%s", res)
	}
	if contact := header(res, "Contact"); !strings.Contains(contact, `+u.sip!devicename.ccm.cisco.com="CSFrado"`) ||
		!strings.Contains(contact, ";expires=120") || !strings.HasSuffix(contact, ";x-cisco-newreg") {
		t.Fatalf("contact %q", contact)
	}

	// A token of another issuer is refused with invalid_token.
	other := c.register("CSFrado", "rado")
	other.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", map[string]any{"iss": "https://evil.example.com"})+`"`))
	if res := c.do(t, other); res.StatusCode != 407 || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline", error="invalid_token"` {
		t.Fatalf("token of another issuer:\n%s", res)
	}
	// So is a token meant to live longer than -max-token-lifetime (24 h
	// by default), as one minted with a stolen key for years would be.
	long, err := f.issuer.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", TTL: 25 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	other = c.register("CSFrado", "rado")
	other.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+long+`"`))
	if res := c.do(t, other); res.StatusCode != 407 || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline", error="invalid_token"` {
		t.Fatalf("token for 25 hours:\n%s", res)
	}
	// So is a token for another application, or for none: -audience is
	// required.
	for _, extra := range []map[string]any{{"aud": "other-app"}, {"aud": nil}} {
		other := c.register("CSFrado", "rado")
		other.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", extra)+`"`))
		if res := c.do(t, other); res.StatusCode != 407 || header(res, "Proxy-Authenticate") != `Bearer realm="ccmsipline", error="invalid_token"` {
			t.Fatalf("token with aud %v:\n%s", extra["aud"], res)
		}
	}

	// Through the edge proxy: mutual TLS with a certificate in the table.
	e := f.client(edge, "TLS", f.proxy)
	req = e.register("CSFalice", "alice")
	if res := e.do(t, req); res.StatusCode != 407 {
		t.Fatalf("edge, without credentials:\n%s", res)
	}
	res, _ = e.retry(t, req, "Proxy-Authorization", `Bearer token="`+f.mint("alice", "CSFalice", nil)+`"`)
	if res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("edge, with a token:\n%s", res)
	}

	// The edge port refuses a proxy not in the table, and a client
	// without certificate.
	for _, tc := range []struct {
		name  string
		cert  *testca.Leaf
		alert string
	}{
		{"proxy not in the table", f.stranger, "tls: bad certificate"},
		{"no client certificate", nil, "tls: certificate required"},
	} {
		if err := handshake(edge, f, tc.cert); err == nil || !strings.Contains(err.Error(), tc.alert) {
			t.Errorf("edge port, %s: %v, want %q", tc.name, err, tc.alert)
		}
	}
	if err := handshake(edge, f, f.proxy); err != nil {
		t.Errorf("edge port, OPTIONS from the proxy in the table: %v", err)
	}

	want := map[string]float64{
		`sipoauth_registrations_total{outcome="registered"}`:       2,
		`sipoauth_registrations_total{outcome="challenged"}`:       6,
		`sipoauth_auth_failures_total{reason="no-credentials"}`:    2,
		`sipoauth_auth_failures_total{reason="invalid-token"}`:     3,
		`sipoauth_auth_failures_total{reason="lifetime-too-long"}`: 1,
		`sipoauth_bindings`: 2,
	}
	got := scrape(t, metrics)
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// handshake connects to addr over TLS as the edge proxy with cert and
// pings with OPTIONS. It returns nil when the node answers 200, and
// otherwise the error: the node's refusal of a client certificate arrives
// as an alert after the client's side of a TLS 1.3 handshake is done.
func handshake(addr string, f *fixture, cert *testca.Leaf) error {
	cfg := &tls.Config{RootCAs: f.nodeCA.Pool(), ServerName: "127.0.0.1"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS()}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	local := conn.LocalAddr().String()
	ping := "OPTIONS sip:" + addr + ";transport=tls SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS " + local + ";branch=z9hG4bK-ping-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:expc@" + local + ">;tag=1\r\nTo: <sip:" + addr + ">\r\n" +
		"Call-ID: ping-" + local + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(ping)); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "SIP/2.0 200 OK\r\n" {
		return errors.New("answer " + strings.TrimSpace(line))
	}
	return nil
}

// digestAnswer answers the first (SHA-256) challenge of a 401 for a
// REGISTER to uri with the fixture's digest password.
func digestAnswer(t *testing.T, res *sip.Response, uri string) string {
	t.Helper()
	h := res.GetHeaders("WWW-Authenticate")
	if len(h) != 2 || !strings.Contains(h[0].Value(), "algorithm=SHA-256") || !strings.Contains(h[1].Value(), "algorithm=MD5") {
		t.Fatalf("challenge:\n%s", res)
	}
	chal, err := digest.ParseChallenge(h[0].Value())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: uri, Username: "bob", Password: digestPassword, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

// rawRegister sends a REGISTER over UDP from a socket of its own, since
// sipgo's client refuses to send a datagram over 1300 bytes, which a
// REGISTER carrying a Unified CM token is. Load tools send them anyway.
func rawRegister(t *testing.T, addr, device, user, auth string) *sip.Response {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, _ := sendRaw(t, conn, addr, rawRegisterMsg(conn.LocalAddr().String(), addr, device, user, auth))
	return res
}

// rawRegisterMsg is a REGISTER from local to addr, with a branch of its
// own.
func rawRegisterMsg(local, addr, device, user, auth string) []byte {
	return []byte("REGISTER sip:" + addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-raw-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ";rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:" + user + "@" + addr + ">;tag=1\r\nTo: <sip:" + user + "@" + addr + ">\r\n" +
		"Call-ID: raw-" + local + "\r\nCSeq: 1 REGISTER\r\n" +
		"Contact: <sip:" + user + "@" + local + `>;+u.sip!devicename.ccm.cisco.com="` + device + "\"\r\n" +
		"Expires: 3600\r\n" + auth + "Content-Length: 0\r\n\r\n")
}

// sendRaw sends msg from conn to addr and returns the final answer, parsed
// and as it came.
func sendRaw(t *testing.T, conn net.PacketConn, addr string, msg []byte) (*sip.Response, []byte) {
	t.Helper()
	dst, _ := net.ResolveUDPAddr("udp", addr)
	if _, err := conn.WriteTo(msg, dst); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("REGISTER over UDP to %s: %v", addr, err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			t.Fatalf("answer %q: %v", buf[:n], err)
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
			return res, append([]byte(nil), buf[:n]...)
		}
	}
}

// TestUDPReceiveBuffer: every UDP socket asks for -udp-receive-buffer,
// 1 MiB by default, which the kernel doubles (within rmem_max).
func TestUDPReceiveBuffer(t *testing.T) {
	f := newFixture(t)
	rcvbuf := func(c *net.UDPConn) int {
		raw, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var n int
		var serr error
		if err := raw.Control(func(fd uintptr) { n, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) }); err != nil || serr != nil {
			t.Fatal(err, serr)
		}
		return n
	}
	// Without privileges the kernel grants up to net.core.rmem_max.
	rmemMax := 1 << 30
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			rmemMax = n
		}
	}
	for _, tc := range []struct {
		args []string
		want int
	}{{nil, 2 * min(sipserve.DefaultUDPReceiveBuffer, rmemMax)}, {[]string{"-udp-receive-buffer", "300000"}, 2 * min(300000, rmemMax)}} {
		r := f.start(append([]string{"-edge", "", "-legacy", "127.0.0.1:0", "-plaintext-for-load-tests", "127.0.0.1:0"}, tc.args...)...)
		if len(r.udp) != 2 {
			t.Fatalf("%d UDP sockets, want 2", len(r.udp))
		}
		for _, c := range r.udp {
			if got := rcvbuf(c); got != tc.want {
				t.Errorf("%v: SO_RCVBUF of %s is %d, want %d", tc.args, c.LocalAddr(), got, tc.want)
			}
		}
	}
}

// TestUDPRetransmittedRegister: a REGISTER retransmitted over UDP (its
// answer lost on the way, say) gets the answer of the first again, byte
// for byte, from the answers kept. With none kept (-udp-kept-answers -1)
// it is handled again and answered 200 from the bindings, which it leaves
// as they were: not refused as out of order, its CSeq already stored.
func TestUDPRetransmittedRegister(t *testing.T) {
	f := newFixture(t)
	for _, kept := range []bool{true, false} {
		args := []string{"-edge", "", "-plaintext-for-load-tests", "127.0.0.1:0"}
		if !kept {
			args = append(args, "-udp-kept-answers", "-1")
		}
		r := f.start(args...)
		addr := r.addr("plaintext-for-load-tests", "udp")
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		msg := rawRegisterMsg(conn.LocalAddr().String(), addr, "CSFrado", "rado",
			"Proxy-Authorization: Bearer token=\""+f.mint("rado", "CSFrado", nil)+"\"\r\n")
		first, raw := sendRaw(t, conn, addr, msg)
		if first.StatusCode != 200 || !strings.Contains(header(first, "Contact"), "x-cisco-newreg") {
			t.Fatalf("kept %v: first REGISTER:\n%s", kept, first)
		}
		for range 2 {
			again, rawAgain := sendRaw(t, conn, addr, msg)
			switch {
			case kept && string(rawAgain) != string(raw):
				t.Fatalf("retransmission answered\n%s\nwant the first answer\n%s", again, raw)
			case !kept && (again.StatusCode != 200 || string(rawAgain) == string(raw) ||
				!strings.HasPrefix(header(again, "Contact"), "<sip:rado@"+conn.LocalAddr().String()+">")):
				// Handled again: a To tag of its own, the contact as bound.
				t.Fatalf("with no answer kept, retransmission answered\n%s\nwant a 200 of its own listing the contact", again)
			}
		}
	}
}

// TestPprof: the profiles are on the metrics address with -pprof only.
func TestPprof(t *testing.T) {
	f := newFixture(t)
	cl := &http.Client{Timeout: 10 * time.Second}
	get := func(addr, path string) (int, string) {
		t.Helper()
		res, err := cl.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	off := f.start("-edge", "")
	if code, _ := get(off.addr("metrics", "http"), "/debug/pprof/"); code != 404 {
		t.Fatalf("without -pprof: GET /debug/pprof/ %d, want 404", code)
	}
	on := f.start("-edge", "", "-pprof")
	addr := on.addr("metrics", "http")
	if code, body := get(addr, "/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("with -pprof: GET /debug/pprof/ %d\n%s", code, body)
	}
	if code, body := get(addr, "/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile:") {
		t.Fatalf("heap profile: %d\n%.200s", code, body)
	}
	if code, _ := get(addr, "/metrics"); code != 200 {
		t.Fatalf("GET /metrics with -pprof: %d", code)
	}
	// The command line may hold a password: it is not served.
	if code, body := get(addr, "/debug/pprof/cmdline"); code == 200 || strings.Contains(body, "-pprof") {
		t.Fatalf("GET /debug/pprof/cmdline: %d\n%s", code, body)
	}
}

// scrape reads the metrics endpoint: series (name and labels as written)
// to value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second}
	res, err := cl.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", res.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestRFC8898(t *testing.T) {
	f := newFixture(t)
	r := f.start("-edge", "", "-rfc8898", "-realm", "atlanta.example.com", "-authz-server", "https://as.example.com/")
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	req := c.register("CSFrado", "rado")
	res := c.do(t, req)
	if res.StatusCode != 401 || header(res, "WWW-Authenticate") != `Bearer realm="atlanta.example.com", authz_server="https://as.example.com/"` {
		t.Fatalf("challenge:\n%s", res)
	}
	if res, _ = c.retry(t, req, "Authorization", "Bearer "+f.mint("rado", "CSFrado", nil)); res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("with a token:\n%s", res)
	}
}

// TestPlainListeners: the legacy port answers an OAuth device with
// Unified CM's port mismatch over UDP and TCP, and refuses devices
// without OAuth unless told to take them unauthenticated; the load-test
// port takes tokens over plain TCP and UDP.
func TestPlainListeners(t *testing.T) {
	f := newFixture(t)
	r := f.start("-edge", "", "-legacy", "127.0.0.1:0", "-plaintext-for-load-tests", "127.0.0.1:0", "-max-expires", "300", "-min-expires", "30")
	for _, tp := range []string{"UDP", "TCP"} {
		legacy := f.client(r.addr("legacy", strings.ToLower(tp)), tp, nil)
		res := legacy.do(t, legacy.register("CSFrado", "rado"))
		if res.StatusCode != 403 || header(res, "Retry-After") != "35" || header(res, "Warning") != `399 UCM2-PUB "SIP OAuth Registration port Mismatch"` {
			t.Fatalf("OAuth device on the legacy port over %s:\n%s", tp, res)
		}
		// A device without OAuth and without a digest secret: refused.
		res = legacy.do(t, legacy.register("SEPlegacy", "rado"))
		if res.StatusCode != 403 {
			t.Fatalf("device without OAuth nor digest secret on the legacy port over %s:\n%s", tp, res)
		}
		// With one: SIP Digest, SHA-256 offered first, then 200.
		legacyAddr := r.addr("legacy", strings.ToLower(tp))
		if tp == "UDP" {
			res = rawRegister(t, legacyAddr, "SEPdigest", "bob", "")
			if res.StatusCode == 401 {
				res = rawRegister(t, legacyAddr, "SEPdigest", "bob", "Authorization: "+digestAnswer(t, res, "sip:"+legacyAddr)+"\r\n")
			}
		} else {
			req := legacy.register("SEPdigest", "bob")
			res = legacy.do(t, req)
			if res.StatusCode == 401 {
				res, _ = legacy.retry(t, req, "Authorization", digestAnswer(t, res, req.Recipient.String()))
			}
		}
		if res.StatusCode != 200 {
			t.Fatalf("device with a digest secret on the legacy port over %s:\n%s", tp, res)
		}

		plainAddr := r.addr("plaintext-for-load-tests", strings.ToLower(tp))
		plain := f.client(plainAddr, tp, nil)
		req := plain.register("CSFrado", "rado")
		if res := plain.do(t, req); res.StatusCode != 407 {
			t.Fatalf("load-test port over %s, no credentials:\n%s", tp, res)
		}
		auth := `Bearer token="` + f.mint("rado", "CSFrado", nil) + `"`
		if tp == "UDP" {
			res = rawRegister(t, plainAddr, "CSFrado", "rado", "Proxy-Authorization: "+auth+"\r\n")
		} else {
			res, _ = plain.retry(t, req, "Proxy-Authorization", auth)
		}
		// -max-expires 300 grants the 3600 asked for as 300.
		if res.StatusCode != 200 || header(res, "Expires") != "300" {
			t.Fatalf("load-test port over %s, with a token:\n%s", tp, res)
		}
	}

	open := f.start("-edge", "", "-legacy", "127.0.0.1:0", "-legacy-unauthenticated")
	legacy := f.client(open.addr("legacy", "udp"), "UDP", nil)
	if res := legacy.do(t, legacy.register("SEPlegacy", "rado")); res.StatusCode != 200 || header(res, "Expires") != "120" {
		t.Fatalf("-legacy-unauthenticated:\n%s", res)
	}
	if res := legacy.do(t, legacy.register("CSFrado", "rado")); res.StatusCode != 403 {
		t.Fatalf("-legacy-unauthenticated, OAuth device:\n%s", res)
	}
}

// TestTableAPI: an edge proxy pushes its entry over HTTPS, and can then
// connect to the edge port; the file keeps it.
func TestTableAPI(t *testing.T) {
	f := newFixture(t)
	r := f.start("-table-api", "127.0.0.1:0", "-table-user", "expressway", "-table-password", "s3cret")
	api := "https://" + r.addr("table-api", "https") + "/entries"
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.nodeCA.Pool(), ServerName: "127.0.0.1"}}}
	put := func(user, password string) *http.Response {
		req, _ := http.NewRequest(http.MethodPut, api, strings.NewReader(`{"hostNameOrIp": "expc9", "names": ["expc9.example.com"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(user, password)
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}

	if err := handshake(r.addr("edge", "tls"), f, f.stranger); err == nil || !strings.Contains(err.Error(), "tls: bad certificate") {
		t.Fatalf("expc9 before its entry was pushed: %v, want a bad certificate alert", err)
	}
	if res := put("expressway", "wrong"); res.StatusCode != 401 {
		t.Fatalf("wrong password: %s", res.Status)
	}
	if res := put("expressway", "s3cret"); res.StatusCode != 201 {
		t.Fatalf("push: %s", res.Status)
	}
	if err := handshake(r.addr("edge", "tls"), f, f.stranger); err != nil {
		t.Fatalf("expc9 after its push: %v", err)
	}
	e := f.client(r.addr("edge", "tls"), "TLS", f.stranger)
	req := e.register("CSFalice", "alice")
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("alice", "CSFalice", nil)+`"`))
	if res := e.do(t, req); res.StatusCode != 200 {
		t.Fatalf("registration through expc9:\n%s", res)
	}
	data, err := bounded.ReadFile(f.files["edge-table"], 1<<20)
	if err != nil || !strings.Contains(string(data), `"expc9.example.com"`) || !strings.Contains(string(data), `"expc1.example.com"`) {
		t.Fatalf("table file: %s, %v", data, err)
	}
}

// TestReload: a device added to the devices file, a rotated signing key
// and a renewed node certificate are used without a restart.
func TestReload(t *testing.T) {
	f := newFixture(t)
	r := f.start("-edge", "", "-reload-interval", "1")
	served := func() *big.Int {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", r.addr("oauth", "tls"), &tls.Config{RootCAs: f.nodeCA.Pool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber
	}
	renewed := f.nodeCA.Server(t, "127.0.0.1")
	if served().Cmp(renewed.Cert.SerialNumber) == 0 {
		t.Fatal("renewed certificate served before it was written")
	}
	f.write("cert", "node.pem", renewed.CertPEM())
	f.write("key", "node.key", renewed.KeyPEM())
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	newcomer := func(tok string) int {
		req := c.register("CSFbob", "bob")
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+tok+`"`))
		return c.do(t, req).StatusCode
	}
	if got := newcomer(f.mint("bob", "CSFbob", nil)); got != 404 {
		t.Fatalf("unknown device: %d", got)
	}
	if _, err := f.issuer.RotateKey(false); err != nil {
		t.Fatal(err)
	}
	tok := f.mint("bob", "CSFbob", nil)
	f.write("devices", "devices.json", []byte(`[{"name": "CSFbob", "owner": "bob", "oauth": true}]`))
	f.write("keys", "authz.pem", f.issuer.PublicKeyPEM())
	deadline := time.Now().Add(10 * time.Second)
	got := 0
	for time.Now().Before(deadline) {
		if got = newcomer(tok); got == 200 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != 200 {
		t.Fatalf("after the reload: %d", got)
	}
	for served().Cmp(renewed.Cert.SerialNumber) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the renewed node certificate is not served")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRateLimit: -rate limits each source on the OAuth port, and not
// edge proxies, through which many clients come from one address.
func TestRateLimit(t *testing.T) {
	f := newFixture(t)
	r := f.start("-rate", "0.01", "-rate-burst", "1")
	c := f.client(r.addr("oauth", "tls"), "TLS", nil)
	if res := c.do(t, c.register("CSFrado", "rado")); res.StatusCode != 407 {
		t.Fatalf("first:\n%s", res)
	}
	if res := c.do(t, c.register("CSFrado", "rado")); res.StatusCode != 503 || header(res, "Retry-After") != "5" {
		t.Fatalf("second:\n%s", res)
	}
	e := f.client(r.addr("edge", "tls"), "TLS", f.proxy)
	for i := range 3 {
		if res := e.do(t, e.register("CSFalice", "alice")); res.StatusCode != 407 {
			t.Fatalf("edge, REGISTER %d:\n%s", i+1, res)
		}
	}
	got := scrape(t, r.addr("metrics", "http"))
	if got[`sipoauth_registrations_total{outcome="error"}`] != 1 || got[`sipoauth_registrations_total{outcome="challenged"}`] != 4 {
		t.Fatalf("metrics %v", got)
	}
}

// TestStartErrors: files named by settings that cannot be used are
// reported by setting, before anything listens.
func TestStartErrors(t *testing.T) {
	f := newFixture(t)
	bad := func(name string, data string) string {
		p := f.dir + "/" + name
		writeFile(t, p, data)
		return p
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing certificate", []string{"-cert", f.dir + "/absent.pem"}, "-cert: "},
		{"key of another certificate", []string{"-key", bad("other.key", string(testca.New(t, "x").Server(t, "x").KeyPEM()))}, "-cert: "},
		{"trust store without certificates", []string{"-trust", bad("empty.pem", "nothing here")}, "-trust: "},
		{"damaged edge table", []string{"-edge-table", bad("table.json", `{"entries": [{"hostNameOrIp": ""}]}`)}, "-edge-table: "},
		{"keys not PEM", []string{"-keys", bad("keys.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}, "-keys: "},
		{"empty JWKS", []string{"-keys", bad("jwks.json", `{"keys": []}`)}, "-keys: "},
		{"short decryption key", []string{"-decryption-key", bad("dk.json", `{"k1": "AAAA"}`)}, `-decryption-key: load ` + f.dir + `/dk.json: keyfile: cluster keys: key "k1": 3 bytes, want 32`},
		{"devices not JSON", []string{"-devices", bad("bad-devices.json", `{"name": "CSFrado"}`)}, "-devices: "},
		{"address in use", nil, "-oauth: listen tcp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.name == "address in use" {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				args = []string{"-oauth", ln.Addr().String()}
			}
			s, err := loadConfig(f.args(args...))
			if err != nil {
				t.Fatal(err)
			}
			s.logOut = io.Discard
			r, err := start(context.Background(), s)
			if err == nil {
				r.Close(context.Background())
				t.Fatal("started")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to start with %q", err, tc.want)
			}
			var se *settingError
			if isSetting := errors.As(err, &se); isSetting == (tc.name == "address in use") {
				t.Errorf("%T: settingError %v", err, isSetting)
			}
		})
	}
}
