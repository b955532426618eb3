package main

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/logs"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/redisstore"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

// clusterDevices are the cluster story's clients: two for each node.
const clusterDevices = 6

// redisProcess is the redis-server the cluster story runs, with its
// append-only file in a directory of its own.
type redisProcess struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	done     chan struct{}
}

// startRedis runs redis-server on 127.0.0.1:port (a free one when 0) and
// waits until it answers.
func startRedis(bin, dir string, port int) (*redisProcess, error) {
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	r := &redisProcess{bin: bin, dir: dir, port: port}
	return r, r.start()
}

func (r *redisProcess) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }

func (r *redisProcess) start() error {
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(r.cmd, r.done)
	c := redis.NewClient(&redis.Options{Addr: r.addr(), DisableIdentity: true, MaxRetries: -1})
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("redis-server did not answer within 5 s: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops redis-server at once, as a crash would.
func (r *redisProcess) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// clusterNode is one registrar node of the cluster story: its own SIP
// server on its OAuth port, its state in the shared Redis.
type clusterNode struct {
	name    string
	addr    string
	reg     *registrar.Registrar
	cert    tls.Certificate
	srv     *sipserve.Server
	stopRun context.CancelFunc
}

// serve starts (or starts again) the node's SIP server on its address.
func (n *clusterNode) serve() error {
	ln, err := net.Listen("tcp", n.addr)
	if err != nil {
		return err
	}
	n.addr = ln.Addr().String()
	cs, err := mtlstrust.NewCertSource(n.cert)
	if err != nil {
		ln.Close()
		return err
	}
	n.srv = &sipserve.Server{Handler: sipserve.Methods{sip.REGISTER: n.reg, sip.OPTIONS: sipserve.OK}}
	go n.srv.ServeStream(tls.NewListener(ln, mtlstrust.OAuthServerConfig(cs)))
	return nil
}

// clusterLab is the cluster story's deployment.
type clusterLab struct {
	redis   *redisProcess
	rdb     redis.UniversalClient
	issuer  *issuer.Issuer
	nodeCA  *authority
	nodes   []*clusterNode
	log     *slog.Logger
	closers []func()
}

func (c *clusterLab) close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// startCluster starts redis-server and three nodes sharing it.
func startCluster(bin string, log *slog.Logger) (_ *clusterLab, err error) {
	c := &clusterLab{log: log}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	dir, err := os.MkdirTemp("", "sipoauth-lab-redis-")
	if err != nil {
		return nil, err
	}
	c.closers = append(c.closers, func() { os.RemoveAll(dir) })
	if c.redis, err = startRedis(bin, dir, 0); err != nil {
		return nil, err
	}
	c.closers = append(c.closers, func() { c.redis.kill() })
	if c.rdb, err = redisstore.NewClient("redis://"+c.redis.addr()+"/0", nil); err != nil {
		return nil, err
	}
	c.closers = append(c.closers, func() { c.rdb.Close() })
	if c.issuer, err = issuer.New(issuer.Config{Issuer: "https://cucm.lab.example", Nested: true}); err != nil {
		return nil, err
	}
	if c.nodeCA, err = newAuthority("Lab Node CA"); err != nil {
		return nil, err
	}
	list := []registrar.Device{{Name: "CSFprobe", Owner: "probe", OAuth: true}}
	for i := range clusterDevices {
		list = append(list, registrar.Device{Name: fmt.Sprintf("CSFuser%d", i+1), Owner: fmt.Sprintf("user%d", i+1), OAuth: true})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := redisstore.NewDevices(c.rdb, "").Replace(ctx, list); err != nil {
		return nil, err
	}
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{c.issuer.KeyID(): c.issuer.PublicKey()})
	if err != nil {
		return nil, err
	}
	kid, key := c.issuer.EncryptionKey()
	dec, err := sipoauth.NewSymmetricKeys(map[string][]byte{kid: key})
	if err != nil {
		return nil, err
	}
	cert, err := c.nodeCA.issue("127.0.0.1")
	if err != nil {
		return nil, err
	}
	for i := range 3 {
		n, err := c.startNode(ctx, fmt.Sprintf("UCM-%d", i+1), cert, keys, dec)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	return c, nil
}

// startNode builds a node as the standalone registrar does with a Redis
// -store, -edge-table redis and -devices redis, and serves it.
func (c *clusterLab) startNode(ctx context.Context, name string, cert tls.Certificate, keys sipoauth.KeySource, dec *sipoauth.SymmetricKeys) (*clusterNode, error) {
	// Each node has its own connections to Redis, as separate processes.
	// One try and one dial: while Redis is away a REGISTER gets its 503 at
	// once rather than after go-redis's retries.
	rdb := redis.NewClient(&redis.Options{Addr: c.redis.addr(), MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true, DisableIdentity: true})
	c.closers = append(c.closers, func() { rdb.Close() })
	run, stop := context.WithCancel(context.Background())
	c.closers = append(c.closers, stop)
	devices := redisstore.NewDevices(rdb, "")
	on := new(atomic.Bool)
	on.Store(true)
	sw := redisstore.NewSwitch(rdb, "", on)
	for _, m := range []interface {
		Load(context.Context) error
		Run(context.Context) error
	}{devices, sw} {
		if err := m.Load(ctx); err != nil {
			return nil, err
		}
		go m.Run(run)
	}
	v, err := sipoauth.New(sipoauth.Config{Keys: keys, DecryptionKeys: dec, Revocation: redisstore.NewRevocations(rdb, ""), DiscardRawClaims: true})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	reg, err := registrar.New(registrar.Config{NodeName: name, Devices: devices, Validator: v, Store: redisstore.NewBindings(rdb, ""),
		Ports: registrar.Ports{port: registrar.RoleOAuth}, OAuthEnabled: on, Logger: c.log})
	if err != nil {
		return nil, err
	}
	n := &clusterNode{name: name, addr: addr, reg: reg, cert: cert, stopRun: stop}
	if err := n.serve(); err != nil {
		return nil, err
	}
	c.closers = append(c.closers, func() { n.srv.Close() })
	return n, nil
}

// labClient is a client of the cluster story and where it is registered.
type labClient struct {
	name    string
	primary int
	c       *client.Client
	mu      sync.Mutex
	on      string
	at      time.Time
}

func (l *labClient) registered() (string, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.on, l.at
}

// newClient makes a client whose configuration file lists the nodes from
// primary on.
func (c *clusterLab) newClient(device, user string, primary int, onEvent func(client.Event)) (*client.Client, error) {
	cfg := cnfxml.NewCSF(device)
	cfg.UserID = user
	for i := range c.nodes {
		n := c.nodes[(primary+i)%len(c.nodes)]
		host, port, _ := net.SplitHostPort(n.addr)
		p, _ := strconv.Atoi(port)
		cfg.CallManagers = append(cfg.CallManagers, cnfxml.CallManager{Priority: i, Name: host, Description: n.name, Ports: cnfxml.Ports{SIPOAuth: p}})
	}
	tok, err := c.issuer.Mint(issuer.TokenRequest{User: user, Device: device})
	if err != nil {
		return nil, err
	}
	return client.New(client.Config{DeviceName: device, User: user, Device: cfg,
		TLSConfig: &tls.Config{RootCAs: c.nodeCA.pool(), ServerName: "127.0.0.1"},
		Tokens:    client.StaticTokenSource(&client.Token{AccessToken: tok}),
		Logger:    c.log, OnEvent: onEvent, MinBackoff: 200 * time.Millisecond, MaxBackoff: time.Second,
		DialTimeout: time.Second, Failback: time.Second})
}

// registerOnce registers the probe device once with a client of its own
// whose first node is primary, and says how it went.
func (c *clusterLab) registerOnce(ctx context.Context, primary int) error {
	p, err := c.newClient("CSFprobe", "probe", primary, nil)
	if err != nil {
		return err
	}
	defer p.Close()
	_, err = p.Register(ctx)
	return err
}

// nodeOf names the node at addr.
func (c *clusterLab) nodeOf(addr string) string {
	for _, n := range c.nodes {
		if n.addr == addr {
			return n.name
		}
	}
	return addr
}

// waitFor polls cond every 20 ms for d at most.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for !cond() {
		if time.Since(start) > d || ctx.Err() != nil {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start), true
}

// runCluster tells the cluster story: three nodes on one Redis, clients
// spread over them, a node that stops and comes back, Redis that dies
// and comes back, and the cluster-wide SIP OAuth switch.
func runCluster(ctx context.Context, o options, stdout, stderr io.Writer, log *slog.Logger) int {
	// go-redis's own lines (failed dials while Redis is away) go where
	// the parts' logs go: nowhere without -v.
	redis.SetLogger(logs.Redis{Logger: log})
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		fmt.Fprintln(stderr, "lab: -cluster runs a redis-server, which is not installed here: apt-get install redis-server (or brew install redis)")
		return 1
	}
	tl := newTimeline(stdout)
	c, err := startCluster(bin, log)
	if err != nil {
		fmt.Fprintln(stderr, "lab: start:", err)
		return 1
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := c.story(ctx, tl); err != nil {
		tl.check(false, "story ended early: %v", err)
	}
	return tl.finish()
}

func (c *clusterLab) story(ctx context.Context, tl *timeline) error {
	tl.step("C1.", "A cluster: three registrar nodes sharing one Redis")
	tl.say("redis", "redis-server on %s, append-only file on: bindings, revocations, devices, SIP OAuth mode", c.redis.addr())
	for _, n := range c.nodes {
		tl.say(n.name, "OAuth port (TLS) %s", n.addr)
	}
	tl.note("Each node reads the devices and the SIP OAuth mode from Redis and keeps a copy,\nfresh by Redis pub/sub; the bindings are written to Redis by every REGISTER.")

	tl.step("C2.", fmt.Sprintf("%d clients register, each on the first node of its configuration file", clusterDevices))
	clients := make([]*labClient, clusterDevices)
	run, stopClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopClients(); wg.Wait() }()
	for i := range clients {
		lc := &labClient{name: fmt.Sprintf("CSFuser%d", i+1), primary: i % len(c.nodes)}
		cl, err := c.newClient(lc.name, fmt.Sprintf("user%d", i+1), lc.primary, func(e client.Event) {
			if e.Kind == client.EventRegistered || e.Kind == client.EventRefreshed {
				lc.mu.Lock()
				lc.on, lc.at = e.Target.Addr, e.Time
				lc.mu.Unlock()
			}
		})
		if err != nil {
			return err
		}
		lc.c = cl
		clients[i] = lc
		wg.Add(1)
		go func() { defer wg.Done(); defer cl.Close(); cl.Run(run) }()
	}
	onPrimaries := func() bool {
		for _, lc := range clients {
			if on, _ := lc.registered(); on != c.nodes[lc.primary].addr {
				return false
			}
		}
		return true
	}
	took, ok := waitFor(ctx, 5*time.Second, onPrimaries)
	for _, lc := range clients {
		on, _ := lc.registered()
		tl.say(lc.name, "registered on %s", c.nodeOf(on))
	}
	tl.check(ok, "every client registered on its first node (%v)", took.Round(time.Millisecond))
	bound := func() int {
		n := 0
		for i := range clusterDevices {
			bs, err := redisstore.NewBindings(c.rdb, "").Lookup(ctx, fmt.Sprintf("user%d", i+1))
			if err == nil && len(bs) == 1 {
				n++
			}
		}
		return n
	}
	tl.check(bound() == clusterDevices, "Redis holds the %d bindings", clusterDevices)

	tl.step("C3.", "UCM-1 stops: its clients register on their next node")
	first := c.nodes[0]
	stopped := time.Now()
	first.srv.Close()
	tl.say(first.name, "stopped; its connections are gone")
	moved := func() bool {
		for _, lc := range clients {
			on, at := lc.registered()
			if lc.primary == 0 && (on == first.addr || at.Before(stopped)) {
				return false
			}
		}
		return true
	}
	took, ok = waitFor(ctx, 5*time.Second, moved)
	for _, lc := range clients {
		if lc.primary == 0 {
			on, _ := lc.registered()
			tl.say(lc.name, "registered on %s", c.nodeOf(on))
		}
	}
	tl.check(ok, "UCM-1's clients registered elsewhere (%v after it stopped)", took.Round(time.Millisecond))
	tl.check(bound() == clusterDevices, "no binding lost: Redis holds the %d", clusterDevices)

	tl.step("C4.", "UCM-1 comes back: its clients return to it, their first node")
	back := time.Now()
	if err := first.serve(); err != nil {
		return err
	}
	tl.say(first.name, "serving again on %s", first.addr)
	returned := func() bool {
		for _, lc := range clients {
			on, at := lc.registered()
			if lc.primary == 0 && (on != first.addr || at.Before(back)) {
				return false
			}
		}
		return true
	}
	took, ok = waitFor(ctx, 5*time.Second, returned)
	tl.check(ok, "UCM-1's clients back on it (%v; a node that failed is tried again after Failback, 1 s here)", took.Round(time.Millisecond))

	tl.step("C5.", "Redis dies and comes back")
	probe, err := c.newClient("CSFprobe", "probe", 1, nil)
	if err != nil {
		return err
	}
	defer probe.Close()
	c.redis.kill()
	tl.say("redis", "killed")
	_, err = probe.Register(ctx)
	var te *client.TargetError
	is503 := errors.As(err, &te) && te.Status == 503
	if is503 {
		tl.say("CSFprobe", "REGISTER → %s, Retry-After: %v", te.Err, te.RetryAfter)
	} else {
		tl.say("CSFprobe", "REGISTER → %v", err)
	}
	tl.check(is503 && te.RetryAfter > 0, "a REGISTER is answered 503 with Retry-After while Redis is away")
	if err := c.redis.start(); err != nil {
		return err
	}
	tl.say("redis", "started again; its append-only file brings the bindings back")
	// A fresh client each time: the probe waits out the Retry-After it
	// was given.
	took, ok = waitFor(ctx, 5*time.Second, func() bool { return c.registerOnce(ctx, 1) == nil })
	tl.check(ok, "registrations work again (%v), no node restarted", took.Round(time.Millisecond))
	tl.check(bound() == clusterDevices, "the %d bindings are still in Redis", clusterDevices)

	tl.step("C6.", "SIP OAuth turned off for the whole cluster, then on")
	if err := redisstore.NewSwitch(c.rdb, "", new(atomic.Bool)).Set(ctx, false); err != nil {
		return err
	}
	tl.say("admin", "redisstore.Switch.Set(false), as sipoauth-registrar -sip-oauth-mode disable does\n(Unified CM: utils sipOAuth-mode disable)")
	took, ok = waitFor(ctx, 2*time.Second, func() bool {
		var pm *client.PortMismatchError
		return errors.As(c.registerOnce(ctx, 2), &pm)
	})
	tl.check(ok, "UCM-3 answers the port mismatch (403) %v after the switch", took.Round(time.Millisecond))
	if err := redisstore.NewSwitch(c.rdb, "", new(atomic.Bool)).Set(ctx, true); err != nil {
		return err
	}
	took, ok = waitFor(ctx, 2*time.Second, func() bool { return c.registerOnce(ctx, 2) == nil })
	tl.check(ok, "and registers again once it is back on (%v)", took.Round(time.Millisecond))
	return nil
}
