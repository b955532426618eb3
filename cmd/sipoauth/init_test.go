package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/integration"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/keyfile"
)

// initFiles are the files init writes for device CSFrado, with their modes.
var initFiles = map[string]os.FileMode{
	"node-ca.pem": 0o644, "node.pem": 0o644, "node.key": 0o600,
	"edge-ca.pem": 0o644, "edge.pem": 0o644, "edge.key": 0o600,
	"signing-key.pem": 0o600, "signing-key.pub.pem": 0o644, "jwks.json": 0o644,
	"cluster-key.json": 0o600, "access-token.jwt": 0o600,
	"edge-proxies.json": 0o600, "devices.json": 0o644, "registrar.json": 0o644,
	"CSFrado.cnf.xml": 0o644, "NEXT.txt": 0o644,
}

// initDir runs init into a new directory and returns it.
func initDir(t *testing.T, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lab")
	r := cli(t, "", append([]string{"init"}, append(args, dir)...)...)
	r.want(t, exitOK)
	if !strings.Contains(r.stdout, filepath.Join(dir, "NEXT.txt")) {
		t.Errorf("init does not point at NEXT.txt:\n%s", r.stdout)
	}
	return dir
}

func TestInitFileModes(t *testing.T) {
	dir := initDir(t)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("DIR mode %04o, want 0700", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		want, known := initFiles[e.Name()]
		switch {
		case !known:
			t.Errorf("unexpected file %s", e.Name())
		case info.Mode().Perm() != want:
			t.Errorf("%s: mode %04o, want %04o", e.Name(), info.Mode().Perm(), want)
		}
	}
	if len(names) != len(initFiles) {
		t.Errorf("wrote %d files %v, want %d", len(names), names, len(initFiles))
	}

	// --json lists the same files and modes.
	dir2 := filepath.Join(t.TempDir(), "lab")
	r := cli(t, "", "init", "--json", dir2).want(t, exitOK)
	var rep initReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Dir != dir2 || len(rep.Files) != len(initFiles) || rep.OAuth != "127.0.0.1:5090" || rep.Edge != "127.0.0.1:5091" || rep.EdgeProxy != "127.0.0.1:5092" {
		t.Errorf("report %+v", rep)
	}
	for _, f := range rep.Files {
		if want := fmt.Sprintf("%04o", initFiles[f.Name]); f.Mode != want {
			t.Errorf("report: %s mode %s, want %s", f.Name, f.Mode, want)
		}
	}
}

// readCerts reads the PEM certificates of a file.
func readCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		t.Fatalf("%s: no certificate", path)
	}
	return certs
}

