package siplimit

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/loopback"
)

// startUDP serves a real sipgo server on a UDP socket, behind a
// PacketConn with lim or (limited false) not.
func startUDP(t *testing.T, lim Limits, limited bool) (*net.UDPAddr, *sipServer, *PacketConn) {
	t.Helper()
	srv := newSIPServer(t)
	inner, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served, pc := inner, (*PacketConn)(nil)
	if limited {
		pc = NewPacketConn(inner, lim)
		served = pc
	}
	srv.serveUDP(t, served)
	return inner.LocalAddr().(*net.UDPAddr), srv, pc
}

// startUDPDual is startUDP on 127.0.0.1 and ::1 through one socket; it
// returns both addresses.
func startUDPDual(t *testing.T, lim Limits, limited bool) (addr4, addr6 *net.UDPAddr, srv *sipServer, pc *PacketConn) {
	t.Helper()
	loopback.Need6(t)
	srv = newSIPServer(t)
	inner, err := loopback.ListenUDP(0)
	if err != nil {
		t.Fatal(err)
	}
	var served net.PacketConn = inner
	if limited {
		pc = NewPacketConn(inner, lim)
		served = pc
	}
	srv.serveUDP(t, served)
	return inner.LocalAddr().(*net.UDPAddr), inner.LocalAddr6().(*net.UDPAddr), srv, pc
}

// udpClient is a UDP socket on from, 127.0.0.1 or ::1.
func udpClient(t *testing.T, from string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// exchange sends msg to addr, and again every 500 ms (T1) as a UDP
// client retransmits, until an answer with the same Call-ID arrives or
// tries run out.
func exchange(c *net.UDPConn, addr *net.UDPAddr, msg string, tries int) (string, error) {
	buf := make([]byte, 65536)
	callID := header(msg, "Call-ID")
	for range tries {
		if _, err := c.WriteTo([]byte(msg), addr); err != nil {
			return "", err
		}
		end := time.Now().Add(500 * time.Millisecond)
		for {
			_ = c.SetReadDeadline(end)
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				break
			}
			if res := string(buf[:n]); header(res, "Call-ID") == callID {
				return res, nil
			}
		}
	}
	return "", fmt.Errorf("no answer to %s", callID)
}

func udpRequest(callID, cl, body string) string {
	return strings.Replace(request("UDP", callID, cl, body), ";branch=", ";rport;branch=", 1)
}

