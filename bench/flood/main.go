package main

import (
	"bufio"
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/loopback"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/sipoauth"
)

func main() {
	serveFlag := flag.Bool("serve", false, "run as the target (started by the flood itself)")
	port := flag.Int("port", 5080, "the target's UDP port, on 127.0.0.1 and ::1")
	limit := flag.String("limit", "both", "measure the target with siplimit (on), without (off), or both")
	sourceRate := flag.String("source-rate", "on", "with siplimit, the per-source rate limit (on, the default) or none (off): the flood then reaches the window cap")
	junk := flag.Int("junk", 1380000, "junk datagrams to send")
	junkTime := flag.Duration("junk-time", 30*time.Second, "over this long")
	registers := flag.Int("registers", 100000, "valid-looking REGISTERs to send")
	registerRate := flag.Int("register-rate", 10000, "REGISTERs per second")
	perSocket := flag.Int("per-socket", 10, "datagrams sent from one source port before the next")
	settle := flag.Duration("settle", 5*time.Second, "pause after each phase")
	targetLog := flag.String("target-log", os.DevNull, "file for the target's log")
	flag.Parse()

	if *sourceRate != "on" && *sourceRate != "off" {
		fmt.Fprintln(os.Stderr, "-source-rate: want on or off")
		os.Exit(2)
	}
	if *serveFlag {
		if err := serve(*port, *limit == "on", *sourceRate == "on"); err != nil {
			fmt.Fprintln(os.Stderr, "flood -serve:", err)
			os.Exit(1)
		}
		return
	}
	var modes []bool
	switch *limit {
	case "both":
		modes = []bool{false, true}
	case "on":
		modes = []bool{true}
	case "off":
		modes = []bool{false}
	default:
		fmt.Fprintln(os.Stderr, "-limit: want on, off or both")
		os.Exit(2)
	}
	cfg := floodConfig{port: *port, sourceRate: *sourceRate == "on", junk: *junk, junkTime: *junkTime, registers: *registers,
		registerRate: *registerRate, perSocket: max(1, *perSocket), settle: *settle, targetLog: *targetLog}
	var results []result
	for _, on := range modes {
		r, err := measure(cfg, on)
		if err != nil {
			fmt.Fprintln(os.Stderr, "flood:", err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	fmt.Printf("\nflood: %d junk datagrams in %v, %d REGISTERs at %d/s, from 127.0.0.1, %d datagrams per source port; legitimate client on ::1\n",
		cfg.junk, cfg.junkTime, cfg.registers, cfg.registerRate, cfg.perSocket)
	for _, r := range results {
		r.print()
	}
}

// ---- the target ----

// serve runs the registrar on UDP port on 127.0.0.1 and ::1 until
// SIGTERM, printing "ready <token>" with a token for the legitimate
// client's device, and with limit the PacketConn's counts every two
// seconds; sourceRate false turns its per-source rate off.
func serve(port int, limit, sourceRate bool) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	sip.SetDefaultLogger(log)
	iss, err := issuer.New(issuer.Config{Issuer: "https://flood.invalid", Nested: true})
	if err != nil {
		return err
	}
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	if err != nil {
		return err
	}
	kid, key := iss.EncryptionKey()
	dec, err := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	if err != nil {
		return err
	}
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec})
	if err != nil {
		return err
	}
	devices := registrar.MemoryDevices{"CSFlegit": {Name: "CSFlegit", Owner: "legit", OAuth: true}}
	for i := range 10000 {
		name := fmt.Sprintf("CSFload%05d", i)
		devices[name] = registrar.Device{Name: name, Owner: fmt.Sprintf("load%05d", i), OAuth: true}
	}
	reg, err := registrar.New(registrar.Config{
		NodeName: "FLOOD", Devices: devices, Validator: v,
		Ports:                 registrar.Ports{port: registrar.RoleOAuth},
		PlaintextForLoadTests: true,
		Logger:                log,
	})
	if err != nil {
		return err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("FLOOD"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		return err
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		return err
	}
	srv.OnRegister(reg.HandleRegister)

	inner, err := loopback.ListenUDP(port)
	if err != nil {
		if loopback.Available() != nil {
			return fmt.Errorf("listening on ::1, for the legitimate client: %w", err)
		}
		return err
	}
	var served net.PacketConn = inner
	if limit {
		var lim siplimit.Limits
		if !sourceRate {
			lim.SourceRate = -1
		}
		pc := siplimit.NewPacketConn(inner, lim, siplimit.WithLogger(log))
		served = pc
		go func() {
			for range time.Tick(2 * time.Second) {
				fmt.Printf("stats %+v\n", pc.Stats())
			}
		}()
	}
	token, err := iss.Mint(issuer.TokenRequest{User: "legit", Device: "CSFlegit", TTL: 2 * time.Hour})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); served.Close() }()
	fmt.Printf("ready %s\n", token)
	_ = srv.ServeUDP(served)
	return nil
}

