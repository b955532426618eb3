package sipserve

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func parseReq(t testing.TB, s string) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}

// TestTxCacheExpiry: an answer is resent until its time is up; then the
// request is new again.
func TestTxCacheExpiry(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newTxCache(1<<20, TimerJ)
	c.now = func() time.Time { return now }
	if v, _ := c.begin("k", "127.0.0.1:5062"); v != handleIt {
		t.Fatalf("first: %v", v)
	}
	if v, _ := c.begin("k", "127.0.0.1:5062"); v != absorb {
		t.Fatalf("while handled: %v", v)
	}
	c.finish("k", []byte("answer"))
	now = now.Add(TimerJ - time.Millisecond)
	if v, a := c.begin("k", "127.0.0.1:5062"); v != resend || string(a) != "answer" {
		t.Fatalf("before Timer J: %v %q", v, a)
	}
	now = now.Add(time.Millisecond)
	if v, _ := c.begin("k", "127.0.0.1:5062"); v != handleIt {
		t.Fatalf("at Timer J: %v", v)
	}
	c.finish("k", []byte("second"))
	// The expired entry leaves the queue when a later answer pushes it out.
	now = now.Add(time.Second)
	c.begin("k2", "127.0.0.1:5062")
	c.finish("k2", []byte("x"))
	if n, _ := c.size(); n != 2 {
		t.Fatalf("%d answers kept, want 2 (the expired one gone)", n)
	}
	if v, a := c.begin("k", "127.0.0.1:5062"); v != resend || string(a) != "second" {
		t.Fatalf("after the second answer: %v %q", v, a)
	}
}

// TestTxCacheAbandon: a request answered with nothing is forgotten; an
// answer bigger than the bound is not kept.
func TestTxCacheAbandon(t *testing.T) {
	c := newTxCache(300, TimerJ)
	c.begin("ack", "127.0.0.1:5062")
	c.abandon("ack")
	if v, _ := c.begin("ack", "127.0.0.1:5062"); v != handleIt {
		t.Fatalf("after abandon: %v", v)
	}
	c.begin("big", "127.0.0.1:5062")
	c.finish("big", make([]byte, 400))
	if v, _ := c.begin("big", "127.0.0.1:5062"); v != handleIt {
		t.Fatalf("oversized answer kept: %v", v)
	}
	if n, b := c.size(); n != 0 || b != 0 {
		t.Fatalf("size %d, %d bytes", n, b)
	}
	if len(c.m) != 2 {
		t.Fatalf("%d keys, want the two being handled", len(c.m))
	}
}

// TestTxCacheQueueReclaimed: a long run keeps the queue's slice within a
// small multiple of what it holds.
func TestTxCacheQueueReclaimed(t *testing.T) {
	c := newTxCache(100*(entryOverhead+20), TimerJ)
	for i := range 100000 {
		k := fmt.Sprintf("key-%d", i)
		c.begin(k, "127.0.0.1:5062")
		c.finish(k, []byte("answer-of-ten"))
	}
	n, b := c.size()
	if n > 100 || b > 100*(entryOverhead+20) || len(c.m) != n {
		t.Fatalf("%d kept (%d bytes), %d keys", n, b, len(c.m))
	}
	if cap(c.queue) > 4096 {
		t.Fatalf("queue slice of %d for %d entries", cap(c.queue), n)
	}
}

// TestTxKey: RFC 3261 §17.2.3 keys: branch, sent-by and method; RFC 2543
// requests by their dialog and CSeq.
func TestTxKey(t *testing.T) {
	base := register("z9hG4bK-k1", 1)
	key := func(s string) string {
		k, ok := txKey(parseReq(t, s))
		if !ok {
			t.Fatalf("no key for\n%s", s)
		}
		return k
	}
	k := key(base)
	same := []string{
		strings.Replace(base, "Max-Forwards: 70", "Max-Forwards: 69", 1),
		strings.Replace(base, "Contact: <sip:rado@127.0.0.1:5062>", "Contact: <sip:rado@127.0.0.1:5099>", 1),
	}
	for _, s := range same {
		if key(s) != k {
			t.Errorf("key changed by a header outside the key:\n%s", s)
		}
	}
	differ := []string{
		register("z9hG4bK-k2", 1),
		strings.Replace(base, "127.0.0.1:5062;branch", "127.0.0.1:5063;branch", 1),
		strings.NewReplacer("REGISTER sip:", "OPTIONS sip:", "1 REGISTER", "1 OPTIONS").Replace(base),
	}
	for _, s := range differ {
		if key(s) == k {
			t.Errorf("same key for another transaction:\n%s", s)
		}
	}
	old := strings.Replace(base, "branch=z9hG4bK-k1", "branch=1234", 1)
	ko := key(old)
	if !strings.HasPrefix(ko, "2543\x00") || key(strings.Replace(old, "CSeq: 1 ", "CSeq: 2 ", 1)) == ko {
		t.Errorf("RFC 2543 key %q", ko)
	}
	if _, ok := txKey(parseReq(t, strings.Replace(base, "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-k1;rport\r\n", "", 1))); ok {
		t.Error("a key for a request without Via")
	}
}

// discard is a PacketConn that drops what is written and counts it.
type discard struct {
	net.PacketConn
	writes int
}

func (d *discard) WriteTo(b []byte, _ net.Addr) (int, error) { d.writes++; return len(b), nil }
func (d *discard) LocalAddr() net.Addr                       { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060} }

// FuzzDatagram: any datagram is parsed, refused or answered without a
// panic, and the cache stays within its bound.
func FuzzDatagram(f *testing.F) {
	f.Add([]byte(register("z9hG4bK-f1", 1)))
	f.Add([]byte(strings.Replace(register("z9hG4bK-f1", 1), "branch=z9hG4bK-f1", "branch=7", 1)))
	f.Add([]byte("ACK sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-a\r\nCSeq: 1 ACK\r\nCall-ID: c\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-a\r\nCSeq: 1 REGISTER\r\n\r\n"))
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte("REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:5060;branch=z9hG4bK\r\nCSeq: 99999999999 REGISTER\r\n\r\n"))
	const bound = 2048
	s := &Server{Handler: &counting{}, RetransmitBytes: bound}
	if err := s.start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	pc := &discard{}
	cache := s.udpCache()
	u := &udpSocket{pc: pc, cache: cache, readers: 2}
	from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5062}
	f.Fuzz(func(t *testing.T, d []byte) {
		if len(d) > maxDatagram {
			return
		}
		s.datagram(u, d, from, &Peer{Local: pc.LocalAddr()})
		if _, b := cache.size(); b > bound {
			t.Fatalf("cache at %d bytes, bound %d", b, bound)
		}
	})
}

// TestTxCacheLargeAnswer: an answer over maxKeptAnswer is not kept.
func TestTxCacheLargeAnswer(t *testing.T) {
	c := newTxCache(1<<20, TimerJ)
	c.begin("big", "s")
	c.finish("big", make([]byte, maxKeptAnswer+1))
	if n, b := c.size(); n != 0 || b != 0 {
		t.Fatalf("kept %d answers, %d bytes", n, b)
	}
	if v, _ := c.begin("big", "s"); v != handleIt {
		t.Fatalf("after a large answer: %v", v)
	}
}
