package registrar_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/integration"

	"github.com/sipoauth/sdk/internal/testca"
)

const kamailioModules = "/usr/lib/x86_64-linux-gnu/kamailio/modules"

// startKamailio runs Kamailio (Debian's kamailio and kamailio-tls-modules)
// with testdata/kamailio-path.cfg on 127.0.0.1 in front of the edge port
// at node, with cert as its client certificate; it returns its TLS port.
// Without Kamailio the test is skipped, or fails with
// SIPOAUTH_INTEGRATION=1.
func startKamailio(t *testing.T, node string, ca *testca.CA, cert, serverCert *testca.Leaf) int {
	t.Helper()
	skip := func(format string, args ...any) { integration.Missing(t, format, args...) }
	bin, err := exec.LookPath("kamailio")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/kamailio"); serr != nil {
			skip("kamailio not installed (apt-get install kamailio kamailio-tls-modules)")
		}
		bin = "/usr/sbin/kamailio"
	}
	for _, m := range []string{"tls.so", "path.so", "tm.so"} {
		if _, err := os.Stat(filepath.Join(kamailioModules, m)); err != nil {
			skip("Kamailio's %s missing (apt-get install kamailio kamailio-tls-modules)", m)
		}
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tlsCfg := "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n" +
		"private_key = " + write("server.key", serverCert.KeyPEM()) + "\ncertificate = " + write("server.pem", serverCert.CertPEM()) + "\n\n" +
		"[client:default]\nmethod = TLSv1.2+\nverify_certificate = yes\nrequire_certificate = yes\n" +
		"private_key = " + write("client.key", cert.KeyPEM()) + "\ncertificate = " + write("client.pem", cert.CertPEM()) + "\n" +
		"ca_list = " + write("node-ca.pem", testca.CertPEM(ca.Cert)) + "\n"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg, err := filepath.Abs("testdata/kamailio-path.cfg")
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "kamailio.log")
	logOut, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer logOut.Close()
	cmd := exec.Command(bin, "-f", cfg, "-DD", "-E", "-m", "64", "-M", "8", "-P", filepath.Join(dir, "kam.pid"), "-Y", dir,
		"-A", "KAM_PORT="+strconv.Itoa(port), "-A", `KAM_TLSCFG="`+write("tls.cfg", []byte(tlsCfg))+`"`, "-A", `NODE="`+node+`"`)
	// Its own process group, with its children (Kamailio forks its
	// workers): killed together.
	cmd.Stdout, cmd.Stderr = logOut, logOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	log := func() string { b, _ := os.ReadFile(logFile); return string(b) }
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("kamailio's log:\n%s", log())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return port
		}
		select {
		case <-done:
			t.Fatalf("kamailio exited:\n%s", log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio not listening on %s after 20 s:\n%s", addr, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKamailioPath: Kamailio, a SIP proxy nobody here wrote, relays a
// Jabber-shaped REGISTER over mutual TLS to the edge port, adding its Path
// with its path module; the registrar stores that Path, echoes it in the
// 200 OK (which Kamailio relays back), and Lookup gives it as the route
// set, exactly as Kamailio wrote it.
func TestKamailioPath(t *testing.T) {
	l := newRouteLab(t)
	port := startKamailio(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(l.edgePort)), l.nodeCA, l.kamailioCert, l.nodeCA.Server(t, "127.0.0.1"))
	w := l.dialRaw(t, port, nil)
	res := w.register(t, "alice", "CSFalice", l.token(t, "alice", "CSFalice"), nil)
	if !strings.HasPrefix(res, "SIP/2.0 200 OK\r\n") {
		t.Fatalf("the answer through Kamailio:\n%s", res)
	}
	var echoed []string
	for _, line := range strings.Split(res, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Path: "); ok {
			echoed = append(echoed, v)
		}
	}
	want := "<sip:kamailio-flow@127.0.0.1:" + strconv.Itoa(port) + ";transport=tls;lr;received="
	if len(echoed) != 1 || !strings.HasPrefix(echoed[0], want) || !strings.Contains(res, "\r\nSupported: path\r\n") {
		t.Fatalf("Path echoed %q, want one starting %q:\n%s", echoed, want, res)
	}
	cs, err := l.reg.Lookup(context.Background(), "alice")
	if err != nil || len(cs) != 1 || len(cs[0].Path) != 1 || cs[0].Path[0] != echoed[0] {
		t.Fatalf("Lookup: %+v, %v; want the route set %q", cs, err, echoed)
	}
	t.Logf("Kamailio's Path, stored and echoed: %s", echoed[0])
}