// ---- the flood ----

type floodConfig struct {
	port                    int
	sourceRate              bool // with siplimit: the per-source rate on
	junk                    int
	junkTime                time.Duration
	registers, registerRate int
	perSocket               int
	settle                  time.Duration
	targetLog               string
}

// phase is one stretch of the measurement.
type phase struct {
	name               string
	rssBefore, rssPeak int64 // kB
	rssAfter, hwmAfter int64
	ok, tried          int64 // the legitimate client's registrations
	sent               int
	took               time.Duration
}

type result struct {
	limited    bool
	sourceRate bool
	phases     []*phase
	stats      string // the PacketConn's last counts
}

func (r result) print() {
	name := "without siplimit"
	switch {
	case r.limited && r.sourceRate:
		name = "with siplimit.PacketConn (default limits)"
	case r.limited:
		name = "with siplimit.PacketConn (default limits, per-source rate off)"
	}
	fmt.Printf("\n%s\n", name)
	fmt.Printf("  %-10s %10s %12s %14s %12s %12s %14s\n", "phase", "sent", "took", "RSS before", "RSS peak", "RSS after", "legit 200/try")
	for _, p := range r.phases {
		fmt.Printf("  %-10s %10d %12v %11d MB %9d MB %9d MB %10d/%d\n", p.name, p.sent, p.took.Round(100*time.Millisecond),
			p.rssBefore/1024, p.rssPeak/1024, p.rssAfter/1024, p.ok, p.tried)
	}
	last := r.phases[len(r.phases)-1]
	fmt.Printf("  peak RSS over the run (VmHWM): %d MB\n", last.hwmAfter/1024)
	if r.stats != "" {
		fmt.Printf("  %s\n", r.stats)
	}
}

