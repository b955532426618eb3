package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// Bounds of the settings: a run is bounded in connections, rate and time.
const (
	maxConns       = 50000
	maxRate        = 100000
	maxDuration    = 10 * time.Minute
	maxHold        = 10 * time.Minute
	maxTimeout     = time.Minute
	maxConnectRate = 100000
)

// config holds the settings of one run.
type config struct {
	target      string        // host:port of the server's TLS SIP port, loopback only
	auth        string        // "bearer" or "digest"
	creds       string        // credentials file (bench/setup's bearer.csv or digest.csv)
	ca          string        // PEM file the server certificate must verify against; none: not verified
	conns       int           // load mode: persistent connections
	rate        float64       // load mode: registrations per second, all connections together
	duration    time.Duration // load mode: how long registrations are started
	idle        int           // idle mode (when > 0): connections opened, registered once and held
	hold        time.Duration // idle mode: wait after the last registration before reading the server's memory
	connectRate float64       // new connections per second
	timeout     time.Duration // per answer
	expires     int           // Expires of the REGISTERs
	pid         int           // server PID; it and its descendants are measured (0: not measured)
}

func main() {
	c := config{}
	flag.StringVar(&c.target, "target", "127.0.0.1:5061", "TLS SIP `address` of the server (127.0.0.1 or ::1 only)")
	flag.StringVar(&c.auth, "auth", "bearer", "credentials: bearer (Proxy-Authorization: Bearer token=...) or digest (MD5 from the 407's challenge)")
	flag.StringVar(&c.creds, "creds", "", "credentials `file`: lines user;device;token (bearer) or user;device;[authentication username=U password=P] (digest), as bench/setup writes them")
	flag.StringVar(&c.ca, "ca", "", "PEM `file` the server's certificate must chain to (empty: not verified)")
	flag.IntVar(&c.conns, "conns", 50, "persistent TLS connections of the load")
	flag.Float64Var(&c.rate, "rate", 1000, "registrations started per second, all connections together")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "how long registrations are started")
	flag.IntVar(&c.idle, "idle", 0, "idle mode: open `N` connections, register one device on each, hold them and report the server's memory per connection")
	flag.DurationVar(&c.hold, "hold", 3*time.Second, "idle mode: wait this long after the last registration before reading the server's memory")
	flag.Float64Var(&c.connectRate, "connect-rate", 2000, "new TLS connections per second")
	flag.DurationVar(&c.timeout, "timeout", 5*time.Second, "longest wait for an answer")
	flag.IntVar(&c.expires, "expires", 3600, "Expires of the REGISTERs")
	flag.IntVar(&c.pid, "pid", 0, "`PID` of the server: its CPU time (utime+stime) and memory, with its descendants', are reported (0: not measured)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: tlsload -target 127.0.0.1:PORT -creds FILE [-auth bearer|digest] [-pid PID] [-conns C -rate R -duration D | -idle N]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "tlsload: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "tlsload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tlsload:", err)
		os.Exit(1)
	}
}

// check refuses settings out of bounds and targets other than loopback.
func (c *config) check() error {
	if _, err := loopback(c.target); err != nil {
		return err
	}
	switch {
	case c.auth != "bearer" && c.auth != "digest":
		return fmt.Errorf("-auth %q: want bearer or digest", c.auth)
	case c.creds == "":
		return errors.New("-creds is required")
	case c.idle < 0 || c.idle > maxConns:
		return fmt.Errorf("-idle %d: want 0 to %d", c.idle, maxConns)
	case c.idle == 0 && (c.conns < 1 || c.conns > maxConns):
		return fmt.Errorf("-conns %d: want 1 to %d", c.conns, maxConns)
	case c.idle == 0 && (c.rate <= 0 || c.rate > maxRate):
		return fmt.Errorf("-rate %v: want more than 0, at most %d", c.rate, maxRate)
	case c.idle == 0 && (c.duration <= 0 || c.duration > maxDuration):
		return fmt.Errorf("-duration %s: want more than 0, at most %s", c.duration, maxDuration)
	case c.hold < 0 || c.hold > maxHold:
		return fmt.Errorf("-hold %s: want 0 to %s", c.hold, maxHold)
	case c.connectRate <= 0 || c.connectRate > maxConnectRate:
		return fmt.Errorf("-connect-rate %v: want more than 0, at most %d", c.connectRate, maxConnectRate)
	case c.timeout <= 0 || c.timeout > maxTimeout:
		return fmt.Errorf("-timeout %s: want more than 0, at most %s", c.timeout, maxTimeout)
	case c.expires < 0 || c.expires > 1<<31-1:
		return fmt.Errorf("-expires %d: want 0 or more", c.expires)
	case c.pid < 0:
		return fmt.Errorf("-pid %d: want a process id", c.pid)
	}
	return nil
}

// loopback parses addr, host:port with host 127.0.0.1, ::1 or localhost
// (or any 127/8 address), and refuses every other host: the tool loads
// only servers on this machine.
func loopback(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("-target %q: %v", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("-target %q: the host must be 127.0.0.1 or ::1", addr)
	}
	if !ip.Unmap().IsLoopback() || ip.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("-target %q: refused: only 127.0.0.1 or ::1 may be loaded", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, fmt.Errorf("-target %q: bad port %q", addr, port)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// run runs the load or idle measurement c describes and prints its report to w.
func run(ctx context.Context, c config, w io.Writer) error {
	if err := c.check(); err != nil {
		return err
	}
	creds, err := readCreds(c.creds, c.auth)
	if err != nil {
		return err
	}
	need := c.conns
	if c.idle > 0 {
		need = c.idle
	}
	if err := raiseFileLimit(need + 64); err != nil {
		return err
	}
	cl, err := newClient(c, creds)
	if err != nil {
		return err
	}
	if c.idle > 0 {
		return cl.idleRun(ctx, w)
	}
	return cl.loadRun(ctx, w)
}
