package testredis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

// Server is a redis-server process of one test, on a loopback port.
type Server struct {
	t          testing.TB
	bin        string
	dir        string
	appendOnly bool
	port       int

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *syncbuf.Buffer
}

// StartClient starts a throwaway redis-server, without persistence, and
// returns a client to it. Both go away with the test.
func StartClient(t testing.TB) *redis.Client {
	t.Helper()
	return Start(t, t.TempDir(), false).Client()
}

// Start starts redis-server with its data in dir, with an
// append-only file when appendOnly, and stops it when the test ends. It
// skips the test when redis-server is not installed, unless
// SIPOAUTH_INTEGRATION=1 asks that integration tests run.
func Start(t testing.TB, dir string, appendOnly bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("SIPOAUTH_INTEGRATION") == "1" {
			t.Fatal("redis-server not installed (SIPOAUTH_INTEGRATION=1); apt-get install redis-server")
		}
		t.Skip("redis-server not installed; apt-get install redis-server")
	}
	s := &Server{t: t, bin: bin, dir: dir, appendOnly: appendOnly}
	t.Cleanup(s.kill)
	// The free port is found by binding and releasing it, so another
	// process may take it before redis-server does: try a few.
	for attempt := 1; ; attempt++ {
		s.port = freePort(t)
		err := s.start()
		if err == nil {
			return s
		}
		if attempt == 3 {
			t.Fatalf("starting redis-server: %v\n%s", err, s.log)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is the server's host:port on 127.0.0.1.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs redis-server and waits (at most 5 s) until it answers PING.
func (s *Server) start() error {
	aof := "no"
	if s.appendOnly {
		aof = "yes"
	}
	s.log = new(syncbuf.Buffer)
	s.cmd = exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", aof, "--dir", s.dir)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.done)

	c := redis.NewClient(s.Options())
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("redis-server exited: %v", s.cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server did not answer PING within 5s: %v", err)
		}
	}
}

// Options are client options for the server, with short timeouts.
func (s *Server) Options() *redis.Options {
	return &redis.Options{
		Addr:            s.Addr(),
		DialTimeout:     2 * time.Second,
		ReadTimeout:     2 * time.Second,
		WriteTimeout:    2 * time.Second,
		DisableIdentity: true, // CLIENT SETINFO is newer than some servers
	}
}

// Client returns a new client to the server, closed when the test ends;
// two clients stand for two registrar nodes.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(s.Options())
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Restart stops the server cleanly, so that it writes out its data, and
// starts it again on the same port with the same directory.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		s.t.Fatalf("stopping redis-server: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.kill()
		s.t.Fatalf("redis-server did not stop within 5s\n%s", s.log)
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("restarting redis-server: %v\n%s", err, s.log)
	}
}

// Stop kills the server, as an outage would, for the rest of the test:
// its clients then fail to connect.
func (s *Server) Stop() {
	s.t.Helper()
	s.kill()
}

// kill stops the server at once and waits for it.
func (s *Server) kill() {
	if s.cmd == nil || s.done == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
