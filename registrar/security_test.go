package registrar

import (
	"bufio"
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
)

// The attacks of a user who holds a valid token for her own device, each
// tried over the wire (TLS on 127.0.0.1, real handshakes).

// wire is a SIP connection driven byte by byte, for requests a SIP stack
// would not send.
type wire struct {
	c net.Conn
	r *bufio.Reader
}

// dialWire connects over TLS to addr, presenting cert when set.
func (l *lab) dialWire(t *testing.T, addr string, cert *testca.Leaf) *wire {
	t.Helper()
	cfg := &tls.Config{RootCAs: l.nodeCA.Pool(), ServerName: "127.0.0.1"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS()}
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &wire{c: c, r: bufio.NewReader(c)}
}

// exchange writes raw and returns the response read off the wire, whole.
func (w *wire) exchange(t *testing.T, raw string) (*sip.Response, string) {
	t.Helper()
	w.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(w.c, raw); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	n := 0
	for {
		line, err := w.r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the answer: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(w.r, body); err != nil {
		t.Fatal(err)
	}
	b.Write(body)
	msg, err := sip.ParseMessage([]byte(b.String()))
	if err != nil {
		// An answer that echoes a header sipgo refuses to read (a CSeq
		// of 2^31): the status line alone.
		var code int
		var reason string
		if _, serr := fmt.Sscanf(b.String(), "SIP/2.0 %d", &code); serr != nil {
			t.Fatalf("answer %q: %v", b.String(), err)
		}
		line, _, _ := strings.Cut(b.String(), "\r\n")
		if parts := strings.SplitN(line, " ", 3); len(parts) == 3 {
			reason = parts[2]
		}
		return &sip.Response{StatusCode: code, Reason: reason}, b.String()
	}
	return msg.(*sip.Response), b.String()
}

// wireRegister is a REGISTER as bytes. Fields left empty take a
// Jabber-like default; "-" drops a header.
type wireRegister struct {
	Vias          []string // outermost first; one client Via when nil
	From, To      string   // users; To defaults to From
	CSeq          string   // "2271 REGISTER" by default
	Contact       string   // a whole Contact value
	Expires       string
	Token         string
	CallID        string
	ContentLength string
	Extra         []string // more header lines, before Content-Length
}

func (q wireRegister) String() string {
	var b strings.Builder
	b.WriteString("REGISTER sip:127.0.0.1 SIP/2.0\r\n")
	vias := q.Vias
	if vias == nil {
		vias = []string{"SIP/2.0/TLS 127.0.0.1:62162;branch=z9hG4bK" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	}
	for _, v := range vias {
		b.WriteString("Via: " + v + "\r\n")
	}
	to := q.To
	if to == "" {
		to = q.From
	}
	if q.From != "-" {
		b.WriteString("From: <sip:" + q.From + "@127.0.0.1>;tag=5eff\r\n")
	}
	b.WriteString("To: <sip:" + to + "@127.0.0.1>\r\n")
	callID := q.CallID
	if callID == "" {
		callID = "88232345-12340017@127.0.0.1"
	}
	b.WriteString("Call-ID: " + callID + "\r\nMax-Forwards: 70\r\n")
	cseq := q.CSeq
	if cseq == "" {
		cseq = "2271 REGISTER"
	}
	b.WriteString("CSeq: " + cseq + "\r\n")
	if q.Contact != "" {
		b.WriteString("Contact: " + q.Contact + "\r\n")
	}
	if q.Token != "" {
		b.WriteString(`Proxy-Authorization: Bearer token="` + q.Token + "\"\r\n")
	}
	expires := q.Expires
	if expires == "" {
		expires = "3600"
	}
	if expires != "-" {
		b.WriteString("Expires: " + expires + "\r\n")
	}
	for _, h := range q.Extra {
		b.WriteString(h + "\r\n")
	}
	cl := q.ContentLength
	if cl == "" {
		cl = "0"
	}
	b.WriteString("Content-Length: " + cl + "\r\n\r\n")
	return b.String()
}

// jabberContact is the Contact of a Jabber device.
func jabberContact(user, host, device, instance string) string {
	return `<sip:` + user + `@` + host + `;transport=tls>;+sip.instance="<urn:uuid:` + instance + `>";+u.sip!devicename.ccm.cisco.com="` + device + `"`
}

func (l *lab) token(t *testing.T, user, device string) string {
	t.Helper()
	tok, err := l.issuer.Mint(issuer.TokenRequest{User: user, Device: device})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (l *lab) bindings(aor string) []Binding {
	bs, _ := l.store.Lookup(context.Background(), aor)
	return bs
}

func contactsOfResponse(res *sip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		out = append(out, h.Value())
	}
	return out
}

// TestAORTakeover: alice, with a valid token for her own device, tries to
// bind her contact under rado's address of record, read his contacts and
// remove them.
func TestAORTakeover(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	w := l.dialWire(t, l.oauthAddr, nil)
	// rado registers.
	res, _ := w.exchange(t, wireRegister{From: "rado", Token: l.token(t, "rado", "CSFrado"),
		Contact: jabberContact("rado", "10.0.0.1:5061", "CSFrado", "00000000-0000-0000-0000-00000000000a")}.String())
	if res.StatusCode != 200 {
		t.Fatalf("rado registers:\n%s", res)
	}
	alice := l.token(t, "alice", "CSFalice")
	aliceContact := jabberContact("rado", "10.6.6.6:5061", "CSFalice", "00000000-0000-0000-0000-0000000000a1")
	for _, tc := range []struct {
		name string
		req  wireRegister
		want string // the status line's reason
	}{
		{"bind under rado's AOR", wireRegister{From: "alice", To: "rado", Token: alice, Contact: aliceContact}, "Forbidden: address of record not allowed for this device"},
		{"bind under rado's AOR, From rado too", wireRegister{From: "rado", Token: alice, Contact: aliceContact}, "Forbidden: address of record not allowed for this device"},
		{"bind under rado's AOR in another case", wireRegister{From: "alice", To: "RADO", Token: alice, Contact: aliceContact}, "Forbidden: address of record not allowed for this device"},
		{"bind under rado's AOR, escaped", wireRegister{From: "alice", To: "%72ado", Token: alice, Contact: aliceContact}, "Forbidden: address of record not allowed for this device"},
		{"bind under rado's line", wireRegister{From: "alice", To: "1001", Token: alice, Contact: aliceContact}, "Forbidden: address of record not allowed for this device"},
		{"read rado's contacts", wireRegister{From: "alice", To: "rado", Token: alice, Expires: "-"}, "Forbidden"},
		{"remove rado's contact", wireRegister{From: "alice", To: "rado", Token: alice, Expires: "0",
			Contact: jabberContact("rado", "10.0.0.1:5061", "CSFalice", "00000000-0000-0000-0000-00000000000a")}, "Forbidden: address of record not allowed for this device"},
		{"remove all of rado's contacts", wireRegister{From: "alice", To: "rado", Token: alice, Expires: "0", Contact: "*"}, "Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, raw := w.exchange(t, tc.req.String())
			if res.StatusCode != 403 || res.Reason != tc.want {
				t.Fatalf("%d %s, want 403 %s:\n%s", res.StatusCode, res.Reason, tc.want, raw)
			}
			if strings.Contains(raw, "10.0.0.1") {
				t.Fatalf("the answer shows rado's contact:\n%s", raw)
			}
			bs := l.bindings("rado")
			if len(bs) != 1 || bs[0].Device != "CSFrado" || bs[0].Contact != "sip:rado@10.0.0.1:5061;transport=tls" {
				t.Fatalf("rado's bindings now %+v", bs)
			}
		})
	}
	// Her own AOR, naming rado's contact: it is not hers, so nothing of
	// rado's changes, and her answer lists only her own.
	res, raw := w.exchange(t, wireRegister{From: "alice", Token: alice, Expires: "0",
		Contact: jabberContact("rado", "10.0.0.1:5061", "CSFalice", "00000000-0000-0000-0000-00000000000a")}.String())
	if res.StatusCode != 200 || strings.Contains(raw, "10.0.0.1") || len(l.bindings("rado")) != 1 {
		t.Fatalf("alice removing rado's contact from her own AOR:\n%s\nrado: %+v", raw, l.bindings("rado"))
	}
}

// TestOwnDeviceBindings: rado's second device can neither remove, refresh
// nor replace the bindings of his first, even within his own AOR, however
// it names the first's contact or +sip.instance; what it sends only ever
// makes bindings of its own, so the first device cannot be locked out by
// a squatted contact or instance either. Contact: * removes the caller's
// device's bindings only.
func TestOwnDeviceBindings(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	w := l.dialWire(t, l.oauthAddr, nil)
	first := jabberContact("rado", "10.0.0.1:5061", "CSFrado", "00000000-0000-0000-0000-00000000000a")
	firstTok := l.token(t, "rado", "CSFrado")
	res, _ := w.exchange(t, wireRegister{From: "rado", Token: firstTok, Contact: first + ";reg-id=1"}.String())
	if res.StatusCode != 200 {
		t.Fatalf("first device:\n%s", res)
	}
	firstBinding := l.bindings("rado")[0]
	untouched := func(t *testing.T) {
		t.Helper()
		for _, b := range l.bindings("rado") {
			if b.Device == "CSFrado" {
				if !reflect.DeepEqual(b, firstBinding) {
					t.Fatalf("the first device's binding changed:\n%+v\n%+v", b, firstBinding)
				}
				return
			}
		}
		t.Fatalf("the first device's binding is gone: %+v", l.bindings("rado"))
	}
	second := l.token(t, "rado", "CSFrado2")
	for i, tc := range []struct{ name, contact, expires string }{
		{"remove the first device's contact", jabberContact("rado", "10.0.0.1:5061", "CSFrado2", "00000000-0000-0000-0000-00000000000b"), "0"},
		{"remove it written otherwise", strings.Replace(jabberContact("rado", "10.0.0.1:5061", "CSFrado2", "00000000-0000-0000-0000-00000000000b"), "transport=tls", "TRANSPORT=TLS", 1), "0"},
		{"refresh the first device's contact", jabberContact("rado", "10.0.0.1:5061", "CSFrado2", "00000000-0000-0000-0000-00000000000b"), "3600"},
		{"claim the first device's instance and reg-id", jabberContact("rado", "10.9.9.9:5061", "CSFrado2", "00000000-0000-0000-0000-00000000000A") + ";reg-id=1", "3600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, raw := w.exchange(t, wireRegister{From: "rado", Token: second, Contact: tc.contact, Expires: tc.expires,
				CallID: "other-device@127.0.0.1", CSeq: fmt.Sprint(10+i) + " REGISTER"}.String())
			if res.StatusCode != 200 {
				t.Fatalf("answer:\n%s", raw)
			}
			untouched(t)
		})
	}
	// The first device refreshes as before: nothing of the second's is
	// taken for its own, and nothing blocks it.
	res, raw := w.exchange(t, wireRegister{From: "rado", Token: firstTok, CSeq: "2272 REGISTER", Contact: first + ";reg-id=1"}.String())
	var mine []Binding
	for _, b := range l.bindings("rado") {
		if b.Device == "CSFrado" {
			mine = append(mine, b)
		}
	}
	if res.StatusCode != 200 || len(mine) != 1 || mine[0].CSeq != 2272 || strings.Count(raw, "x-cisco-newreg") != 0 {
		t.Fatalf("the first device refreshing:\n%s\nits bindings %+v", raw, mine)
	}
	// The client known by its user ("rado", no device parameter) removes
	// its own bindings with Contact: *, and only those.
	plain := l.token(t, "rado", "")
	if res, raw := w.exchange(t, wireRegister{From: "rado", Token: plain, CallID: "plain@127.0.0.1", Contact: "<sip:rado@10.0.0.3:5061;transport=tls>"}.String()); res.StatusCode != 200 {
		t.Fatalf("plain client registers:\n%s", raw)
	}
	before := len(l.bindings("rado"))
	res, raw = w.exchange(t, wireRegister{From: "rado", Token: plain, CallID: "plain@127.0.0.1", CSeq: "2272 REGISTER", Contact: "*", Expires: "0"}.String())
	if res.StatusCode != 200 {
		t.Fatalf("Contact: *:\n%s", raw)
	}
	after := l.bindings("rado")
	if len(after) != before-1 || slices.ContainsFunc(after, func(b Binding) bool { return b.Device == "rado" }) {
		t.Fatalf("after Contact: * of the plain client: %+v", after)
	}
}

