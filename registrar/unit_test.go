package registrar

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/time/rate"

	"github.com/sipoauth/sdk/internal/sipmsg"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
)

var t0 = time.Date(2026, 3, 30, 11, 3, 19, 0, time.UTC)

func applyChange(contact string, exp time.Duration) Change {
	return Change{Binding: Binding{Contact: contact}, Expires: exp}
}

// TestApply: RFC 3261 §10.3 steps 6-8.
func TestApply(t *testing.T) {
	t.Parallel()
	var bs []Binding
	step := func(u Update) Result {
		t.Helper()
		r, err := Apply(bs, u)
		if err != nil {
			t.Fatal(err)
		}
		bs = r.Bindings
		return r
	}
	r := step(Update{Now: t0, CallID: "c1", CSeq: 1, Changes: []Change{applyChange("sip:a@1", time.Minute), applyChange("sip:b@2", time.Hour)}})
	if len(r.Bindings) != 2 || !r.New["sip:a@1"] || !r.New["sip:b@2"] {
		t.Fatalf("%+v", r)
	}
	r = step(Update{Now: t0.Add(time.Second), CallID: "c1", CSeq: 2, Changes: []Change{applyChange("sip:a@1", 2*time.Minute)}})
	if r.New["sip:a@1"] || !r.Bindings[0].Expires.Equal(t0.Add(time.Second+2*time.Minute)) || r.Bindings[0].CSeq != 2 {
		t.Fatalf("refresh %+v", r)
	}
	if _, err := Apply(bs, Update{Now: t0, CallID: "c1", CSeq: 2, Changes: []Change{applyChange("sip:a@1", time.Minute)}}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("same CSeq: %v", err)
	}
	// Another Call-ID may use any CSeq (a restarted client).
	r = step(Update{Now: t0, CallID: "c2", CSeq: 1, Changes: []Change{applyChange("sip:a@1", time.Minute)}})
	if r.Bindings[0].CallID != "c2" {
		t.Fatalf("%+v", r)
	}
	r = step(Update{Now: t0, CallID: "c2", CSeq: 2, Changes: []Change{applyChange("sip:a@1", 0)}})
	if len(r.Bindings) != 1 || r.Bindings[0].Contact != "sip:b@2" {
		t.Fatalf("remove %+v", r)
	}
	// Same instance and reg-id replace the binding whatever the contact (RFC 5626).
	bs = nil
	inst := Change{Binding: Binding{Contact: "sip:x@1", Instance: `"<urn:uuid:1>"`, RegID: 1}, Expires: time.Minute}
	step(Update{Now: t0, CallID: "c3", CSeq: 1, Changes: []Change{inst}})
	inst.Contact = "sip:x@2"
	r = step(Update{Now: t0, CallID: "c3", CSeq: 2, Changes: []Change{inst}})
	if len(r.Bindings) != 1 || r.Bindings[0].Contact != "sip:x@2" {
		t.Fatalf("instance %+v", r)
	}
	// The instance compares without quotes, brackets or case.
	inst.Contact, inst.Instance = "sip:x@3", `"<URN:UUID:1>"`
	r = step(Update{Now: t0, CallID: "c3", CSeq: 3, Changes: []Change{inst}})
	if len(r.Bindings) != 1 || r.Bindings[0].Contact != "sip:x@3" {
		t.Fatalf("instance in capitals %+v", r)
	}
	// Another device never matches: the same contact or instance makes a
	// binding of its own, and its removal touches none of the first's.
	other := inst
	other.Device = "other"
	r = step(Update{Now: t0, CallID: "c9", CSeq: 1, Device: "other", Changes: []Change{other}})
	if len(r.Bindings) != 2 || r.Bindings[0].Device != "" || r.Bindings[0].CSeq != 3 || r.Bindings[1].Device != "other" {
		t.Fatalf("another device's same instance %+v", r)
	}
	other.Expires = 0
	r = step(Update{Now: t0, CallID: "c9", CSeq: 2, Device: "other", Changes: []Change{other, applyChange("sip:x@3", 0)}})
	if len(r.Bindings) != 1 || r.Bindings[0].Device != "" {
		t.Fatalf("another device's removal %+v", r)
	}
	// Expired bindings are gone; Contact: * removes the rest.
	r = step(Update{Now: t0.Add(2 * time.Minute), CallID: "c4", CSeq: 1, Changes: []Change{applyChange("sip:y@1", time.Minute)}})
	if len(r.Bindings) != 1 || r.Bindings[0].Contact != "sip:y@1" {
		t.Fatalf("expiry %+v", r)
	}
	r = step(Update{Now: t0.Add(2 * time.Minute), CallID: "c5", CSeq: 9, RemoveAll: true})
	if len(r.Bindings) != 0 {
		t.Fatalf("remove all %+v", r)
	}
}

