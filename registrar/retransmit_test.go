package registrar

import (
	"errors"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

// TestApplyRetransmission: the Call-ID, CSeq and branch of the request
// that wrote a binding leave it as it is; the same CSeq without a branch
// or with another is out of order, as RFC 3261 §10.3 step 7 says.
func TestApplyRetransmission(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_800_000_000, 0)
	first := Update{Now: t0, CallID: "c1", CSeq: 5, Branch: "z9hG4bK5", Device: "CSFrado",
		Changes: []Change{applyChange("sip:a@1", time.Hour), applyChange("sip:b@2", time.Hour)}}
	r, err := Apply(nil, first)
	if err != nil || len(r.Bindings) != 2 || r.Bindings[0].Branch != "z9hG4bK5" || r.Bindings[1].Branch != "z9hG4bK5" {
		t.Fatalf("first: %+v, %v", r, err)
	}
	bs := r.Bindings

	again := first
	again.Now = t0.Add(4 * time.Second)
	r, err = Apply(bs, again)
	if err != nil {
		t.Fatalf("retransmission: %v", err)
	}
	if len(r.Bindings) != 2 || !reflect.DeepEqual(r.Bindings[0], bs[0]) || !reflect.DeepEqual(r.Bindings[1], bs[1]) || len(r.New) != 0 {
		t.Fatalf("retransmission changed the bindings: %+v, New %v; want %+v", r.Bindings, r.New, bs)
	}

	// A retransmission of a removal finds nothing left to remove.
	remove := Update{Now: t0.Add(time.Second), CallID: "c1", CSeq: 6, Branch: "z9hG4bK6", Device: "CSFrado",
		Changes: []Change{applyChange("sip:b@2", 0)}}
	r, err = Apply(bs, remove)
	if err != nil || len(r.Bindings) != 1 {
		t.Fatalf("removal: %+v, %v", r, err)
	}
	after := r.Bindings
	if r, err = Apply(after, remove); err != nil || len(r.Bindings) != 1 || !reflect.DeepEqual(r.Bindings[0], after[0]) {
		t.Fatalf("retransmitted removal: %+v, %v", r, err)
	}

	for name, u := range map[string]Update{
		"another branch":            {Now: again.Now, CallID: "c1", CSeq: 5, Branch: "z9hG4bK5x", Device: "CSFrado", Changes: first.Changes},
		"no branch":                 {Now: again.Now, CallID: "c1", CSeq: 5, Device: "CSFrado", Changes: first.Changes},
		"a lower CSeq, same branch": {Now: again.Now, CallID: "c1", CSeq: 4, Branch: "z9hG4bK5", Device: "CSFrado", Changes: first.Changes},
	} {
		if _, err := Apply(bs, u); !errors.Is(err, ErrOutOfOrder) {
			t.Errorf("%s: err = %v, want ErrOutOfOrder", name, err)
		}
	}
	// A binding of another device written with the same Call-ID, CSeq and
	// branch is not this device's: its own contact is new.
	other := again
	other.Device = "CSFother"
	r, err = Apply(bs, other)
	if err != nil || len(r.Bindings) != 4 || len(r.New) != 2 {
		t.Fatalf("another device: %+v, %v", r, err)
	}
}

// TestUDPRetransmissionWithoutKeptAnswer: over UDP, a server that no
// longer holds the answer to a REGISTER (package sipserve keeps them
// within a bound; this one keeps none) answers its retransmission 200
// again, with the binding as the first request left it, where it used to
// answer 500 out of order. Another transaction with the same CSeq is
// still refused, and so is a resent request of an RFC 2543 client, whose
// branch names no transaction.
func TestUDPRetransmissionWithoutKeptAnswer(t *testing.T) {
	t.Parallel()
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := sipoauth.New(sipoauth.Config{Keys: mustKeys(t, iss)})
	tok, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	store := NewMemoryStore()
	reg, err := New(Config{NodeName: node, Devices: MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Validator: v, Store: store, PlaintextForLoadTests: true,
		Ports:  Ports{pc.LocalAddr().(*net.UDPAddr).Port: RoleOAuth},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &sipserve.Server{Handler: sipserve.Methods{sip.REGISTER: reg}, RetransmitBytes: -1}
	go srv.ServeUDP(pc)
	t.Cleanup(func() { srv.Close() })

	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	contact := `<sip:rado@` + local + `>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-00000000000a>";+u.sip!devicename.ccm.cisco.com="CSFrado"`
	register := func(branch, cseq string) string {
		return wireRegister{From: "rado", Token: tok, Vias: []string{"SIP/2.0/UDP " + local + ";branch=" + branch},
			CSeq: cseq + " REGISTER", CallID: "retransmit@127.0.0.1", Expires: "120", Contact: contact}.String()
	}
	buf := make([]byte, 65535)
	exchange := func(raw string) *sip.Response {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no answer over UDP: %v", err)
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		return msg.(*sip.Response)
	}
	binding := func() Binding {
		t.Helper()
		bs, _ := store.Lookup(t.Context(), "rado")
		if len(bs) != 1 {
			t.Fatalf("%d bindings, want 1", len(bs))
		}
		return bs[0]
	}

	req := register("z9hG4bKfirst7", "7")
	res := exchange(req)
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	wrote := binding()
	if wrote.CSeq != 7 || wrote.Branch != "z9hG4bKfirst7" {
		t.Fatalf("binding %+v, want CSeq 7 and branch z9hG4bKfirst7", wrote)
	}

	res = exchange(req)
	if res.StatusCode != 200 {
		t.Fatalf("retransmission: %d %s, want 200", res.StatusCode, res.Reason)
	}
	cs := contactsOfResponse(res)
	if len(cs) != 1 || !strings.HasPrefix(cs[0], "<sip:rado@"+local+">") || !strings.Contains(cs[0], ";expires=") {
		t.Errorf("retransmission's contacts = %q", cs)
	}
	if got := binding(); !reflect.DeepEqual(got, wrote) {
		t.Errorf("the retransmission changed the binding: %+v, want %+v", got, wrote)
	}

	res = exchange(register("z9hG4bKsecond7", "7"))
	if res.StatusCode != 500 || !strings.Contains(res.Reason, "out of order") {
		t.Errorf("same CSeq, another transaction: %d %s, want 500 out of order", res.StatusCode, res.Reason)
	}

	old := register("rfc2543-8", "8")
	if res = exchange(old); res.StatusCode != 200 {
		t.Fatalf("RFC 2543 client's REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	if got := binding(); got.CSeq != 8 || got.Branch != "" {
		t.Errorf("binding %+v, want CSeq 8 and no branch", got)
	}
	if res = exchange(old); res.StatusCode != 500 {
		t.Errorf("RFC 2543 client's resent REGISTER: %d %s, want 500", res.StatusCode, res.Reason)
	}
}