// TestAORRule: what an identity may register, over the wire: its user in
// any case or escaped, its device's lines; the key is the canonical user.
func TestAORRule(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	w := l.dialWire(t, l.oauthAddr, nil)
	for _, tc := range []struct {
		name, tokenUser, device, to string
		status                      int
		key                         string
	}{
		{"own user", "rado", "CSFrado", "rado", 200, "rado"},
		{"own user, To in capitals", "rado", "CSFrado", "RADO", 200, "rado"},
		{"own user, token sub in capitals", "RADO", "CSFrado", "Rado", 200, "rado"},
		{"own user, escaped", "rado", "CSFrado", "%52ado", 200, "rado"},
		{"own line", "rado", "CSFrado", "1001", 200, "1001"},
		{"line given as a URI", "alice", "CSFalice", "1099", 200, "1099"},
		{"another device's line", "rado", "CSFrado", "1002", 403, "1002"},
		{"a line of none", "rado", "CSFrado", "1003", 403, "1003"},
		{"another user", "rado", "CSFrado", "alice", 403, "alice"},
		{"bad escape", "rado", "CSFrado", "%zzado", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, raw := w.exchange(t, wireRegister{From: tc.to, Token: l.token(t, tc.tokenUser, tc.device), CallID: tc.name + "@127.0.0.1",
				Contact: jabberContact("x", "10.0.0.1:5061", tc.device, "00000000-0000-0000-0000-0000000000"+fmt.Sprintf("%02x", len(tc.name)))}.String())
			if res.StatusCode != tc.status {
				t.Fatalf("%d, want %d:\n%s", res.StatusCode, tc.status, raw)
			}
			if tc.key == "" {
				return
			}
			if got := len(l.bindings(tc.key)) > 0; got != (tc.status == 200) {
				t.Fatalf("bindings under %q: %+v", tc.key, l.bindings(tc.key))
			}
		})
	}
}

