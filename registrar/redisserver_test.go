package registrar

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server process of one test, on a loopback port.
type redisServer struct {
	t          testing.TB
	bin        string
	dir        string
	appendOnly bool
	port       int

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *syncBuffer
}

// syncBuffer collects the server's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startRedis starts a throwaway redis-server, without persistence, and
// returns a client to it. Both go away with the test.
func startRedis(t testing.TB) *redis.Client {
	t.Helper()
	return startRedisServer(t, t.TempDir(), false).client()
}

// startRedisServer starts redis-server with its data in dir, with an
// append-only file when appendOnly, and stops it when the test ends. It
// skips the test when redis-server is not installed, unless
// SIPOAUTH_INTEGRATION=1 asks that integration tests run.
func startRedisServer(t testing.TB, dir string, appendOnly bool) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("SIPOAUTH_INTEGRATION") == "1" {
			t.Fatal("redis-server not installed (SIPOAUTH_INTEGRATION=1); apt-get install redis-server")
		}
		t.Skip("redis-server not installed; apt-get install redis-server")
	}
	s := &redisServer{t: t, bin: bin, dir: dir, appendOnly: appendOnly}
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

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs redis-server and waits (at most 5 s) until it answers PING.
func (s *redisServer) start() error {
	aof := "no"
	if s.appendOnly {
		aof = "yes"
	}
	s.log = new(syncBuffer)
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

	c := redis.NewClient(s.options())
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

func (s *redisServer) options() *redis.Options {
	return &redis.Options{
		Addr:            s.addr(),
		DialTimeout:     2 * time.Second,
		ReadTimeout:     2 * time.Second,
		WriteTimeout:    2 * time.Second,
		DisableIdentity: true, // CLIENT SETINFO is newer than some servers
	}
}

// client returns a new client to the server, closed when the test ends;
// two clients stand for two registrar nodes.
func (s *redisServer) client() *redis.Client {
	c := redis.NewClient(s.options())
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// restart stops the server cleanly, so that it writes out its data, and
// starts it again on the same port with the same directory.
func (s *redisServer) restart() {
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

// kill stops the server at once and waits for it.
func (s *redisServer) kill() {
	if s.cmd == nil || s.done == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