func TestInitCertificates(t *testing.T) {
	dir := initDir(t, "--host", "ucm1.example.com", "--host", "10.0.0.5")
	pool := func(name string) *x509.CertPool {
		p := x509.NewCertPool()
		for _, c := range readCerts(t, filepath.Join(dir, name)) {
			if !c.IsCA {
				t.Fatalf("%s: %s is not a CA", name, c.Subject)
			}
			p.AddCert(c)
		}
		return p
	}
	nodeCA, edgeCA := pool("node-ca.pem"), pool("edge-ca.pem")
	for _, tc := range []struct {
		file      string
		roots     *x509.CertPool
		otherRoot *x509.CertPool
		names     []string
	}{
		{"node.pem", nodeCA, edgeCA, []string{"localhost", "127.0.0.1", "::1", "ucm1.example.com", "10.0.0.5"}},
		{"edge.pem", edgeCA, nodeCA, []string{"expc1.localhost", "localhost", "127.0.0.1", "::1"}},
	} {
		chain := readCerts(t, filepath.Join(dir, tc.file))
		if len(chain) != 2 || !chain[1].IsCA {
			t.Fatalf("%s: %d certificates, want the leaf and its CA", tc.file, len(chain))
		}
		leaf := chain[0]
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			for _, name := range tc.names {
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: tc.roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
					t.Errorf("%s as %s for usage %d: %v", tc.file, name, usage, err)
				}
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: tc.roots, DNSName: "other.example.com"}); err == nil {
			t.Errorf("%s verifies for a name it does not carry", tc.file)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: tc.otherRoot, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
			t.Errorf("%s verifies against the other side's CA", tc.file)
		}
		if leaf.NotAfter.Before(time.Now().AddDate(0, 11, 0)) {
			t.Errorf("%s expires %s, want a year", tc.file, leaf.NotAfter)
		}
	}

	// The keys: the signing key's public half is in the PEM and the JWKS;
	// the cluster key has its kid.
	priv, err := os.ReadFile(filepath.Join(dir, "signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keyfile.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := keyfile.Fingerprint(signer.Public())
	for _, name := range []string{"signing-key.pub.pem", "jwks.json"} {
		data, _ := os.ReadFile(filepath.Join(dir, name))
		keys, err := keyfile.ParsePublicKeys(data)
		if err != nil || len(keys) != 1 {
			t.Fatalf("%s: %d keys, %v", name, len(keys), err)
		}
		if got, _ := keyfile.Fingerprint(keys[0].Public); got != want {
			t.Errorf("%s: key %s, want the signing key's %s", name, got, want)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "cluster-key.json"))
	cluster, err := keyfile.ParseClusterKeys(data, keyfile.ClusterKeySize)
	if err != nil || len(cluster) != 1 {
		t.Fatalf("cluster-key.json: %d keys, %v", len(cluster), err)
	}
	for kid, k := range cluster {
		if len(kid) != 36 || len(k) != keyfile.ClusterKeySize {
			t.Errorf("cluster key %q of %d bytes", kid, len(k))
		}
	}

	// The token verifies as the registrar will verify it.
	r := cli(t, "", "token", "verify", "--json", "--keys", filepath.Join(dir, "signing-key.pub.pem"),
		"--decryption-key", filepath.Join(dir, "cluster-key.json"), "--iss", initIssuer, "--aud", initAudience,
		"--device", "CSFrado", filepath.Join(dir, "access-token.jwt")).want(t, exitOK)
	if !strings.Contains(r.stdout, `"rado"`) {
		t.Errorf("token verify:\n%s", r.stdout)
	}

	// The edge-proxy table lets the edge certificate in; the devices
	// file and the configuration file name the device.
	table, err := edgetable.OpenFile(filepath.Join(dir, "edge-proxies.json"))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := table.List()
	if len(entries) != 1 || entries[0].HostNameOrIP != "expc1" || !slices.Contains(entries[0].Names, "expc1.localhost") {
		t.Errorf("edge-proxy table %+v", entries)
	}
	var devices []struct {
		Name, Owner string
		OAuth       bool
	}
	data, _ = os.ReadFile(filepath.Join(dir, "devices.json"))
	if err := json.Unmarshal(data, &devices); err != nil || len(devices) != 1 || devices[0] != (struct {
		Name, Owner string
		OAuth       bool
	}{"CSFrado", "rado", true}) {
		t.Errorf("devices.json %s: %v", data, err)
	}
	cnf, err := cnfxml.ParseFile(filepath.Join(dir, "CSFrado.cnf.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if cnf.UserID != "rado" || cnf.SIPOAuthMode != 1 || len(cnf.CallManagers) != 1 ||
		cnf.CallManagers[0].Name != "127.0.0.1" || cnf.CallManagers[0].Ports.SIPOAuth != 5090 || cnf.CallManagers[0].Ports.SIPMRAOAuth != 5091 {
		t.Errorf("CSFrado.cnf.xml: user %q, mode %d, call managers %+v", cnf.UserID, cnf.SIPOAuthMode, cnf.CallManagers)
	}
	cli(t, "", "cnf", "check", filepath.Join(dir, "CSFrado.cnf.xml")).want(t, exitOK)
}

func TestInitRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "mine.txt")
	if err := os.WriteFile(mine, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "", "init", dir).want(t, exitUsage)
	if !strings.Contains(r.stderr, "not empty") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "node.pem")); err == nil {
		t.Error("init wrote into a non-empty directory")
	}
	// --force writes, and leaves other files alone.
	cli(t, "", "init", "--force", dir).want(t, exitOK)
	if b, err := os.ReadFile(mine); err != nil || string(b) != "keep" {
		t.Errorf("mine.txt: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node.pem")); err != nil {
		t.Error(err)
	}
	// --force again starts the edge-proxy table afresh.
	table, err := edgetable.OpenFile(filepath.Join(dir, "edge-proxies.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := table.Put(edgetable.Entry{HostNameOrIP: "old", Names: []string{"old.example.com"}}); err != nil {
		t.Fatal(err)
	}
	cli(t, "", "init", "--force", dir).want(t, exitOK)
	table, err = edgetable.OpenFile(filepath.Join(dir, "edge-proxies.json"))
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := table.List(); len(entries) != 1 || entries[0].HostNameOrIP != "expc1" {
		t.Errorf("edge-proxy table after --force: %+v", entries)
	}
	// A file where DIR should be.
	cli(t, "", "init", mine).want(t, exitUsage)
}

func TestInitUsage(t *testing.T) {
	for _, args := range [][]string{{"init", "--help"}, {"help", "init"}, {"init", "-h"}} {
		r := cli(t, "", args...).want(t, exitOK)
		if r.stdout != cmdInit.usage {
			t.Errorf("%v:\n%s", args, r.stdout)
		}
	}
	if !strings.Contains(usageText, "\n  init DIR ") {
		t.Error("the usage text does not list init")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init"}, "one DIR expected, got 0"},
		{[]string{"init", "a", "b"}, "one DIR expected, got 2"},
		{[]string{"init", "--port-base", "65534", "d"}, "--port-base 65534"},
		{[]string{"init", "--device", "CSF rado", "d"}, "--device"},
		{[]string{"init", "--user", "ra do", "d"}, "--user"},
		{[]string{"init", "--host", "a b", "d"}, "not a host name"},
	} {
		r := cli(t, "", tc.args...).want(t, exitUsage)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: stderr\n%s\nwant %q", tc.args, r.stderr, tc.want)
		}
	}
}