func measure(cfg floodConfig, limited bool) (result, error) {
	res := result{limited: limited, sourceRate: cfg.sourceRate}
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	logf, err := os.OpenFile(cfg.targetLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return res, err
	}
	defer logf.Close()
	onOff := map[bool]string{true: "on", false: "off"}[limited]
	rateOnOff := map[bool]string{true: "on", false: "off"}[cfg.sourceRate]
	cmd := exec.Command(self, "-serve", "-port", strconv.Itoa(cfg.port), "-limit", onOff, "-source-rate", rateOnOff)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 64<<10), 64<<10)
	var token string
	for lines.Scan() {
		if t, ok := strings.CutPrefix(lines.Text(), "ready "); ok {
			token = t
			break
		}
	}
	if token == "" {
		return res, errors.New("the target did not start; see -target-log")
	}
	var stats atomic.Value
	stats.Store("")
	go func() {
		for lines.Scan() {
			// The target prints its counts every two seconds.
			if s, ok := strings.CutPrefix(lines.Text(), "stats "); ok {
				stats.Store("siplimit: " + s)
			}
		}
	}()
	pid := cmd.Process.Pid
	target := net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(cfg.port)))
	target6 := net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv6Loopback(), uint16(cfg.port)))
	what := "without siplimit"
	if limited {
		what = "with siplimit, per-source rate " + rateOnOff
	}
	fmt.Fprintf(os.Stderr, "target %d (%s) on %s and %s\n", pid, what, target, target6)

	// The memory sampler and the legitimate client run through all phases.
	var cur atomic.Pointer[phase]
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		every(done, 100*time.Millisecond, func() {
			rss, _ := memory(pid)
			mu.Lock()
			if p := cur.Load(); p != nil && rss > p.rssPeak {
				p.rssPeak = rss
			}
			mu.Unlock()
		})
	})
	legit, err := newLegit(target6, token)
	if err != nil {
		return res, err
	}
	defer legit.Close()
	wg.Go(func() {
		every(done, time.Second, func() {
			ok := legit.register()
			mu.Lock()
			p := cur.Load() // the phase the answer came in
			p.tried++
			if ok {
				p.ok++
			}
			mu.Unlock()
		})
	})

	run := func(name string, send func() int) {
		p := &phase{name: name}
		p.rssBefore, _ = memory(pid)
		p.rssPeak = p.rssBefore
		cur.Store(p)
		start := time.Now()
		p.sent = send()
		p.took = time.Since(start)
		time.Sleep(cfg.settle)
		mu.Lock()
		p.rssAfter, p.hwmAfter = memory(pid)
		cur.Store(&phase{name: "between"}) // the next phase counts from its start
		fmt.Fprintf(os.Stderr, "  %s: sent %d in %v; RSS %d -> peak %d -> %d MB; legit %d/%d\n", name, p.sent,
			p.took.Round(time.Millisecond), p.rssBefore/1024, p.rssPeak/1024, p.rssAfter/1024, p.ok, p.tried)
		mu.Unlock()
		res.phases = append(res.phases, p)
	}
	run("idle", func() int { time.Sleep(3 * time.Second); return 0 })
	run("junk", func() int { return flood(cfg, target, cfg.junk, cfg.junkTime, junkDatagram) })
	run("registers", func() int {
		d := time.Duration(float64(cfg.registers) / float64(cfg.registerRate) * float64(time.Second))
		return flood(cfg, target, cfg.registers, d, registerDatagram(target))
	})
	// sipgo ends a UDP server transaction 32 s after its answer.
	run("expiry", func() int { time.Sleep(35 * time.Second); return 0 })
	close(done)
	wg.Wait()
	res.stats = stats.Load().(string)
	return res, nil
}

// memory reads VmRSS and VmHWM, in kB, from /proc/<pid>/status.
func memory(pid int) (rss, hwm int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}

// flood sends n datagrams made by msg, evenly over d, from 127.0.0.1,
// moving to a fresh socket (a new source port) every cfg.perSocket
// datagrams. It returns how many it sent.
func flood(cfg floodConfig, to *net.UDPAddr, n int, d time.Duration, msg func(i int, from netip.AddrPort) []byte) int {
	const workers = 4
	var sent atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	dst := to.AddrPort()
	for w := range workers {
		wg.Go(func() {
			var c *net.UDPConn
			var from netip.AddrPort
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for i := w; i < n; i += workers {
				if (i/workers)%cfg.perSocket == 0 || c == nil {
					if c != nil {
						c.Close()
					}
					var err error
					if c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
						fmt.Fprintln(os.Stderr, "flood:", err)
						return
					}
					from = c.LocalAddr().(*net.UDPAddr).AddrPort()
				}
				if _, err := c.WriteToUDPAddrPort(msg(i, from), dst); err == nil {
					sent.Add(1)
				}
				// Keep to the schedule: datagram i is due at i/n of d.
				if due := start.Add(time.Duration(float64(d) * float64(i) / float64(n))); time.Until(due) > time.Millisecond {
					time.Sleep(time.Until(due))
				}
			}
		})
	}
	wg.Wait()
	return int(sent.Load())
}

