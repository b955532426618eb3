package testoidc

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

// Clients known to the provider.
const (
	// ResourceServer is the registrar's own client, for introspection
	// and the client credentials grant; ResourceServerSecret its secret.
	ResourceServer       = "sip-registrar"
	ResourceServerSecret = "n0de-secret"
	// Resource is the resource indicator (RFC 8707) whose access tokens
	// are JWTs for the audience Audience with the scope Scope; Opaque's
	// are opaque, for introspection.
	Resource = "urn:sipoauth:registrar"
	Opaque   = "urn:sipoauth:opaque"
	Audience = "sip"
	Scope    = "sip:register"
)

// provider configures oidc-provider: JWT access tokens for Resource,
// opaque ones for Opaque, the client credentials grant, introspection and
// revocation.
const provider = `import Provider from 'oidc-provider';
const port = Number(process.argv[2]);
const issuer = 'http://127.0.0.1:' + port;
const p = new Provider(issuer, {
  clients: [{ client_id: '` + ResourceServer + `', client_secret: '` + ResourceServerSecret + `',
    grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => '` + Resource + `',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({ scope: '` + Scope + `', audience: '` + Audience + `',
        accessTokenFormat: resource === '` + Opaque + `' ? 'opaque' : 'jwt' }),
    },
  },
});
p.listen(port, '127.0.0.1', () => console.log('ready ' + issuer));
`

// Provider is a running oidc-provider.
type Provider struct {
	// Issuer is its issuer URL, http on 127.0.0.1.
	Issuer string
}

// Start runs oidc-provider until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("SIPOAUTH_INTEGRATION") == "1" {
		skip = t.Fatalf
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node not installed")
	}
	dir := os.Getenv("SIPOAUTH_OIDC_PROVIDER_DIR")
	if dir == "" {
		skip("SIPOAUTH_OIDC_PROVIDER_DIR not set: npm install --prefix DIR oidc-provider@9, then point it at DIR")
	}
	modules, err := filepath.Abs(filepath.Join(dir, "node_modules"))
	if err == nil {
		_, err = os.Stat(filepath.Join(modules, "oidc-provider"))
	}
	if err != nil {
		skip("oidc-provider not installed in %s: %v", dir, err)
	}
	// The script beside a link to the modules, where Node's resolution
	// finds them.
	work := t.TempDir()
	if err := os.Symlink(modules, filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(work, "provider.mjs")
	if err := os.WriteFile(script, []byte(provider), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	log := new(syncbuf.Buffer)
	cmd := exec.Command(node, script, strconv.Itoa(port))
	cmd.Dir = work
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("oidc-provider's log:\n%s", log)
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if issuer, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- issuer
			}
		}
	}()
	select {
	case issuer := <-ready:
		return &Provider{Issuer: issuer}
	case <-done:
		t.Fatalf("oidc-provider exited: %s", log)
	case <-time.After(30 * time.Second):
		t.Fatalf("oidc-provider not ready within 30s: %s", log)
	}
	return nil
}
