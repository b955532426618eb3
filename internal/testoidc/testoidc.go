package testoidc

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/integration"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

// Clients known to the provider.
const (
	// ResourceServer is the registrar's own client, for introspection
	// and the client credentials grant; ResourceServerSecret its secret.
	ResourceServer       = "sip-registrar"
	ResourceServerSecret = "n0de-secret"
	// SoftClient is a soft client's client: a public native client (no
	// secret, PKCE) with the authorization code grant and a loopback
	// redirect URI (RFC 8252, any port), the device authorization grant
	// (RFC 8628) and refresh tokens.
	SoftClient = "sip-softphone"
	// SoftClientRedirect is SoftClient's registered redirect URI; as a
	// native client's, any port of it is accepted.
	SoftClientRedirect = "http://127.0.0.1/callback"
	// Resource is the resource indicator (RFC 8707) whose access tokens
	// are JWTs for the audience Audience with the scope Scope; Opaque's
	// are opaque, for introspection.
	Resource = "urn:sipoauth:registrar"
	Opaque   = "urn:sipoauth:opaque"
	Audience = "sip"
	Scope    = "sip:register"
)

// provider configures oidc-provider: JWT access tokens for Resource,
// opaque ones for Opaque, the client credentials, authorization code,
// device and refresh grants, its development sign-in pages (any login
// and password), introspection and revocation. Its signing keys are
// RSA keys made at start; a line "rotate" on its standard input puts a
// new key first (the one that signs) and keeps the others, and it answers
// "rotated <kid>". Its tokens and grants are kept in one store of
// oidc-provider's memory adapter that every instance of the process
// shares, so that a rotation loses none.
const provider = `import Provider from 'oidc-provider';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
const port = Number(process.argv[2]);
const issuer = 'http://127.0.0.1:' + port;
const newKey = () => ({ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: randomUUID(), alg: 'RS256', use: 'sig' });
const adapter = createMemoryAdapter();
const make = (keys) => new Provider(issuer, {
  adapter,
  jwks: { keys },
  cookies: { keys: ['testoidc-cookie-key'] },
  clients: [
    { client_id: '` + ResourceServer + `', client_secret: '` + ResourceServerSecret + `',
      grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
    { client_id: '` + SoftClient + `', application_type: 'native', token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'], redirect_uris: ['` + SoftClientRedirect + `'] },
  ],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
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
const start = (keys) => {
  const p = make(keys);
  for (const ev of ['grant.error', 'server_error', 'authorization.error', 'revocation.error', 'introspection.error']) {
    p.on(ev, (ctx, err) => console.error(ev + ': ' + err.message + (err.error_detail ? ' (' + err.error_detail + ')' : '')));
  }
  return p.callback();
};
let keys = [newKey()];
let handler = start(keys);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'rotate') return;
  keys = [newKey(), ...keys];
  handler = start(keys);
  console.log('rotated ' + keys[0].kid);
});
createServer((req, res) => handler(req, res)).listen(port, '127.0.0.1', () => console.log('ready ' + issuer + ' ' + keys[0].kid));
`

// Provider is a running oidc-provider.
type Provider struct {
	// Issuer is its issuer URL, http on 127.0.0.1.
	Issuer string

	stdin io.Writer
	lines chan string // its standard output after "ready"
	mu    sync.Mutex
	kid   string
}

// Start runs oidc-provider until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	skip := func(format string, args ...any) { integration.Missing(t, format, args...) }
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
	in, err := cmd.StdinPipe()
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
	p := &Provider{stdin: in, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody waits for it
			}
		}
	}()
	select {
	case line := <-p.lines:
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "ready" {
			t.Fatalf("oidc-provider printed %q, want ready <issuer> <kid>", line)
		}
		p.Issuer, p.kid = f[1], f[2]
		return p
	case <-done:
		t.Fatalf("oidc-provider exited: %s", log)
	case <-time.After(30 * time.Second):
		t.Fatalf("oidc-provider not ready within 30s: %s", log)
	}
	return nil
}

// KeyID is the key id of the key that signs the provider's tokens now.
func (p *Provider) KeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kid
}

// Rotate makes a new signing key and returns its key id: tokens are
// signed with it from now on, and the JWKS lists it first, before the
// keys it had. Tokens, grants and sign-in sessions are kept.
func (p *Provider) Rotate(t testing.TB) string {
	t.Helper()
	if _, err := io.WriteString(p.stdin, "rotate\n"); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line := <-p.lines:
			kid, ok := strings.CutPrefix(line, "rotated ")
			if !ok {
				continue // one of its notices
			}
			p.mu.Lock()
			p.kid = kid
			p.mu.Unlock()
			return kid
		case <-timeout:
			t.Fatal("oidc-provider did not rotate its keys within 30s")
			return ""
		}
	}
}