// fakeTx is a server transaction the tests answer through Serve.
type fakeTx struct{ sip.ServerTransaction }

func parseRequest(t testing.TB, raw string) *sip.Request {
	t.Helper()
	msg, err := sip.ParseMessage([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return msg.(*sip.Request)
}

const rawRegister = `REGISTER sip:10.10.10.1 SIP/2.0
Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00001188
From: <sip:rado@10.10.10.1>;tag=882323451234089000003bdd-00005eff
To: <sip:rado@10.10.10.1>
Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10
Max-Forwards: 70
CSeq: 2270 REGISTER
User-Agent: Cisco-CSF
%s
Expires: 3600
Content-Length: 0

`

const csfContact = `Contact: <sip:rado@10.10.10.10:62162;transport=tls>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-00505686e0f3>";+u.sip!devicename.ccm.cisco.com="CSFrado";+u.sip!model.ccm.cisco.com="503";video`

// unitRegistrar is a registrar whose peer is supplied by the test, as
// another SIP stack would.
func unitRegistrar(t testing.TB, tlsPeer bool) (*Registrar, *issuer.Issuer) {
	t.Helper()
	return unitRegistrarStore(t, tlsPeer, nil)
}

// unitRegistrarStore is unitRegistrar keeping its bindings in store (a
// MemoryStore of its own when nil).
func unitRegistrarStore(t testing.TB, tlsPeer bool, store Store) (*Registrar, *issuer.Issuer) {
	t.Helper()
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	v, _ := sipoauth.New(sipoauth.Config{Keys: keys})
	reg, err := New(Config{NodeName: "UCM2-PUB", Devices: MemoryDevices{
		"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true},
		"rado":    {Name: "rado", Owner: "rado", OAuth: true}, // an RFC 8898 client, known by its user
	}, Validator: v, Store: store,
		PeerInfo: func(*sip.Request, sip.ServerTransaction) PeerInfo {
			p := PeerInfo{Local: &net.TCPAddr{IP: net.IPv4(10, 10, 10, 1), Port: 5090}, Remote: &net.TCPAddr{IP: net.IPv4(10, 10, 10, 10), Port: 62162}}
			if tlsPeer {
				p.TLS = &tls.ConnectionState{}
			}
			return p
		}})
	if err != nil {
		t.Fatal(err)
	}
	return reg, iss
}

func TestMalformedRegisters(t *testing.T) {
	t.Parallel()
	reg, iss := unitRegistrar(t, true)
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	tokNoDevice, _ := iss.Mint(issuer.TokenRequest{User: "rado"})
	cases := []struct {
		name   string
		extra  string
		status int
		reason string
	}{
		{"no contact, To user not a device", "", 404, "Not Found"},
		{"no user in To", "Contact: <sip:@10.10.10.10>", 400, "Bad Request: bad address of record in To"},
		{"oversized contact", strings.Replace(csfContact, ";video", ";video;x="+strings.Repeat("a", 9000), 1) + "\nProxy-Authorization: Bearer token=\"" + tok + "\"", 400, "Bad Request: header Contact too long"},
		{"oversized credentials", csfContact + "\nProxy-Authorization: Bearer token=\"" + strings.Repeat("a", sipauth.DefaultMaxCredentials) + "\"", 400, "Bad Request: credentials too long"},
		{"oversized digest credentials", csfContact + "\nAuthorization: Digest username=\"" + strings.Repeat("a", sipauth.DefaultMaxCredentials) + "\"", 400, "Bad Request: credentials too long"},
		{"two bearer credentials", csfContact + "\nProxy-Authorization: Bearer token=\"" + tok + "\"\nProxy-Authorization: Bearer " + tok, 400, "Bad Request: duplicate credentials"},
		{"malformed credentials", csfContact + "\nProxy-Authorization: Bearer token=\"abc", 400, "Bad Request: malformed credentials"},
		{"wildcard with Expires", "Contact: *\nProxy-Authorization: Bearer token=\"" + tokNoDevice + "\"", 400, "Bad Request: Contact * needs Expires: 0 and no other contact"},
		{"bad expires param", strings.Replace(csfContact, ";video", ";video;expires=soon", 1) + "\nProxy-Authorization: Bearer token=\"" + tok + "\"", 400, "Bad Request: bad expires parameter"},
		{"too brief", strings.Replace(csfContact, ";video", ";video;expires=10", 1) + "\nProxy-Authorization: Bearer token=\"" + tok + "\"", 423, "Interval Too Brief"},
		{"good", csfContact + "\nProxy-Authorization: Bearer token=\"" + tok + "\"", 200, "OK"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := fmt.Sprintf(rawRegister, tc.extra)
			switch tc.name {
			case "no user in To":
				raw = strings.Replace(raw, "To: <sip:rado@10.10.10.1>", "To: <sip:10.10.10.1>", 1)
			case "no contact, To user not a device":
				raw = strings.Replace(raw, "To: <sip:rado@10.10.10.1>", "To: <sip:nobody@10.10.10.1>", 1)
			}
			res, _ := reg.Serve(context.Background(), parseRequest(t, raw), fakeTx{})
			if res.StatusCode != tc.status || res.Reason != tc.reason {
				t.Fatalf("%d %s, want %d %s", res.StatusCode, res.Reason, tc.status, tc.reason)
			}
			if tc.status == 423 && header(res, "Min-Expires") != "60" {
				t.Fatal("no Min-Expires")
			}
		})
	}
}

// TestInjectedPeerInfo: a request over plain TCP on the OAuth port is a
// port mismatch; the peer comes from the injected function.
func TestInjectedPeerInfo(t *testing.T) {
	t.Parallel()
	reg, _ := unitRegistrar(t, false)
	res, r := reg.Serve(context.Background(), parseRequest(t, fmt.Sprintf(rawRegister, csfContact)), fakeTx{})
	if res.StatusCode != 403 || r.Reason != "not-tls" || r.Role != RoleOAuth || header(res, "Warning") != `399 UCM2-PUB "SIP OAuth Registration port Mismatch"` {
		t.Fatalf("%d %s %+v", res.StatusCode, r.Reason, res)
	}
}

func TestFileDevices(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "devices.json")
	os.WriteFile(path, []byte(`[{"name":"CSFrado","owner":"rado","oauth":true,"lines":["1234"]}]`), 0o644)
	d, err := OpenFileDevices(path)
	if err != nil {
		t.Fatal(err)
	}
	dev, ok, _ := d.Device(context.Background(), "CSFrado")
	if !ok || dev.Owner != "rado" || !dev.OAuth || dev.Lines[0] != "1234" {
		t.Fatalf("%+v %v", dev, ok)
	}
	for _, bad := range []string{`{`, `[{"owner":"x"}]`, `[{"name":"a"},{"name":"a"}]`,
		`[{"name":"a","owner":"x","oath":true}]`, `[{"name":"a","digest":{"pasword":"p"}}]`, `[{"name":"a"}] [{"name":"b"}]`} {
		os.WriteFile(path, []byte(bad), 0o644)
		if err := d.Reload(); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, ok, _ := d.Device(context.Background(), "CSFrado"); !ok || d.Len() != 1 {
		t.Fatalf("failed reload lost the devices (%d)", d.Len())
	}
	os.WriteFile(path, []byte(`[{"name":"a"},{"name":"b"},{"name":"c"}]`), 0o644)
	if err := d.Reload(); err != nil || d.Len() != 3 {
		t.Fatalf("reload: %v, %d devices", err, d.Len())
	}
}

// TestSourceLimiter is not parallel: it measures the heap, which is the
// whole process's.
func TestSourceLimiter(t *testing.T) {
	reg, iss := unitRegistrar(t, true)
	lim := &SourceLimiter{Rate: rate.Every(time.Hour), Burst: 2}
	reg.Admit = lim.Admit
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	statuses := []int{}
	for i := range 3 {
		raw := fmt.Sprintf(rawRegister, csfContact+"\nProxy-Authorization: Bearer token=\""+tok+"\"")
		raw = strings.Replace(raw, "CSeq: 2270", fmt.Sprintf("CSeq: %d", 2270+i), 1)
		res, _ := reg.Serve(context.Background(), parseRequest(t, raw), fakeTx{})
		statuses = append(statuses, res.StatusCode)
		if res.StatusCode == 503 && header(res, "Retry-After") != "5" {
			t.Fatal("503 without Retry-After")
		}
	}
	if fmt.Sprint(statuses) != "[200 200 503]" {
		t.Fatalf("statuses %v", statuses)
	}
	// The source stays limited: a REGISTER without credentials is refused
	// before any work.
	res, r := reg.Serve(context.Background(), parseRequest(t, fmt.Sprintf(rawRegister, csfContact)), fakeTx{})
	if res.StatusCode != 503 || r.Reason != sipauth.RateLimited || r.Reason.Class() != sipauth.ClassLimit {
		t.Fatalf("%d %q", res.StatusCode, r.Reason)
	}
}

// BenchmarkMemoryStoreBinding measures the memory of 100,000 bindings.
func BenchmarkMemoryStoreBinding(b *testing.B) {
	const n = 100000
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := NewMemoryStore()
		now := time.Now() // Count skips the bindings expired by the clock
		for i := range n {
			s.Update(context.Background(), fmt.Sprintf("sip:load%05d@10.10.10.1", i), Update{Now: now, CallID: fmt.Sprintf("%08x-12340017-00001c0b-00000cfa@10.10.10.10", i), CSeq: 2271,
				Changes: []Change{{Binding: Binding{Contact: fmt.Sprintf("sip:load%05d@10.10.10.10:62162;transport=tls", i),
					Params: fmt.Sprintf(`+sip.instance="<urn:uuid:00000000-0000-0000-0000-%012d>";+u.sip!devicename.ccm.cisco.com="CSFload%05d";+u.sip!model.ccm.cisco.com="503";video`, i, i),
					Device: fmt.Sprintf("CSFload%05d", i), User: fmt.Sprintf("load%05d", i), Source: "10.10.10.10:62162"}, Expires: 120 * time.Second}}})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / n
		b.ReportMetric(per, "bytes/binding")
		if s.Count() != n {
			b.Fatal(s.Count())
		}
		if per > 2048 {
			b.Fatalf("%.0f bytes per binding, over 2 KiB", per)
		}
	}
}

func TestMemoryStoreCountSkipsExpired(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore()
	now := time.Now()
	ctx := context.Background()
	if _, err := s.Update(ctx, "sip:old@x", Update{Now: now.Add(-2 * time.Minute), CallID: "a", CSeq: 1, Changes: []Change{applyChange("sip:old@1", time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "sip:new@x", Update{Now: now, CallID: "b", CSeq: 1, Changes: []Change{applyChange("sip:new@1", time.Minute), applyChange("sip:new@2", time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	if n := s.Count(); n != 2 {
		t.Fatalf("Count = %d, want 2 (one binding has expired)", n)
	}
}

// TestMemoryStoreKeepsNoRequestMemory registers, then refreshes, from
// requests parsed by package sipmsg, whose header values are parts of
// one string of the whole header section: no string the store keeps may
// point into it, or every binding would keep its request alive.
func TestMemoryStoreKeepsNoRequestMemory(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore()
	reg, iss := unitRegistrarStore(t, true, store)
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	for i, cseq := range []int{2270, 2271} {
		raw := strings.ReplaceAll(fmt.Sprintf(rawRegister, csfContact+"\nProxy-Authorization: Bearer token=\""+tok+"\""), "\n", "\r\n")
		raw = strings.Replace(raw, "CSeq: 2270", fmt.Sprintf("CSeq: %d", cseq), 1)
		m, err := sipmsg.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		req := m.(*sip.Request)
		// The method is the first bytes of the header section's string.
		base := uintptr(unsafe.Pointer(unsafe.StringData(string(req.Method))))
		end := base + uintptr(strings.Index(raw, "\r\n\r\n"))
		inside := func(s string) bool {
			p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
			return s != "" && p >= base && p < end
		}
		if !inside(req.CallID().Value()) {
			t.Fatal("the Call-ID is not part of the header section's string: the test cannot tell")
		}
		res, _ := reg.Serve(context.Background(), req, fakeTx{})
		if res.StatusCode != 200 {
			t.Fatalf("REGISTER %d: %d %s", i, res.StatusCode, res.Reason)
		}
		store.mu.Lock()
		n := 0
		for aor, bs := range store.aors {
			if inside(aor) {
				t.Errorf("REGISTER %d: the AOR key %q is part of the request", i, aor)
			}
			for _, b := range *bs {
				n++
				for name, s := range map[string]string{"Contact": b.Contact, "Params": b.Params, "Instance": b.Instance,
					"CallID": b.CallID, "Branch": b.Branch, "Device": b.Device, "User": b.User, "Source": b.Source} {
					if inside(s) {
						t.Errorf("REGISTER %d: the binding's %s %q is part of the request", i, name, s)
					}
				}
			}
		}
		store.mu.Unlock()
		if n != 1 {
			t.Fatalf("REGISTER %d: %d bindings, want 1", i, n)
		}
	}
}