// A REGISTER with an invalid Content-Length, one whose body is cut short,
// or one with a CSeq sipgo does not read (a number of 2**31 or more,
// letters, no method) gets 400 from the PacketConn, one over the size
// limit 513, with the request's Call-ID and CSeq; sipgo never sees them.
// Without the PacketConn, sipgo drops them silently. What sipgo reads
// passes either way: two CSeq headers, and none (sipgo answers 400).
func TestUDPRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cl, body, cseq, status string
		bySIPgo                      bool // sipgo answers, with or without the PacketConn
	}{
		{"negative", "-5", "", "", "SIP/2.0 400 Bad Request", false},
		{"letters", "1x", "", "", "SIP/2.0 400 Bad Request", false},
		{"body cut short", "50", "0123456789", "", "SIP/2.0 400 Bad Request", false},
		{"too large", "3000", strings.Repeat("x", 3000), "", "SIP/2.0 513 Message Too Large", false},
		{"CSeq 2**31", "0", "", "2147483648 REGISTER", "SIP/2.0 400 Bad Request", false},
		{"CSeq letters", "0", "", "abc REGISTER", "SIP/2.0 400 Bad Request", false},
		{"CSeq no method", "0", "", "7", "SIP/2.0 400 Bad Request", false},
		{"two CSeq", "0", "", "7 REGISTER\r\nCSeq: 7 REGISTER", "SIP/2.0 200 OK", true},
		{"no CSeq", "0", "", "-", "SIP/2.0 400 Bad Request", true},
	}
	for _, limited := range []bool{true, false} {
		addr, srv, pc := startUDP(t, Limits{MaxMessageSize: 2048}, limited)
		c := udpClient(t, "127.0.0.1")
		// The requests the plain socket must not answer are sent from a
		// socket of their own and waited for together, once, rather than
		// each for the two tries of exchange.
		unanswered, silent := map[string]bool{}, udpClient(t, "127.0.0.1")
		for _, tt := range tests {
			callID := fmt.Sprintf("udp-%s-%v", strings.ReplaceAll(tt.name, " ", "-"), limited)
			msg, cseq := udpRequest(callID, tt.cl, tt.body), "7 REGISTER"
			switch tt.cseq {
			case "":
			case "-":
				msg, cseq = strings.Replace(msg, "CSeq: 7 REGISTER\r\n", "", 1), ""
			default:
				msg, cseq = strings.Replace(msg, "CSeq: 7 REGISTER", "CSeq: "+tt.cseq, 1), tt.cseq
			}
			if !limited && !tt.bySIPgo && tt.name != "too large" {
				unanswered[callID] = true
				if _, err := silent.WriteTo([]byte(msg), addr); err != nil {
					t.Fatal(err)
				}
				continue
			}
			res, err := exchange(c, addr, msg, 2)
			if tt.bySIPgo {
				if err != nil || !strings.HasPrefix(res, tt.status+"\r\n") || !strings.Contains(res, "\r\nCall-ID: "+callID+"\r\n") {
					t.Fatalf("limited %v, %s: %q, %v", limited, tt.name, res, err)
				}
				continue
			}
			if !limited {
				continue // too large: sipgo's own limit is 65535
			}
			if err != nil || !strings.HasPrefix(res, tt.status+"\r\n") ||
				!strings.Contains(res, "\r\nCall-ID: "+callID+"\r\n") || !strings.Contains(res, "\r\nCSeq: "+cseq+"\r\n") ||
				!strings.Contains(header(res, "Via"), "rport="+fmt.Sprint(c.LocalAddr().(*net.UDPAddr).Port)) {
				t.Fatalf("%s: %q, %v", tt.name, res, err)
			}
		}
		if !limited {
			// As long as exchange's two tries give one request.
			buf := make([]byte, 65536)
			silent.SetReadDeadline(time.Now().Add(time.Second))
			for {
				n, _, err := silent.ReadFrom(buf)
				if err != nil {
					break
				}
				if res := string(buf[:n]); unanswered[header(res, "Call-ID")] {
					t.Fatalf("plain socket answered %q", res)
				}
			}
			if srv.parseErrors.Load() == 0 {
				t.Fatal("plain socket: sipgo did not see the malformed requests")
			}
			continue
		}
		// A valid one passes.
		if res, err := exchange(c, addr, udpRequest("udp-ok", "0", ""), 4); err != nil || statusLine(res) != "SIP/2.0 200 OK" {
			t.Fatalf("valid REGISTER: %q, %v", res, err)
		}
		// sipgo saw the valid REGISTER and the two CSeq one, and the one
		// without CSeq, which it answered itself; nothing else.
		s := pc.Stats()
		if srv.registers.Load() != 2 || srv.parseErrors.Load() != 0 || s.BadFraming != 6 || s.TooLarge != 1 || s.Answered != 7 || s.Admitted != 3 {
			t.Fatalf("sipgo saw %d (parse errors %d); stats %+v", srv.registers.Load(), srv.parseErrors.Load(), s)
		}
	}
}