var junkKinds = [][]byte{
	[]byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not SIP at all"),
	[]byte("GET / HTTP/1.1\r\nHost: flood\r\n\r\n"),
	[]byte("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
	[]byte("REGISTER\r\nVia: nonsense\r\n\r\n"),
	[]byte(strings.Repeat("A", 500)),
}

func junkDatagram(i int, _ netip.AddrPort) []byte { return junkKinds[i%len(junkKinds)] }

// registerDatagram makes Jabber-shaped REGISTERs for the bench devices
// with a token no one issued.
func registerDatagram(to *net.UDPAddr) func(int, netip.AddrPort) []byte {
	return func(i int, from netip.AddrPort) []byte {
		dev := i % 10000
		return fmt.Appendf(nil, "REGISTER sip:%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-flood-%d\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:load%05d@%s>;tag=flood%d\r\n"+
			"To: <sip:load%05d@%s>\r\n"+
			"Call-ID: flood-%d@%s\r\n"+
			"CSeq: 1 REGISTER\r\n"+
			"Contact: <sip:load%05d@%s;transport=udp>;+u.sip!devicename.ccm.cisco.com=\"CSFload%05d\";+u.sip!model.ccm.cisco.com=\"503\"\r\n"+
			"Expires: 3600\r\n"+
			"User-Agent: Cisco-CSF\r\n"+
			"Proxy-Authorization: Bearer token=\"eyJhbGciOiJSUzI1NiIsImtpZCI6ImZsb29kIn0.eyJzdWIiOiJmbG9vZCJ9.%040d\"\r\n"+
			"Content-Length: 0\r\n\r\n",
			to.IP, from, i, dev, to.IP, i, dev, to.IP, i, from.Addr(), dev, from, dev, i)
	}
}

// legit is the legitimate client: a phone on ::1 that registers with a
// valid token, retransmitting after 500 ms as UDP clients do.
type legit struct {
	c     *net.UDPConn
	to    *net.UDPAddr
	token string
	cseq  int
	buf   []byte
}

func newLegit(to *net.UDPAddr, token string) (*legit, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		return nil, fmt.Errorf("the legitimate client needs ::1: %w", err)
	}
	return &legit{c: c, to: to, token: token, buf: make([]byte, 65536)}, nil
}

func (l *legit) Close() error { return l.c.Close() }

// register sends one REGISTER and reports whether 200 came back within
// two seconds.
func (l *legit) register() bool {
	l.cseq++
	from := l.c.LocalAddr().String()
	host := "[" + l.to.IP.String() + "]"
	msg := fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-legit-%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:legit@%s>;tag=legit\r\n"+
		"To: <sip:legit@%s>\r\n"+
		"Call-ID: legit@[::1]\r\n"+
		"CSeq: %d REGISTER\r\n"+
		"Contact: <sip:legit@%s;transport=udp>;+u.sip!devicename.ccm.cisco.com=\"CSFlegit\";+u.sip!model.ccm.cisco.com=\"503\"\r\n"+
		"Expires: 3600\r\n"+
		"User-Agent: Cisco-CSF\r\n"+
		"Proxy-Authorization: Bearer token=\"%s\"\r\n"+
		"Content-Length: 0\r\n\r\n", host, from, l.cseq, host, host, l.cseq, from, l.token)
	want := fmt.Sprintf("CSeq: %d REGISTER", l.cseq)
	end := time.Now().Add(2 * time.Second)
	for time.Now().Before(end) {
		if _, err := l.c.WriteToUDP([]byte(msg), l.to); err != nil {
			return false
		}
		_ = l.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for {
			n, _, err := l.c.ReadFromUDP(l.buf)
			if err != nil {
				break
			}
			res := string(l.buf[:n])
			if !strings.Contains(res, want) {
				continue // an answer to an earlier attempt
			}
			if strings.HasPrefix(res, "SIP/2.0 200 ") {
				return true
			}
			if !strings.HasPrefix(res, "SIP/2.0 1") {
				return false
			}
		}
	}
	return false
}

var _ io.Closer = (*legit)(nil)

// every calls f every d until done is closed.
func every(done <-chan struct{}, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		f()
	}
}
