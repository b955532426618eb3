package testredis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/integration"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

// Server is a redis-server process of one test, on a loopback port.
type Server struct {
	t    testing.TB
	bin  string
	cfg  Config
	port int

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	log  *syncbuf.Buffer
}

// Config is how a server is started.
type Config struct {
	// Dir holds its data; a directory of the test's when empty.
	Dir string
	// AppendOnly turns the append-only file on.
	AppendOnly bool
	// Args are more redis-server arguments ("--cluster-enabled", "yes").
	Args []string
	// Username and Password, if set, are an ACL user the server is given
	// (with every right) and the default user is turned off; Options
	// logs in as it. Username alone empty: the password of the default
	// user (requirepass).
	Username, Password string
	// TLSCert, if set, makes the server take TLS only, with this
	// certificate (written to files for it), asking clients for one
	// signed by the CA in the PEM file TLSClientCAFile; Options then
	// uses ClientTLS.
	TLSCert         *tls.Certificate
	TLSClientCAFile string
	ClientTLS       *tls.Config
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
	return StartConfig(t, Config{Dir: dir, AppendOnly: appendOnly})
}

// StartConfig starts redis-server as cfg says; see Start.
func StartConfig(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s := &Server{t: t, bin: bin, cfg: cfg}
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

// lookPath finds a program of the redis-server package, or skips the
// test (fails it when SIPOAUTH_INTEGRATION=1).
func lookPath(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		integration.Missing(t, "%s not installed; apt-get install redis-server", name)
	}
	return bin
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
	if s.cfg.AppendOnly {
		aof = "yes"
	}
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", aof, "--dir", s.cfg.Dir}
	switch {
	case s.cfg.Username != "":
		args = append(args, "--user", "default", "off", "--user", s.cfg.Username, "on", ">"+s.cfg.Password, "~*", "&*", "+@all")
	case s.cfg.Password != "":
		args = append(args, "--requirepass", s.cfg.Password)
	}
	if s.cfg.TLSCert != nil {
		certFile, keyFile, err := writeKeyPair(s.cfg.Dir, *s.cfg.TLSCert)
		if err != nil {
			return err
		}
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(s.port),
			"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", s.cfg.TLSClientCAFile)
	}
	args = append(args, s.cfg.Args...)
	s.log = new(syncbuf.Buffer)
	s.cmd = exec.Command(s.bin, args...)
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

// writeKeyPair writes cert's chain and key as PEM files in dir.
func writeKeyPair(dir string, cert tls.Certificate) (certFile, keyFile string, err error) {
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	if err := os.WriteFile(certFile, chain, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
}

// Options are client options for the server, with short timeouts.
func (s *Server) Options() *redis.Options {
	return &redis.Options{
		Addr:            s.Addr(),
		Username:        s.cfg.Username,
		Password:        s.cfg.Password,
		TLSConfig:       s.cfg.ClientTLS,
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

// Kill kills the server (SIGKILL), as a crash would; StartAgain brings
// it back on the same port with the same directory.
func (s *Server) Kill() {
	s.t.Helper()
	s.kill()
}

// StartAgain starts the server again after Kill, on the same port.
func (s *Server) StartAgain() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("starting redis-server again: %v\n%s", err, s.log)
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