// TestMalformedHeadersOnTheWire: requests that used to be answered 200 or
// not at all get 400.
func TestMalformedHeadersOnTheWire(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	tok := l.token(t, "rado", "CSFrado")
	contact := jabberContact("rado", "10.0.0.1:5061", "CSFrado", "00000000-0000-0000-0000-00000000000a")
	for _, tc := range []struct {
		name string
		req  wireRegister
	}{
		{"no From", wireRegister{From: "-", To: "rado", Token: tok, Contact: contact}},
		{"CSeq of another method", wireRegister{From: "rado", CSeq: "2271 INVITE", Token: tok, Contact: contact}},
		{"CSeq 2^31", wireRegister{From: "rado", CSeq: "2147483648 REGISTER", Token: tok, Contact: contact}},
		{"CSeq 2^32-1", wireRegister{From: "rado", CSeq: "4294967295 REGISTER", Token: tok, Contact: contact}},
		{"negative Content-Length", wireRegister{From: "rado", Token: tok, Contact: contact, ContentLength: "-5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := l.dialWire(t, l.oauthAddr, nil)
			res, raw := w.exchange(t, tc.req.String())
			if res.StatusCode != 400 || !strings.HasPrefix(raw, "SIP/2.0 400 Bad Request") || !strings.Contains(raw, "\r\nCall-ID: 88232345-12340017@127.0.0.1\r\n") {
				t.Fatalf("answer:\n%s", raw)
			}
			if len(l.bindings("rado")) != 0 {
				t.Fatalf("bound: %+v", l.bindings("rado"))
			}
		})
	}
}