// freePortBase returns a port p such that p, p+1 and p+2 are free on
// 127.0.0.1.
func freePortBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if base > 65533 {
			continue
		}
		free := true
		for p := base; p < base+3 && free; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no three free ports in a row")
	return 0
}

// TestInitDeploymentRuns builds the programs, starts the registrar and
// the edge proxy as NEXT.txt says, mints a token with its command and
// registers the device directly and through the edge proxy with its
// client commands.
func TestInitDeploymentRuns(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		integration.Missing(t, "no go tool on PATH to build the programs NEXT.txt runs")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		integration.Missing(t, "no sh on PATH to run NEXT.txt's commands")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	bin := t.TempDir()
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin+string(filepath.Separator),
		".", "../sipoauth-registrar", "../sipoauth-edge", "../sipoauth-client")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	base := freePortBase(t)
	dir := initDir(t, "--port-base", strconv.Itoa(base))
	next, err := os.ReadFile(filepath.Join(dir, "NEXT.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The commands of NEXT.txt, by program: go run ./cmd/X becomes the
	// binary built, exec'd by the shell so that a signal reaches it.
	commands := map[string][]string{}
	for line := range strings.SplitSeq(string(next), "\n") {
		line = strings.TrimSpace(line)
		for _, prog := range []string{"sipoauth-registrar", "sipoauth-edge", "sipoauth-client", "sipoauth"} {
			run := "go run ./cmd/" + prog + " "
			if i := strings.Index(line, run); i >= 0 && (i == 0 || line[i-1] == ' ') {
				if prog == "sipoauth" && !strings.Contains(line, " token mint ") {
					break
				}
				commands[prog] = append(commands[prog], line[:i]+"exec "+filepath.Join(bin, prog)+" "+line[i+len(run):])
				break
			}
		}
	}
	if len(commands["sipoauth-registrar"]) != 1 || len(commands["sipoauth-edge"]) != 1 || len(commands["sipoauth-client"]) != 2 || len(commands["sipoauth"]) != 1 {
		t.Fatalf("NEXT.txt: commands %q\n%s", commands, next)
	}

	// started is a program started from a line of NEXT.txt.
	type started struct {
		cmd  *exec.Cmd
		out  *syncbuf.Buffer
		done chan struct{} // closed when it has exited, with err
		err  error
	}
	start := func(line string) *started {
		t.Helper()
		p := &started{out: new(syncbuf.Buffer), done: make(chan struct{}), cmd: exec.Command(sh, "-c", line)}
		p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.err = p.cmd.Wait(); close(p.done) }()
		t.Cleanup(func() {
			p.cmd.Process.Kill()
			<-p.done
		})
		return p
	}
	waitPort := func(port int, what string, p *started) {
		t.Helper()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return
			}
			select {
			case <-p.done:
				t.Fatalf("%s exited: %v\n%s", what, p.err, p.out)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not listen on %s:\n%s", what, addr, p.out)
			}
		}
	}
	reg := start(commands["sipoauth-registrar"][0])
	waitPort(base, "the registrar's OAuth port", reg)
	waitPort(base+1, "the registrar's edge port", reg)
	edge := start(commands["sipoauth-edge"][0])
	waitPort(base+2, "the edge proxy", edge)

	// The mint command replaces the token init wrote.
	before, _ := os.ReadFile(filepath.Join(dir, "access-token.jwt"))
	if out, err := exec.CommandContext(ctx, sh, "-c", commands["sipoauth"][0]).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", commands["sipoauth"][0], err, out)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "access-token.jwt"))
	if len(after) < 100 || string(after) == string(before) {
		t.Fatalf("token mint wrote %q", after)
	}

	for i, what := range []string{"directly", "through the edge proxy"} {
		c := start(commands["sipoauth-client"][i])
		out := c.out
		for deadline := time.Now().Add(15 * time.Second); !strings.Contains(out.String(), "registered at "); time.Sleep(50 * time.Millisecond) {
			exited := false
			select {
			case <-c.done:
				exited = true
			default:
			}
			if exited || time.Now().After(deadline) {
				t.Fatalf("client %s did not register (exit: %v):\n%s\nregistrar:\n%s\nedge proxy:\n%s", what, c.err, out, reg.out, edge.out)
			}
		}
		if !strings.Contains(out.String(), "<- 200 OK") {
			t.Errorf("client %s: no 200 OK:\n%s", what, out)
		}
		// Ctrl-C: the client unregisters and exits 0.
		c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("client %s did not stop on SIGINT:\n%s", what, out)
		}
		if c.err != nil {
			t.Errorf("client %s: %v\n%s", what, c.err, out)
		}
		if !strings.Contains(out.String(), "unregistered from ") {
			t.Errorf("client %s did not unregister:\n%s", what, out)
		}
	}
}
