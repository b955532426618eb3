//go:build linux

package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

// childArgsEnv makes the test binary the registrar command itself, with
// these arguments (one a line) and an open-file limit of 256: the
// server of TestDescriptorFlood.
const childArgsEnv = "SIPOAUTH_REGISTRAR_CHILD_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 256, Max: 256}); err != nil {
			os.Stderr.WriteString("setrlimit: " + err.Error() + "\n")
			os.Exit(3)
		}
		os.Exit(run(context.Background(), strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestDescriptorFlood runs the registrar in a process limited to 256 open
// files and opens 400 connections to its OAuth port, more than its
// descriptors allow. Served by sipgo on a plain listener, accept then
// fails and the serve loop returns, and the registrar exits with every
// port. Through siplimit it refuses what is over its caps at once, keeps
// running, keeps its edge port serving during the flood, and registers a
// legitimate client on the flooded port once the flood is gone.
func TestDescriptorFlood(t *testing.T) {
	f := newFixture(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(f.args("-log-level", "warn"), "\n"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	addrs := make(chan [2]string, 8)
	go func() {
		sc := bufio.NewScanner(stdout)
		line := regexp.MustCompile(`^listening (\S+) +(\S+) +(\S+)$`)
		for sc.Scan() {
			if m := line.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- [2]string{m[1], m[3]}
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("registrar's log:\n%s", &stderr)
		}
	})
	bound := map[string]string{}
	for len(bound) < 3 {
		select {
		case a := <-addrs:
			bound[a[0]] = a[1]
		case err := <-exited:
			t.Fatalf("the registrar exited: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("the registrar did not start")
		}
	}

	// The flood: 400 idle connections, no TLS handshake.
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for range 400 {
		c, err := net.DialTimeout("tcp", bound["oauth"], 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", len(flood)+1, err)
		}
		flood = append(flood, c)
	}
	// Those over the caps are closed by the registrar at once: reading
	// them ends. At most 64 (a quarter of 256) stay, 32 from one address.
	held := 0
	for _, c := range flood {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && isTimeout(err) {
			held++
		}
	}
	if held == 0 || held > 32 {
		t.Errorf("%d flood connections held open, want 1 to 32 (the per-source cap)", held)
	}
	select {
	case err := <-exited:
		t.Fatalf("the registrar exited under the flood: %v", err)
	default:
	}

	// The edge port still serves the edge proxy meanwhile.
	if err := handshake(bound["edge"], f, f.proxy); err != nil {
		t.Fatalf("edge port during the flood: %v", err)
	}
	for _, c := range flood {
		c.Close()
	}
	flood = nil

	// Afterwards, a Jabber client registers on the port that was flooded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := f.client(bound["oauth"], "TLS", nil)
		req := c.register("CSFrado", "rado")
		res, err := c.try(req)
		if err == nil && res.StatusCode == 407 {
			res, _ = c.retry(t, req, "Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`)
			if res.StatusCode != 200 {
				t.Fatalf("after the flood:\n%s", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no registration after the flood: %v %v", res, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-exited:
		t.Fatalf("the registrar exited: %v", err)
	default:
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
