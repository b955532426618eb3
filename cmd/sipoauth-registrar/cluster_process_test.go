package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/integration"

	"github.com/emiago/sipgo/sip"

	sipclient "github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/internal/testredis"
	"github.com/sipoauth/sdk/redisstore"
	"github.com/sipoauth/sdk/registrar"
)

// nodeProcess is a registrar running as a process of its own.
type nodeProcess struct {
	name  string
	cmd   *exec.Cmd
	addrs map[string]string // "setting transport" -> address
	log   *syncbuf.Buffer
	done  chan struct{}
}

// startNodeProcess runs the registrar binary with args and waits until it
// listens on every address it was asked for (its "listening" lines).
func startNodeProcess(t *testing.T, bin, name string, args []string, want ...string) *nodeProcess {
	t.Helper()
	n := &nodeProcess{name: name, addrs: map[string]string{}, log: new(syncbuf.Buffer), done: make(chan struct{})}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Stderr = n.log
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(func() {
		_ = n.cmd.Process.Kill()
		<-n.done
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, n.log)
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for {
		missing := false
		for _, w := range want {
			if n.addrs[w] == "" {
				missing = true
			}
		}
		if !missing {
			go func() {
				for range lines {
				}
			}()
			return n
		}
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("%s exited before listening on %v:\n%s", name, want, n.log)
			}
			if f := strings.Fields(l); len(f) == 4 && f[0] == "listening" {
				n.addrs[f[1]+" "+f[2]] = f[3]
			}
		case <-deadline:
			t.Fatalf("%s not listening on %v within 30s:\n%s", name, want, n.log)
		}
	}
}

// clusterClient is a soft client of the client package, with the target it
// was last registered on.
type clusterClient struct {
	user, device string
	primary      string
	mu           sync.Mutex
	on           string // the Addr of the target last registered on
	at           time.Time
	failed       int
}

func (c *clusterClient) event(e sipclient.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e.Kind {
	case sipclient.EventRegistered, sipclient.EventRefreshed:
		c.on, c.at = e.Target.Addr, e.Time
	case sipclient.EventFailed:
		c.failed++
	}
}

func (c *clusterClient) registered() (string, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on, c.at
}

// deviceConfig is a Jabber configuration file listing nodes in priority
// order, SIP OAuth on.
func deviceConfig(device, user string, nodes ...string) *cnfxml.Config {
	cfg := cnfxml.NewCSF(device)
	cfg.UserID = user
	for i, n := range nodes {
		host, port, _ := net.SplitHostPort(n)
		p, _ := strconv.Atoi(port)
		cfg.CallManagers = append(cfg.CallManagers, cnfxml.CallManager{Priority: i, Name: host, Ports: cnfxml.Ports{SIPOAuth: p}})
	}
	return cfg
}

