package main

import (
	"bufio"
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/loaddevices"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

func main() {
	mode := flag.String("mode", "registrar", "registrar (OAuth pipeline) or bare (407, then 200 OK to any credentials)")
	listen := flag.String("listen", "127.0.0.1:5070", "address to serve on")
	transport := flag.String("transport", "udp", "udp or tcp")
	devices := flag.Int("devices", 10000, "number of devices (CSFload%05d owned by load%05d)")
	csvPath := flag.String("csv", "bench/out/devices.csv", "SIPp injection file to write")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the serving phase to this file on exit")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)
	sip.SetDefaultLogger(logger)

	if err := run(*mode, *listen, *transport, *devices, *csvPath, *cpuProfile, logger); err != nil {
		fmt.Fprintln(os.Stderr, "registrar:", err)
		os.Exit(1)
	}
}

func run(mode, listen, transport string, n int, csvPath, cpuProfile string, logger *slog.Logger) error {
	if transport != "udp" && transport != "tcp" {
		return fmt.Errorf("-transport %q: want udp or tcp", transport)
	}
	if mode != "registrar" && mode != "bare" {
		return fmt.Errorf("-mode %q: want registrar or bare", mode)
	}
	if n < 1 {
		return errors.New("-devices must be at least 1")
	}
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}

	iss, err := issuer.New(issuer.Config{Issuer: "https://bench.invalid", Nested: true})
	if err != nil {
		return err
	}
	if err := writeCSV(csvPath, iss, n); err != nil {
		return err
	}

	var counts statusCounts
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	var startCPU time.Duration
	var startWall time.Time
	ready := func() {
		startCPU, startWall = cpuTime(), time.Now()
		fmt.Println("ready")
	}
	switch mode {
	case "registrar":
		reg, err := newRegistrar(iss, n, ap, logger)
		if err != nil {
			return err
		}
		reg.Observer = registrar.ObserverFunc(func(_ *registrar.Request, status int, _ time.Duration) { counts.add(status) })
		err = serveRegistrar(ctx, reg, transport, listen, logger, ready)
		if ctx.Err() == nil {
			return fmt.Errorf("serve: %w", err)
		}
	case "bare":
		err := serveBare(ctx, transport, listen, logger, &counts, ready)
		if ctx.Err() == nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	wall := time.Since(startWall)
	fmt.Fprintf(os.Stderr, "%s: answered %s; CPU %.2f s over %.1f s serving (%.2f cores)\n",
		mode, counts.String(), (cpuTime() - startCPU).Seconds(), wall.Seconds(), (cpuTime()-startCPU).Seconds()/wall.Seconds())
	return nil
}

// serveRegistrar serves reg on the SIP server of package sipserve until
// ctx ends.
func serveRegistrar(ctx context.Context, reg *registrar.Registrar, transport, listen string, logger *slog.Logger, ready func()) error {
	srv := &sipserve.Server{Handler: sipserve.Methods{sip.REGISTER: reg}, Keep: sipserve.SuccessfulRegister, Logger: logger}
	errc := make(chan error, 1)
	if transport == "udp" {
		pc, err := listenUDP(listen)
		if err != nil {
			return err
		}
		go func() { errc <- srv.ServeUDP(pc) }()
	} else {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return err
		}
		go func() { errc <- srv.ServeStream(ln) }()
	}
	ready()
	select {
	case <-ctx.Done():
		srv.Close()
		return <-errc
	case err := <-errc:
		srv.Close()
		return err
	}
}

