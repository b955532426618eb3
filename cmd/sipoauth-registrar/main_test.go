package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

func TestRunBadConfiguration(t *testing.T) {
	var out, errs syncbuf.Buffer
	if code := run(context.Background(), []string{"-oauth", "nowhere", "-devices", ""}, &out, &errs); code != 2 {
		t.Fatalf("exit %d", code)
	}
	want := "registrar: bad configuration:\n  -oauth: \"nowhere\" is not host:port: missing port in address\n"
	if !strings.HasPrefix(errs.String(), want) || !strings.Contains(errs.String(), "\n  -devices: missing") ||
		!strings.HasSuffix(errs.String(), "registrar -h lists the settings.\n") || out.String() != "" {
		t.Fatalf("stderr:\n%s\nstdout:\n%s", &errs, &out)
	}

	// A file that a setting names and that cannot be used is a bad
	// configuration too.
	f := newFixture(t)
	errs = syncbuf.Buffer{}
	if code := run(context.Background(), f.args("-devices", filepath.Join(f.dir, "absent.json")), &out, &errs); code != 2 {
		t.Fatalf("absent devices file: exit %d\n%s", code, &errs)
	}
	if !strings.Contains(errs.String(), "registrar: -devices: registrar: devices: open ") {
		t.Fatalf("stderr:\n%s", &errs)
	}

	out = syncbuf.Buffer{}
	if code := run(context.Background(), []string{"-h"}, &out, &errs); code != 0 || !strings.Contains(out.String(), "-plaintext-for-load-tests address") {
		t.Fatalf("-h: exit %d\n%s", code, &out)
	}
}

// TestRunSIGTERM runs the command from a config file, with flags
// overriding it, prints the addresses, serves, and stops on SIGTERM with
// status 0, its ports closed.
func TestRunSIGTERM(t *testing.T) {
	f := newFixture(t)
	conf := filepath.Join(f.dir, "registrar.json")
	// Relative paths, as in a deployment's directory.
	writeFile(t, conf, `{
		"oauth": "0.0.0.0:5090", "edge": "127.0.0.1:0", "legacy": "127.0.0.1:0",
		"cert": "node.pem", "key": "node.key", "trust": "edge-ca.pem", "edge-table": "edge-proxies.json",
		"keys": "authz.pem", "decryption-key": "cluster-key.json", "devices": "devices.json",
		"issuer": ["`+issuerName+`"], "audience": "`+audience+`", "node-name": "UCM2-PUB", "max-expires": "90s", "log-level": "warn"
	}`)
	var out, errs syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"-config", conf, "-oauth", "127.0.0.1:0", "-metrics", "127.0.0.1:0"}, &out, &errs)
	}()

	line := regexp.MustCompile(`(?m)^listening (\S+) +(\S+) +(127\.0\.0\.1:\d+)$`)
	deadline := time.Now().Add(20 * time.Second)
	for len(line.FindAllString(out.String(), -1)) < 5 {
		select {
		case code := <-done:
			t.Fatalf("exit %d\n%s\n%s", code, &out, &errs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not listening:\n%s\n%s", &out, &errs)
		}
	}
	addrs := map[string]string{}
	for _, m := range line.FindAllStringSubmatch(out.String(), -1) {
		addrs[m[1]+" "+m[2]] = m[3]
	}
	for _, k := range []string{"oauth tls", "edge tls", "legacy tcp", "legacy udp", "metrics http"} {
		if addrs[k] == "" {
			t.Fatalf("no %s in\n%s", k, &out)
		}
	}

	c := f.client(addrs["oauth tls"], "TLS", nil)
	req := c.register("CSFrado", "rado")
	req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Bearer token="`+f.mint("rado", "CSFrado", nil)+`"`))
	if res := c.do(t, req); res.StatusCode != 200 || header(res, "Expires") != "90" {
		t.Fatalf("registration:\n%s", res)
	}

	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, &errs)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGTERM\n%s", &errs)
	}
	for _, k := range []string{"oauth tls", "edge tls", "legacy tcp", "metrics http"} {
		if conn, err := net.DialTimeout("tcp", addrs[k], time.Second); err == nil {
			conn.Close()
			t.Errorf("%s %s still accepts connections", k, addrs[k])
		}
	}
	if strings.Contains(errs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", &errs)
	}
}