// TestEdgePortRules: the same rules for REGISTERs an edge proxy relays
// on the MRA port, and a proxy removed from the table stops registering
// on the connection it already holds.
func TestEdgePortRules(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	w := l.dialWire(t, l.edgeAddr, l.proxy)
	relayed := func(q wireRegister) wireRegister {
		q.Vias = []string{
			"SIP/2.0/TLS 127.0.0.1:7001;branch=z9hG4bKedge" + strconv.FormatInt(time.Now().UnixNano(), 36),
			"SIP/2.0/TLS 192.0.2.10:62162;received=192.0.2.10;branch=z9hG4bK" + strconv.FormatInt(time.Now().UnixNano(), 36),
		}
		return q
	}
	alice := l.token(t, "alice", "CSFalice")
	res, raw := w.exchange(t, relayed(wireRegister{From: "alice", To: "rado", Token: alice, Contact: jabberContact("rado", "192.0.2.10:62162", "CSFalice", "00000000-0000-0000-0000-0000000000a1")}).String())
	if res.StatusCode != 403 || res.Reason != "Forbidden: address of record not allowed for this device" {
		t.Fatalf("alice under rado's AOR through the edge:\n%s", raw)
	}
	res, raw = w.exchange(t, relayed(wireRegister{From: "rado", Token: l.token(t, "rado", "CSFrado"), Contact: jabberContact("rado", "192.0.2.11:62162", "CSFrado", "00000000-0000-0000-0000-00000000000a")}).String())
	if res.StatusCode != 200 {
		t.Fatalf("rado through the edge:\n%s", raw)
	}
	if ok, err := l.table.Remove("expc1"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	res, raw = w.exchange(t, relayed(wireRegister{From: "rado", CSeq: "2272 REGISTER", Token: l.token(t, "rado", "CSFrado"), Contact: jabberContact("rado", "192.0.2.11:62162", "CSFrado", "00000000-0000-0000-0000-00000000000a")}).String())
	if res.StatusCode != 403 {
		t.Fatalf("a removed edge proxy's held connection still registers:\n%s", raw)
	}
}

// TestBindingLimit: a device holds at most DefaultMaxDeviceBindings
// contacts of an address of record, the AOR at most DefaultMaxBindings;
// the next is refused as Kamailio refuses it, and nothing is lost.
func TestBindingLimit(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	w := l.dialWire(t, l.oauthAddr, nil)
	n := 0
	register := func(device, contact, cseq string) (*sip.Response, string) {
		t.Helper()
		c := contact
		if device != "rado" {
			c += `;+u.sip!devicename.ccm.cisco.com="` + device + `"`
		}
		return w.exchange(t, wireRegister{From: "rado", Token: l.token(t, "rado", device), CallID: device + "@127.0.0.1", CSeq: cseq + " REGISTER", Contact: c}.String())
	}
	tooMany := func(t *testing.T, res *sip.Response, raw string) {
		t.Helper()
		ra, _ := strconv.Atoi(header(res, "Retry-After"))
		if res.StatusCode != 503 || header(res, "Warning") != `399 `+node+` "Too many registered contacts"` || ra < 110 || ra > 120 {
			t.Fatalf("refusal:\n%s", raw)
		}
	}
	for _, device := range []string{"CSFrado", "CSFrado2", "CSFrado3"} {
		for i := range DefaultMaxDeviceBindings {
			n++
			if res, raw := register(device, fmt.Sprintf("<sip:rado@10.0.%d.%d:5061;transport=tls>", len(device), i), fmt.Sprint(i+1)); res.StatusCode != 200 || len(contactsOfResponse(res)) != n {
				t.Fatalf("%s, contact %d:\n%s", device, i+1, raw)
			}
		}
		res, raw := register(device, "<sip:rado@10.0.99.99:5061;transport=tls>", "50")
		tooMany(t, res, raw)
	}
	if res, raw := register("rado", "<sip:rado@10.0.0.10:5061;transport=tls>", "1"); res.StatusCode != 200 || len(contactsOfResponse(res)) != DefaultMaxBindings {
		t.Fatalf("the tenth contact:\n%s", raw)
	}
	res, raw := register("rado", "<sip:rado@10.0.0.11:5061;transport=tls>", "2")
	tooMany(t, res, raw)
	if n := len(l.bindings("rado")); n != DefaultMaxBindings {
		t.Fatalf("%d bindings", n)
	}
	// A refresh and a removal still pass at the limit.
	if res, raw := register("CSFrado", "<sip:rado@10.0.7.0:5061;transport=tls>", "100"); res.StatusCode != 200 {
		t.Fatalf("refresh at the limit:\n%s", raw)
	}
	res, raw = w.exchange(t, wireRegister{From: "rado", Token: l.token(t, "rado", "CSFrado"), CallID: "CSFrado@127.0.0.1", CSeq: "101 REGISTER", Expires: "0",
		Contact: `<sip:rado@10.0.7.0:5061;transport=tls>;+u.sip!devicename.ccm.cisco.com="CSFrado"`}.String())
	if res.StatusCode != 200 || len(l.bindings("rado")) != DefaultMaxBindings-1 {
		t.Fatalf("removal at the limit:\n%s", raw)
	}
}

// udpRegistrar is a registrar taking OAuth registrations over plain UDP
// (as for load tests), on 127.0.0.1.
func udpRegistrar(t *testing.T, store Store, v *sipoauth.Validator, devices Devices) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := New(Config{NodeName: node, Devices: devices, Validator: v, Store: store, PlaintextForLoadTests: true,
		Ports:  Ports{pc.LocalAddr().(*net.UDPAddr).Port: RoleOAuth},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	go serve(t, reg).ServeUDP(pc)
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// TestUDPAnswerFits: an AOR full of long contacts no longer makes the
// 200 OK too large for UDP (which went unanswered): the answer fits
// MaxUDPResponse and lists the request's own contact first.
func TestUDPAnswerFits(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore()
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := sipoauth.New(sipoauth.Config{Keys: mustKeys(t, iss)})
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	addr := udpRegistrar(t, store, v, MemoryDevices{
		"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}, "CSFrado2": {Name: "CSFrado2", Owner: "rado", OAuth: true}})
	var changes []Change
	for i := range DefaultMaxBindings - 1 {
		changes = append(changes, Change{Binding: Binding{Contact: fmt.Sprintf("sip:rado@10.0.1.%d:5060", i), Params: "x=" + strings.Repeat("y", 200)}, Expires: time.Minute})
	}
	if _, err := store.Update(context.Background(), "rado", Update{Now: time.Now(), CallID: "c", CSeq: 1, Device: "CSFrado2", Changes: changes}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	req := wireRegister{From: "rado", Token: tok, Vias: []string{"SIP/2.0/UDP " + local + ";branch=z9hG4bKudp1"},
		Contact: `<sip:rado@` + local + `>;+u.sip!devicename.ccm.cisco.com="CSFrado"`}.String()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer over UDP: %v", err)
	}
	msg, err := sip.ParseMessage(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	res := msg.(*sip.Response)
	cs := contactsOfResponse(res)
	if res.StatusCode != 200 || n > MaxUDPResponse || len(cs) == 0 || !strings.HasPrefix(cs[0], "<sip:rado@"+local+">") {
		t.Fatalf("%d bytes:\n%s", n, buf[:n])
	}
}

func mustKeys(t *testing.T, iss *issuer.Issuer) sipoauth.KeySource {
	t.Helper()
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// legacyRegistrar serves the legacy role on plain TCP on 127.0.0.1 with
// the default pipeline of cfg, and returns a connection to it.
func legacyRegistrar(t *testing.T, cfg Config) (*wire, *MemoryStore) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	store := NewMemoryStore()
	iss, _ := issuer.New(issuer.Config{})
	cfg.Validator, _ = sipoauth.New(sipoauth.Config{Keys: mustKeys(t, iss)})
	cfg.NodeName, cfg.Store, cfg.Logger = node, store, slog.New(slog.DiscardHandler)
	cfg.Devices = MemoryDevices{"SEPlegacy": {Name: "SEPlegacy", Owner: "rado", Lines: []string{"1005"}}}
	cfg.Ports = Ports{ln.Addr().(*net.TCPAddr).Port: RoleLegacy}
	reg, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go serve(t, reg).ServeTCP(ln)
	t.Cleanup(func() { ln.Close() })
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &wire{c: c, r: bufio.NewReader(c)}, store
}

// TestLegacyFailsClosed: the default pipeline gives a device without
// OAuth on the legacy port no registration without credentials (it used
// to register with none); only the loudly named lab switch lets it, and
// even then only under its own user's address of record or its lines.
func TestLegacyFailsClosed(t *testing.T) {
	t.Parallel()
	contact := `<sip:1005@10.0.0.5:5060;transport=tcp>;+u.sip!devicename.ccm.cisco.com="SEPlegacy"`
	w, store := legacyRegistrar(t, Config{})
	res, raw := w.exchange(t, wireRegister{From: "1005", Contact: contact, Vias: []string{"SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKlegacy1"}}.String())
	if res.StatusCode != 403 || res.Reason != "Forbidden: no authentication on this port" {
		t.Fatalf("default legacy port:\n%s", raw)
	}
	if bs, _ := store.Lookup(context.Background(), "1005"); len(bs) != 0 {
		t.Fatalf("bound without credentials: %+v", bs)
	}
	if _, err := New(Config{Devices: MemoryDevices{}, Validator: &sipoauth.Validator{}, Legacy: InsecureNoAuthentication{}, InsecureLegacyWithoutAuthentication: true}); err == nil {
		t.Error("New took both Legacy and InsecureLegacyWithoutAuthentication")
	}

	w, store = legacyRegistrar(t, Config{InsecureLegacyWithoutAuthentication: true})
	res, raw = w.exchange(t, wireRegister{From: "1005", Contact: contact, Vias: []string{"SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKlegacy2"}}.String())
	if res.StatusCode != 200 {
		t.Fatalf("lab switch, own line:\n%s", raw)
	}
	if bs, _ := store.Lookup(context.Background(), "1005"); len(bs) != 1 || bs[0].Device != "SEPlegacy" {
		t.Fatalf("bindings %+v", bs)
	}
	res, raw = w.exchange(t, wireRegister{From: "alice", Contact: contact, Vias: []string{"SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKlegacy3"}}.String())
	if res.StatusCode != 403 {
		t.Fatalf("lab switch, another user's AOR:\n%s", raw)
	}
}

// TestLegacyPath: on the legacy role a Path is taken from a proxy (a
// second Via on the request), and refused from a phone that wrote it
// itself (one Via), which could route the node's requests anywhere.
func TestLegacyPath(t *testing.T) {
	t.Parallel()
	contact := `<sip:1005@10.0.0.5:5060;transport=tcp>;+u.sip!devicename.ccm.cisco.com="SEPlegacy"`
	w, store := legacyRegistrar(t, Config{InsecureLegacyWithoutAuthentication: true})
	path := "Path: <sip:victim.example.com;lr>"
	res, raw := w.exchange(t, wireRegister{From: "1005", Contact: contact, Extra: []string{path},
		Vias: []string{"SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKlp1"}}.String())
	if res.StatusCode != 403 || res.Reason != "Forbidden: Path on a port clients reach directly" {
		t.Fatalf("a phone's own Path:\n%s", raw)
	}
	if bs, _ := store.Lookup(context.Background(), "1005"); len(bs) != 0 {
		t.Fatalf("bound: %+v", bs)
	}
	res, raw = w.exchange(t, wireRegister{From: "1005", Contact: contact, Extra: []string{"Path: <sip:sbc.example.com;lr>"},
		Vias: []string{"SIP/2.0/TCP 192.0.2.9:5060;branch=z9hG4bKsbc", "SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKlp2"}}.String())
	if res.StatusCode != 200 || !strings.Contains(raw, "\r\nPath: <sip:sbc.example.com;lr>\r\n") {
		t.Fatalf("through a proxy:\n%s", raw)
	}
	if bs, _ := store.Lookup(context.Background(), "1005"); len(bs) != 1 || !slices.Equal(bs[0].Path, []string{"<sip:sbc.example.com;lr>"}) {
		t.Fatalf("bindings %+v", bs)
	}
}

// TestAORRuleDomains: with Domains the host must be served and is part of
// the key; lines given as URIs are keyed by the same rule.
func TestAORRuleDomains(t *testing.T) {
	t.Parallel()
	rule := AORRule{Domains: []string{"Cluster.Example.com", "10.10.10.1"}}
	check := AORCheck{Rule: rule}
	key := func(s string) string {
		t.Helper()
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil {
			t.Fatal(err)
		}
		k, err := rule.Key(u)
		if err != nil {
			return "error: " + err.Error()
		}
		return k
	}
	for in, want := range map[string]string{
		"sip:rado@cluster.example.com":        "rado@cluster.example.com",
		"sips:RADO@CLUSTER.EXAMPLE.COM:5061":  "rado@cluster.example.com",
		"sip:%72ado@10.10.10.1;transport=tls": "rado@10.10.10.1",
		"sip:rado%40example.org@10.10.10.1":   "rado@example.org@10.10.10.1",
		"sip:rado@other.example.com":          "error: " + ErrDomainNotServed.Error(),
		"tel:+15551001":                       "error: ",
		"sip:cluster.example.com":             "error: ",
		"sip:%zz@cluster.example.com":         "error: ",
		"sip:%00rado@cluster.example.com":     "error: ",
		"sip:\u212Aelvin@cluster.example.com": "kelvin@cluster.example.com",
	} {
		got := key(in)
		if got != want && !(strings.HasSuffix(want, ": ") && strings.HasPrefix(got, want)) {
			t.Errorf("Key(%s) = %q, want %q", in, got, want)
		}
	}
	d := Device{Name: "CSFrado", Owner: "rado", Lines: []string{"1001", "sip:1099@cluster.example.com", "sip:1098@elsewhere.example.com", "bad:uri:"}}
	for aor, want := range map[string]bool{
		"rado@cluster.example.com": true, "rado@10.10.10.1": true, "1001@cluster.example.com": true,
		"1099@cluster.example.com": true, "1099@10.10.10.1": false, "1098@elsewhere.example.com": false,
		"alice@cluster.example.com": false, "1002@cluster.example.com": false,
	} {
		if got := check.Allowed(aor, "RADO", d); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", aor, got, want)
		}
	}
	if _, err := New(Config{Devices: MemoryDevices{}, Validator: &sipoauth.Validator{}, Domains: []string{"a@b"}}); err == nil {
		t.Error("New took a domain with @")
	}
}

// TestContactParameterCase: parameter names compare case-insensitively
// (RFC 3261 §7.3.1): ;EXPIRES=0 removes the binding it names, and a
// device parameter in capitals names the device; two Expires headers
// are refused rather than one of them picked.
func TestContactParameterCase(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	w := l.dialWire(t, l.oauthAddr, nil)
	tok := l.token(t, "rado", "CSFrado")
	contact := `<sip:rado@10.0.0.1:5061;transport=tls>;+U.SIP!DEVICENAME.CCM.CISCO.COM="CSFrado"`
	if res, raw := w.exchange(t, wireRegister{From: "rado", Token: tok, Contact: contact}.String()); res.StatusCode != 200 {
		t.Fatalf("device parameter in capitals:\n%s", raw)
	}
	if bs := l.bindings("rado"); len(bs) != 1 || bs[0].Device != "CSFrado" {
		t.Fatalf("bindings %+v", bs)
	}
	if res, raw := w.exchange(t, wireRegister{From: "rado", Token: tok, CSeq: "2272 REGISTER", Contact: contact + ";EXPIRES=0"}.String()); res.StatusCode != 200 || len(l.bindings("rado")) != 0 {
		t.Fatalf(";EXPIRES=0:\n%s\nbindings %+v", raw, l.bindings("rado"))
	}
	raw := strings.Replace(wireRegister{From: "rado", Token: tok, CSeq: "2273 REGISTER", Contact: contact}.String(), "Expires: 3600\r\n", "Expires: 0\r\nExpires: 3600\r\n", 1)
	if res, raw := w.exchange(t, raw); res.StatusCode != 400 || len(l.bindings("rado")) != 0 {
		t.Fatalf("two Expires:\n%s", raw)
	}
}

// TestUDPRequestTooLargeToAnswer: a UDP REGISTER whose echoed headers
// leave no room for an answer changes nothing: with room for the 513,
// it gets one; without, nothing is bound either.
func TestUDPRequestTooLargeToAnswer(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore()
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := sipoauth.New(sipoauth.Config{Keys: mustKeys(t, iss)})
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	addr := udpRegistrar(t, store, v, MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}})
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	send := func(callID string) (string, error) {
		req := wireRegister{From: "rado", Token: tok, CallID: callID, Vias: []string{"SIP/2.0/UDP " + local + ";branch=z9hG4bK" + strconv.Itoa(len(callID))},
			Contact: `<sip:rado@` + local + `>;+u.sip!devicename.ccm.cisco.com="CSFrado"`}.String()
		c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		return string(buf[:n]), err
	}
	answer, err := send(strings.Repeat("c", 800) + "@127.0.0.1")
	if err != nil || !strings.HasPrefix(answer, "SIP/2.0 513 Message Too Large\r\n") || len(answer) > MaxUDPResponse {
		t.Fatalf("a REGISTER whose echo leaves little room: %v\n%s", err, answer)
	}
	if _, err := send(strings.Repeat("c", 3000) + "@127.0.0.1"); err == nil {
		t.Fatal("an answer arrived to a REGISTER too large to answer over UDP")
	}
	if bs, _ := store.Lookup(context.Background(), "rado"); len(bs) != 0 {
		t.Fatalf("bound without an answer the client could receive: %+v", bs)
	}
	// A request of ordinary size is answered and bound.
	if answer, err := send("ordinary@127.0.0.1"); err != nil || !strings.HasPrefix(answer, "SIP/2.0 200 OK\r\n") {
		t.Fatalf("ordinary REGISTER: %v\n%s", err, answer)
	}
}

// TestSipgoUDPAnswerFollowsVia: behind sipgo's UDP transport
// (HandleRegister), the answers go where sipgo sends them, to the
// source's address and the Via's port when the Via has no rport (RFC 3261
// §18.2.2), both the challenge and the 200; with rport, to the source.
func TestSipgoUDPAnswerFollowsVia(t *testing.T) {
	t.Parallel()
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := sipoauth.New(sipoauth.Config{Keys: mustKeys(t, iss)})
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	addr := udpRegistrar(t, NewMemoryStore(), v, MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}})
	listen := func() net.PacketConn {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		return pc
	}
	from, named := listen(), listen()
	port := named.LocalAddr().(*net.UDPAddr).Port
	type answer struct {
		pc  net.PacketConn
		msg string
	}
	got := make(chan answer, 8)
	for _, pc := range []net.PacketConn{from, named} {
		go func() {
			buf := make([]byte, 4096)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return // closed when the test ends
				}
				got <- answer{pc, string(buf[:n])}
			}
		}()
	}
	for i, tc := range []struct {
		rport, auth string
		status      string
		want        net.PacketConn
	}{
		{"", "", "407", named},
		{"", "Proxy-Authorization: Bearer token=\"" + tok + "\"\r\n", "200", named},
		{";rport", "Proxy-Authorization: Bearer token=\"" + tok + "\"\r\n", "200", from},
	} {
		msg := fmt.Sprintf("REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-via-%d%s\r\n"+
			"From: <sip:rado@127.0.0.1>;tag=f%d\r\nTo: <sip:rado@127.0.0.1>\r\nCall-ID: via-%d\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n"+
			"Contact: <sip:rado@127.0.0.1:%d>;+u.sip!devicename.ccm.cisco.com=\"CSFrado\"\r\nExpires: 120\r\n%sContent-Length: 0\r\n\r\n",
			port, i, tc.rport, i, i, port, tc.auth)
		to, _ := net.ResolveUDPAddr("udp", addr)
		if _, err := from.WriteTo([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-got:
			if a.pc != tc.want || !strings.HasPrefix(a.msg, "SIP/2.0 "+tc.status+" ") {
				t.Fatalf("REGISTER %d (Via port %d%s): answer on the wrong socket (%v) or %.80q", i, port, tc.rport, a.pc != tc.want, a.msg)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("REGISTER %d: no answer", i)
		}
	}
}