// TestClusterOfProcesses: three registrar processes on one Redis (with its
// append-only file), thirty soft clients spread over them by the priority
// of their configuration files. An edge proxy's entry pushed to node 1 is
// let in by node 3; a user revoked on node 2 is refused by node 1 within a
// second; node 1 killed (SIGKILL) under load, its clients register on
// another node at once and no binding of the others is lost; Redis
// killed and started again, REGISTERs get 503 with Retry-After meanwhile
// and 200 after, every binding still there, no process restarted.
func TestClusterOfProcesses(t *testing.T) {
	if !integration.Required() {
		t.Skip("three registrar processes on Redis; SIPOAUTH_INTEGRATION=1 runs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "sipoauth-registrar")
	edgeBin := filepath.Join(filepath.Dir(bin), "sipoauth-edge")
	for pkg, out := range map[string]string{".": bin, "../sipoauth-edge": edgeBin} {
		if b, err := exec.CommandContext(ctx, "go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	srv := testredis.Start(t, t.TempDir(), true)
	rdb := srv.Client()
	f := newFixture(t)
	const n = 30
	devices := []registrar.Device{{Name: "CSFrado", Owner: "rado", OAuth: true}, {Name: "CSFprobe", Owner: "probe", OAuth: true}, {Name: "CSFmra", Owner: "mra", OAuth: true}}
	for i := range n {
		devices = append(devices, registrar.Device{Name: fmt.Sprintf("CSFc%02d", i), Owner: fmt.Sprintf("c%02d", i), OAuth: true})
	}
	if err := redisstore.NewDevices(rdb, "").Replace(ctx, devices); err != nil {
		t.Fatal(err)
	}
	url := "redis://" + srv.Addr() + "/0"
	var nodes [3]*nodeProcess
	for i := range nodes {
		name := fmt.Sprintf("UCM-%d", i+1)
		args := f.args("-store", url, "-edge-table", "redis", "-devices", "redis", "-node-name", name, "-log-level", "warn")
		want := []string{"oauth tls", "edge tls", "metrics http"}
		if i == 0 {
			args = append(args, "-table-api", "127.0.0.1:0", "-table-user", "expressway", "-table-password", "s3cret")
			want = append(want, "table-api https")
		}
		nodes[i] = startNodeProcess(t, bin, name, args, want...)
	}
	oauth := func(i int) string { return nodes[i].addrs["oauth tls"] }

	// The edge-proxy table: pushed to node 1, let in by node 3.
	if code := tableAPI(t, f, nodes[0].addrs["table-api https"], http.MethodPut, "/entries", `{"hostNameOrIp": "expc9", "names": ["expc9.example.com"]}`); code != 201 {
		t.Fatalf("push to node 1: %d", code)
	}
	took := within(t, time.Second, "node 3 lets in the proxy pushed to node 1", func() bool { return handshake(nodes[2].addrs["edge tls"], f, f.stranger) == nil })
	t.Logf("edge entry pushed to node 1, on node 3 after %v", took)

	// A revocation in Redis holds on node 1 within a second.
	probers := map[string]*client{}
	var probersMu sync.Mutex
	probe := func(addr, device, user, token string) *sip.Response {
		t.Helper()
		probersMu.Lock()
		c := probers[addr]
		if c == nil {
			c = f.client(addr, "TLS", nil)
			probers[addr] = c
		}
		probersMu.Unlock()
		r := c.register(device, user)
		r.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+token+`"`))
		res, err := c.try(r)
		if err != nil {
			return nil
		}
		return res
	}
	radoToken := f.mint("rado", "CSFrado", nil)
	if res := probe(oauth(0), "CSFrado", "rado", radoToken); res == nil || res.StatusCode != 200 {
		t.Fatalf("rado before the revocation: %v", res)
	}
	// Revoked on node 2, with its configuration: sipoauth-registrar -revoke-user.
	revoke := exec.CommandContext(ctx, bin, append(f.args("-store", url, "-edge-table", "redis", "-devices", "redis", "-node-name", "UCM-2"), "-revoke-user", "rado")...)
	if out, err := revoke.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "the tokens of rado issued before ") {
		t.Fatalf("-revoke-user on node 2: %v\n%s", err, out)
	}
	took = within(t, time.Second, "node 1 refuses the revoked user", func() bool {
		res := probe(oauth(0), "CSFrado", "rado", radoToken)
		return res != nil && res.StatusCode == 407 && strings.Contains(header(res, "Proxy-Authenticate"), `error="invalid_token"`)
	})
	t.Logf("revocation held on node 1 after %v", took)

	// An edge proxy (Expressway-C) process: it pushes its entry to node 1's
	// table at start and forwards to node 3 first, node 2 next; an MRA
	// client registers through it.
	edgeCert := f.proxyCA.Issue(t, testca.Options{CommonName: "expc2.example.com", DNSNames: []string{"expc2.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})
	f.write("edge-cert", "expc2.pem", edgeCert.CertPEM())
	f.write("edge-key", "expc2.key", edgeCert.KeyPEM())
	f.write("node-ca", "node-ca.pem", testca.CertPEM(f.nodeCA.Cert))
	edgeAddr := freeAddr(t)
	edgeProc := exec.Command(edgeBin, "-listen", edgeAddr, "-cert", f.files["edge-cert"], "-key", f.files["edge-key"],
		"-node-ca", f.files["node-ca"], "-server-name", "127.0.0.1",
		"-upstream", nodes[2].addrs["edge tls"]+","+nodes[1].addrs["edge tls"],
		"-table-url", "https://"+nodes[0].addrs["table-api https"], "-table-user", "expressway", "-table-password", "s3cret")
	edgeLog := new(syncbuf.Buffer)
	edgeProc.Stdout, edgeProc.Stderr = edgeLog, edgeLog
	if err := edgeProc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = edgeProc.Process.Kill()
		_ = edgeProc.Wait()
		if t.Failed() {
			t.Logf("edge proxy's log:\n%s", edgeLog)
		}
	})
	mraConfig := deviceConfig("CSFmra", "mra", oauth(2), oauth(1))
	for i, node := range []*nodeProcess{nodes[2], nodes[1]} {
		_, port, _ := net.SplitHostPort(node.addrs["edge tls"])
		mraConfig.CallManagers[i].Ports.SIPMRAOAuth, _ = strconv.Atoi(port)
	}
	mra, err := sipclient.New(sipclient.Config{DeviceName: "CSFmra", User: "mra", Device: mraConfig, Deployment: cnfxml.MRA,
		EdgeAddr: edgeAddr, EdgeServerName: "expc2.example.com", TLSConfig: &tls.Config{RootCAs: f.proxyCA.Pool()},
		Tokens: sipclient.StaticTokenSource(&sipclient.Token{AccessToken: f.mint("mra", "CSFmra", nil)}),
		Logger: slog.New(slog.DiscardHandler), DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer mra.Close()
	var mraReg sipclient.Registration
	within(t, 10*time.Second, "the MRA client registered through the edge proxy", func() bool {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		mraReg, err = mra.Register(rctx)
		return err == nil
	})
	t.Logf("MRA client registered through the edge proxy, which pushed its entry to node 1 and forwards to node 3 first: %d", mraReg.Status)

	// Thirty clients, each with its own primary node.
	quiet := slog.New(slog.DiscardHandler)
	clients := make([]*clusterClient, n)
	run, stopClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopClients(); wg.Wait() }()
	for i := range clients {
		cc := &clusterClient{user: fmt.Sprintf("c%02d", i), device: fmt.Sprintf("CSFc%02d", i), primary: oauth(i % 3)}
		clients[i] = cc
		c, err := sipclient.New(sipclient.Config{
			DeviceName: cc.device, User: cc.user, Device: deviceConfig(cc.device, cc.user, oauth(i%3), oauth((i+1)%3), oauth((i+2)%3)),
			TLSConfig: &tls.Config{RootCAs: f.nodeCA.Pool(), ServerName: "127.0.0.1"},
			Tokens:    sipclient.StaticTokenSource(&sipclient.Token{AccessToken: f.mint(cc.user, cc.device, nil)}),
			Logger:    quiet, OnEvent: cc.event, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, DialTimeout: 2 * time.Second,
			Failback: 500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			c.Run(run)
		}()
	}
	within(t, 15*time.Second, "every client registered on its primary", func() bool {
		for _, c := range clients {
			if on, _ := c.registered(); on != c.primary {
				return false
			}
		}
		return true
	})
	lookup := func() (int, []string) {
		t.Helper()
		store := redisstore.NewBindings(rdb, "")
		bound, missing := 0, []string(nil)
		for _, c := range clients {
			bs, err := store.Lookup(ctx, c.user)
			if err == nil && len(bs) == 1 {
				bound++
			} else {
				missing = append(missing, fmt.Sprintf("%s: %d, %v", c.user, len(bs), err))
			}
		}
		return bound, missing
	}
	if bound, missing := lookup(); bound != n {
		t.Fatalf("%d of %d clients bound in Redis: %v", bound, n, missing)
	}

	// Node 1 killed under load.
	killed := time.Now()
	if err := nodes[0].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-nodes[0].done
	worst := within(t, 10*time.Second, "node 1's clients registered on another node", func() bool {
		for _, c := range clients {
			if on, at := c.registered(); c.primary == oauth(0) && (on == oauth(0) || at.Before(killed)) {
				return false
			}
		}
		return true
	})
	t.Logf("node 1 killed: its %d clients registered elsewhere within %v", n/3, worst)
	for _, c := range clients {
		if on, _ := c.registered(); c.primary != oauth(0) && on != c.primary {
			t.Errorf("%s, a client of %s, moved to %s", c.user, c.primary, on)
		}
	}
	if bound, missing := lookup(); bound != n {
		t.Fatalf("after node 1 died, %d of %d clients bound: %v", bound, n, missing)
	}

	// Redis killed and started again under load: 503 with Retry-After
	// meanwhile, 200 after, nothing restarted by hand.
	probeToken := f.mint("probe", "CSFprobe", nil)
	probers[oauth(1)] = f.client(oauth(1), "TLS", nil) // made here, not in the goroutine below
	var mu sync.Mutex
	seen := map[string]int{}
	load, stopLoad := context.WithCancel(ctx)
	var lw sync.WaitGroup
	lw.Add(1)
	go func() {
		defer lw.Done()
		for load.Err() == nil {
			res := probe(oauth(1), "CSFprobe", "probe", probeToken)
			key := "no answer"
			if res != nil {
				key = strconv.Itoa(res.StatusCode) + " Retry-After:" + header(res, "Retry-After")
			}
			mu.Lock()
			seen[key]++
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	}()
	count := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return seen[key]
	}
	within(t, 5*time.Second, "REGISTERs answered 200 under load", func() bool { return count("200 Retry-After:") > 0 })
	srv.Kill()
	within(t, 5*time.Second, "503 with Retry-After while Redis is down", func() bool {
		return count("503 Retry-After:"+strconv.Itoa(registrar.RetryAfterUnavailable)) > 0
	})
	time.Sleep(time.Second)
	srv.StartAgain()
	ok := count("200 Retry-After:")
	took = within(t, 10*time.Second, "200 again once Redis is back", func() bool { return count("200 Retry-After:") > ok })
	t.Logf("a REGISTER answered 200 %v after Redis was back", took)
	stopLoad()
	lw.Wait()
	t.Logf("REGISTERs through the Redis outage: %v", seen)
	if bound, missing := lookup(); bound != n {
		t.Fatalf("after Redis came back, %d of %d clients bound: %v", bound, n, missing)
	}
	for i, node := range nodes[1:] {
		select {
		case <-node.done:
			t.Fatalf("node %d exited: %s", i+2, node.log)
		default:
		}
	}

	// Node 1 started again on its addresses: its clients return to it.
	restarted := time.Now()
	args := f.args("-store", url, "-edge-table", "redis", "-devices", "redis", "-node-name", "UCM-1", "-log-level", "warn",
		"-oauth", oauth(0), "-edge", nodes[0].addrs["edge tls"])
	nodes[0] = startNodeProcess(t, bin, "UCM-1 again", args, "oauth tls", "edge tls", "metrics http")
	took = within(t, 10*time.Second, "node 1's clients back on it", func() bool {
		for _, c := range clients {
			if on, at := c.registered(); c.primary == oauth(0) && (on != oauth(0) || at.Before(restarted)) {
				return false
			}
		}
		return true
	})
	t.Logf("node 1 started again: its clients back on it within %v (Failback 500 ms)", took)
	if bound, missing := lookup(); bound != n {
		t.Fatalf("after the failback, %d of %d clients bound: %v", bound, n, missing)
	}
	// Node 3 stopped gracefully (SIGTERM): it answers what it read, closes
	// its connections and exits; its clients register elsewhere, and the
	// edge proxy forwards to node 2.
	termed := time.Now()
	if err := nodes[2].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-nodes[2].done:
	case <-time.After(DefaultShutdownTimeout + 5*time.Second):
		t.Fatal("node 3 did not exit within its shutdown timeout")
	}
	if code := nodes[2].cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("node 3 exited with %d after SIGTERM", code)
	}
	t.Logf("node 3 stopped on SIGTERM in %v", time.Since(termed))
	took = within(t, 10*time.Second, "node 3's clients registered elsewhere", func() bool {
		for _, c := range clients {
			if on, at := c.registered(); c.primary == oauth(2) && (on == oauth(2) || at.Before(termed)) {
				return false
			}
		}
		return true
	})
	t.Logf("node 3's clients registered elsewhere within %v of SIGTERM", took)
	within(t, 10*time.Second, "the MRA client registered again through the edge proxy, on node 2", func() bool {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := mra.Register(rctx)
		return err == nil
	})
	if bound, missing := lookup(); bound != n {
		t.Fatalf("after node 3 stopped, %d of %d clients bound: %v", bound, n, missing)
	}
	for _, c := range clients {
		c.mu.Lock()
		if c.failed > 0 && c.primary == oauth(1) {
			t.Errorf("%s, a client of the node that stayed up, failed %d times", c.user, c.failed)
		}
		c.mu.Unlock()
	}
}

// freeAddr returns a loopback address nothing listens on (at the time).
func freeAddr(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(freePort(t))
}