// Junk and a REGISTER flood from many ports of 127.0.0.1 are dropped
// before sipgo parses them, while a registered client on ::1 keeps
// registering: the junk as not requests, the REGISTERs beyond the
// source's burst by its rate ("rate"). With the per-source rate off
// ("window"), the same flood reaches the window cap: the share of it
// left to unknown sources (45 of 60) and no more is admitted, and the
// quarter kept for known sources still lets the client on ::1 register.
// Without the PacketConn ("plain") sipgo parses all of it and creates a
// transaction for each REGISTER.
// Not parallel: what the rate and window caps admit depends on the
// flood's pace, which parallel load would change.
func TestUDPFlood(t *testing.T) {
	const burst, rate = 20, 20
	for _, run := range []struct {
		name    string
		limited bool
		lim     Limits
	}{
		{"rate", true, Limits{SourceRate: rate, SourceBurst: burst, MaxPerWindow: 60, Window: 5 * time.Second}},
		{"window", true, Limits{SourceRate: -1, MaxPerWindow: 60, Window: 5 * time.Second}},
		{"plain", false, Limits{}},
	} {
		t.Run(run.name, func(t *testing.T) {
			addr, addr6, srv, pc := startUDPDual(t, run.lim, run.limited)
			legit := udpClient(t, "::1")
			ok := 0
			register := func(i int) {
				res, err := exchange(legit, addr6, udpRequest(fmt.Sprintf("legit-%d", i), "0", ""), 4)
				if err == nil && statusLine(res) == "SIP/2.0 200 OK" {
					ok++
				}
			}
			register(0)

			// The flood, paced so that the socket's buffer drops little of
			// it: junk, then REGISTERs, each from many ports of 127.0.0.1.
			flood := func(sockets, each int, msg func(i int) string) {
				for s := range sockets {
					c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
					if err != nil {
						t.Error(err)
						return
					}
					for i := range each {
						_, _ = c.WriteTo([]byte(msg(s*each+i)), addr)
						if i%10 == 9 {
							time.Sleep(time.Millisecond)
						}
					}
					c.Close()
				}
			}
			junk := func(i int) string {
				return []string{"\x16\x03\x01junk", "GET / HTTP/1.1\r\n\r\n", "SIP/2.0 200 OK\r\nl: 0\r\n\r\n", "REGISTER\r\n\r\n", strings.Repeat("A", 900)}[i%5]
			}
			reg := func(i int) string { return udpRequest(fmt.Sprintf("flood-%d", i), "0", "") }
			var wg sync.WaitGroup
			var took time.Duration
			wg.Go(func() {
				flood(10, 200, junk)
				start := time.Now()
				flood(40, 15, reg)
				took = time.Since(start)
			})
			for i := 1; i <= 8; i++ {
				time.Sleep(60 * time.Millisecond)
				register(i)
			}
			wg.Wait()
			time.Sleep(200 * time.Millisecond)
			// Once more after the flood, when its REGISTERs fill the
			// window as far as they may.
			var during PacketStats
			if pc != nil {
				during = pc.Stats()
			}
			register(9)

			seen := srv.registers.Load()
			if !run.limited {
				// sipgo parsed the junk and took every REGISTER that
				// reached the socket, more than the whole window cap.
				if srv.parseErrors.Load() == 0 || seen <= 60 {
					t.Fatalf("plain: sipgo saw %d REGISTERs, %d parse errors", seen, srv.parseErrors.Load())
				}
				return
			}
			s, f := pc.Stats(), srv.flood.Load()
			t.Logf("legitimate client: %d of 10; sipgo saw %d REGISTERs, %d of the flood; stats %+v", ok, seen, f, s)
			if ok != 10 {
				t.Fatalf("the legitimate client registered %d times of 10", ok)
			}
			// sipgo saw nothing but what was admitted (less the legitimate
			// client's retransmissions, which its transactions absorb).
			if srv.parseErrors.Load() != 0 || uint64(seen) > s.Admitted {
				t.Fatalf("sipgo saw %d REGISTERs and %d parse errors; %d admitted", seen, srv.parseErrors.Load(), s.Admitted)
			}
			// The junk was dropped (the kernel drops some of the flood too
			// when the socket's buffer is full), and of the 600 REGISTERs
			// no more than the source's rate allows, or the unknown
			// sources' share of the window.
			if s.NotRequest < 1000 || f > 45 || s.Admitted > 60 {
				t.Fatalf("%d of the flood admitted; stats %+v", f, s)
			}
			switch run.name {
			case "rate":
				if max := burst + int64(rate*took.Seconds()) + 1; s.RateLimited == 0 || f > max {
					t.Fatalf("%d of the flood admitted in %v, at most %d allowed; stats %+v", f, took, max, s)
				}
			case "window":
				// The flood filled the unknown sources' share; the client's
				// last REGISTER was admitted beyond it, from the quarter
				// kept for known sources.
				if s.RateLimited != 0 || during.WindowFull == 0 || during.InWindow < 45 || s.Admitted <= during.Admitted {
					t.Fatalf("after the flood %+v; at the end %+v", during, s)
				}
			}
		})
	}
}