// serveBare serves the bare sipgo handler until ctx ends: 407 without
// credentials, 200 OK with any.
func serveBare(ctx context.Context, transport, listen string, logger *slog.Logger, counts *statusCounts, ready func()) error {
	challenge := bearer.CiscoChallenge().String()
	handler := func(req *sip.Request, tx sip.ServerTransaction) {
		var res *sip.Response
		if req.GetHeader("Proxy-Authorization") == nil {
			res = sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", challenge))
		} else {
			res = sip.NewResponseFromRequest(req, 200, "OK", nil)
			if c := req.Contact(); c != nil {
				res.AppendHeader(c.Clone())
			}
			res.AppendHeader(sip.NewHeader("Expires", "120"))
		}
		if err := tx.Respond(res); err != nil {
			logger.Warn("bare: respond", "error", err)
		}
		counts.add(res.StatusCode)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("BENCH"))
	if err != nil {
		return err
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(logger))
	if err != nil {
		return err
	}
	srv.OnRegister(handler)
	if transport == "udp" {
		// The same socket buffer as the registrar's.
		pc, err := listenUDP(listen)
		if err != nil {
			return err
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.ServeUDP(pc) }()
		ready()
		select {
		case <-ctx.Done():
			pc.Close()
			<-errc
			return ctx.Err()
		case err := <-errc:
			return err
		}
	}
	readyHook := sipgo.ListenReadyFuncCtxValue(func(string, string) { ready() })
	//lint:ignore SA1029 sipgo looks its readiness hook up by this string key.
	serveCtx := context.WithValue(ctx, sipgo.ListenReadyCtxKey, readyHook)
	return srv.ListenAndServe(serveCtx, transport, listen)
}

// listenUDP binds a UDP socket with the receive buffer the standalone
// registrar asks for by default, for the registrar and the bare handler
// alike: with the kernel's default (208 KiB here) a storm of first
// registrations overflows it, and each datagram lost is a retransmission
// 500 ms later, which the rate then measures more than the server.
func listenUDP(listen string) (net.PacketConn, error) {
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		return nil, err
	}
	if err := pc.(*net.UDPConn).SetReadBuffer(sipserve.DefaultUDPReceiveBuffer); err != nil {
		pc.Close()
		return nil, err
	}
	return pc, nil
}

// newRegistrar builds the registrar: devices CSFload%05d owned by
// load%05d, a validator trusting issuer, the listen port as the OAuth port.
func newRegistrar(iss *issuer.Issuer, n int, ap netip.AddrPort, logger *slog.Logger) (*registrar.Registrar, error) {
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	if err != nil {
		return nil, err
	}
	kid, key := iss.EncryptionKey()
	dec, err := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	if err != nil {
		return nil, err
	}
	// Two tokens per device, without their raw claims, as the standalone
	// registrar remembers them by default.
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec, CacheSize: max(sipoauth.DefaultCacheSize, 2*n), DiscardRawClaims: true})
	if err != nil {
		return nil, err
	}
	devs := make(registrar.MemoryDevices, n)
	for i := range n {
		name := loaddevices.DeviceName(i)
		devs[name] = registrar.Device{Name: name, Owner: loaddevices.UserName(i), OAuth: true}
	}
	return registrar.New(registrar.Config{
		NodeName:              "BENCH",
		Devices:               devs,
		Validator:             v,
		Ports:                 registrar.Ports{int(ap.Port()): registrar.RoleOAuth},
		PlaintextForLoadTests: true,
		Logger:                logger,
	})
}

// writeCSV writes the SIPp injection file, minting the tokens on all CPUs.
func writeCSV(path string, iss *issuer.Issuer, n int) error {
	tokens, err := loaddevices.Mint(iss, n, 60*time.Minute)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "SEQUENTIAL")
	for i, tok := range tokens {
		fmt.Fprintf(w, "%s;%s;%s\n", loaddevices.UserName(i), loaddevices.DeviceName(i), tok)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// statusCounts counts final answers by status code.
type statusCounts struct {
	mu sync.Mutex
	m  map[int]int
}

func (c *statusCounts) add(status int) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[int]int{}
	}
	c.m[status]++
	c.mu.Unlock()
}

// String is "200=10000 407=10000", by status.
func (c *statusCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	codes := make([]int, 0, len(c.m))
	for code := range c.m {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	s := ""
	for _, code := range codes {
		if s != "" {
			s += " "
		}
		s += fmt.Sprintf("%d=%d", code, c.m[code])
	}
	if s == "" {
		return "nothing"
	}
	return s
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
