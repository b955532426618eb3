//go:build linux

package siplimit

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/loopback"
	"github.com/sipoauth/sdk/internal/syncbuf"
)

func init() { childMain = descriptorChild }

// descriptorChild is the server of TestDescriptorExhaustion, in a process
// of its own limited to 256 open files: sipgo behind a plain listener
// (plain), behind a Listener with the default caps (limited), or behind
// one without caps (uncapped), which must wait out the accept errors. It
// listens on 127.0.0.1 and, where it can, on ::1, through one listener.
func descriptorChild(mode string) int {
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 256, Max: 256}); err != nil {
		fmt.Println("setrlimit:", err)
		return 2
	}
	srv, closeUA, err := startSIPServer()
	if err != nil {
		fmt.Println(err)
		return 2
	}
	defer closeUA()
	var ln net.Listener
	addr6 := "-"
	if dl, err := loopback.ListenTCP(); err == nil {
		ln, addr6 = dl, dl.Addr6().String()
	} else if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		fmt.Println(err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var served net.Listener = ln
	switch mode {
	case "limited":
		served = NewListener(ln, Limits{}, WithLogger(log))
	case "uncapped":
		served = NewListener(ln, Limits{MaxConns: -1, MaxConnsPerSource: -1}, WithLogger(log))
	}
	if l, ok := served.(*Listener); ok {
		fmt.Printf("caps %d %d\n", l.Limits().MaxConns, l.Limits().MaxConnsPerSource)
		go func() {
			for range time.Tick(50 * time.Millisecond) {
				s := l.Stats()
				fmt.Printf("stats open=%d refused=%d accept_errors=%d\n", s.Open, s.RefusedTotal+s.RefusedPerSource, s.AcceptErrors)
			}
		}()
	}
	// The test holds stdin open: its end ends the child.
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	fmt.Printf("listening %s %s\n", ln.Addr(), addr6)
	err = srv.srv.ServeTCP(served)
	fmt.Printf("serve returned: %v\n", err)
	return 3
}

// child is a running descriptorChild.
type child struct {
	addr   string // on 127.0.0.1
	addr6  string // on ::1, "-" if none
	lines  chan string
	exited chan error
	stderr *syncbuf.Buffer
	last   string // the last stats line
}

func startChild(t *testing.T, mode string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{lines: make(chan string, 10000), exited: make(chan error, 1), stderr: new(syncbuf.Buffer)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		c.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
	})
	for c.addr == "" {
		select {
		case l := <-c.lines:
			if a, ok := strings.CutPrefix(l, "listening "); ok {
				c.addr, c.addr6, _ = strings.Cut(a, " ")
			}
		case err := <-c.exited:
			t.Fatalf("child exited: %v; %s", err, c.stderr.String())
		case <-time.After(10 * time.Second):
			t.Fatal("child did not start")
		}
	}
	return c
}

// output drains the child's lines for d; it returns them and whether the
// child exited meanwhile.
func (c *child) output(d time.Duration) (lines []string, exited bool) {
	end := time.After(d)
	for {
		select {
		case l := <-c.lines:
			lines = append(lines, l)
			if strings.HasPrefix(l, "stats ") {
				c.last = l
			}
		case <-c.exited:
			// Every line was queued before the exit was.
			for {
				select {
				case l := <-c.lines:
					lines = append(lines, l)
				default:
					return lines, true
				}
			}
		case <-end:
			return lines, false
		}
	}
}

// More connections from 127.0.0.1 than the server's descriptors allow:
// behind a plain listener sipgo's accept fails and its serve loop returns
// (a program serving several ports exits); behind a Listener the server
// keeps serving, while the flood lasts if the caps keep descriptors free
// (another source, ::1, registers), and once it ends either way.
func TestDescriptorExhaustion(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"plain", "limited", "uncapped"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "limited" {
				loopback.Need6(t)
			}
			t.Parallel()
			c := startChild(t, mode)
			var flood []net.Conn
			for range 400 {
				conn, err := dialErr("127.0.0.1", c.addr, nil)
				if err != nil {
					continue
				}
				flood = append(flood, conn)
			}
			defer func() {
				for _, conn := range flood {
					conn.Close()
				}
			}()
			lines, exited := c.output(time.Second)
			switch mode {
			case "plain":
				if !exited {
					lines, exited = c.output(5 * time.Second)
				}
				if !exited || !strings.Contains(strings.Join(lines, "\n"), "too many open files") {
					t.Fatalf("plain: exited %v, output %q", exited, lines)
				}
				return
			case "limited":
				if exited {
					t.Fatalf("server exited: %q %s", lines, c.stderr.String())
				}
				// The caps (64 in all, 32 per source with 256 descriptors)
				// keep descriptors free: another source registers now.
				mustRegister(t, "::1", c.addr6, nil)
				if !strings.Contains(c.last, "open=32 refused=368") {
					t.Fatalf("stats %q", c.last)
				}
			case "uncapped":
				if exited {
					t.Fatalf("server exited: %q %s", lines, c.stderr.String())
				}
				if !waitFor(5*time.Second, func() bool { return strings.Contains(c.stderr.String(), "accept failed") }) {
					t.Fatalf("no accept error logged: %s", c.stderr.String())
				}
			}
			for _, conn := range flood {
				conn.Close()
			}
			flood = nil
			// Once the flood ends, the server serves again.
			ok := waitFor(10*time.Second, func() bool {
				conn, err := dialErr("127.0.0.1", c.addr, nil)
				if err != nil {
					return false
				}
				defer conn.Close()
				res, err := registerOver(conn, "TCP", "after-flood")
				return err == nil && statusLine(res) == "SIP/2.0 200 OK"
			})
			if _, exited := c.output(100 * time.Millisecond); exited || !ok {
				t.Fatalf("after the flood: exited %v, registered %v; %s", exited, ok, c.stderr.String())
			}
		})
	}
}
