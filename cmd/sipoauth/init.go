package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/keyfile"
)

var cmdInit = &command{name: "init", usage: `usage: sipoauth init [--port-base 5090] [--host NAME]... [--device CSFrado] [--user rado]
                     [--force] [--json] DIR

Writes a complete local deployment into DIR, to run the standalone
registrar, the edge proxy and the client on 127.0.0.1:
  node-ca.pem, node.pem, node.key    the node's CA and certificate (server
                                     and client auth; localhost, 127.0.0.1,
                                     ::1 and each --host)
  edge-ca.pem, edge.pem, edge.key    the edge proxy's CA and certificate
  signing-key.pem, signing-key.pub.pem, jwks.json
                                     the token signing key and its public key
  cluster-key.json                   the key of Unified CM's nested tokens
  edge-proxies.json, devices.json    the edge-proxy table and the devices
  registrar.json                     sipoauth-registrar -config file
  <DEVICE>.cnf.xml                   the device's configuration file
  access-token.jwt                   an access token of the device, valid 24h
  NEXT.txt                           the commands to run them
The registrar listens on --port-base (OAuth) and the next port (edge), the
edge proxy on the one after. Private keys, the cluster key and the token
are mode 0600, DIR 0700. A DIR that is not empty is refused unless --force,
which overwrites the files of the same names.
`}

func init() { cmdInit.run = (*env).initDeployment }

// Names of the deployment written by init.
const (
	initIssuer   = "https://localhost"
	initAudience = "sip"
	initNodeName = "sipoauth-lab"
	initEdgeHost = "expc1"
	initEdgeName = "expc1.localhost"
	initTTL      = 24 * time.Hour
)

// hostList is the repeatable --host flag.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" || len(n) > 253 || (strings.ContainsAny(n, " \t/\\@:") && net.ParseIP(n) == nil) {
			return fmt.Errorf("%q is not a host name or IP address", n)
		}
		*h = append(*h, n)
	}
	return nil
}

// initFile is one file written by init.
type initFile struct {
	Name string `json:"name"`
	Mode string `json:"mode"`
	What string `json:"what"`
}

// initReport is what init --json prints.
type initReport struct {
	Dir       string     `json:"dir"`
	Files     []initFile `json:"files"`
	OAuth     string     `json:"oauth"`
	Edge      string     `json:"edge"`
	EdgeProxy string     `json:"edgeProxy"`
	Device    string     `json:"device"`
	User      string     `json:"user"`
	TokenExp  time.Time  `json:"tokenExpiresAt"`
	KeyID     string     `json:"keyId"`
}

func (e *env) initDeployment(args []string) int {
	c := cmdInit
	fs, asJSON := c.flags()
	var hosts hostList
	fs.Var(&hosts, "host", "")
	portBase := fs.Int("port-base", 5090, "")
	device := fs.String("device", "CSFrado", "")
	user := fs.String("user", "rado", "")
	force := fs.Bool("force", false, "")
	pos, st, ok := e.parse(c, fs, args)
	if !ok {
		return st
	}
	switch {
	case len(pos) != 1:
		return e.usageError(c, "one DIR expected, got %d arguments", len(pos))
	case *portBase < 1 || *portBase > 65533:
		return e.usageError(c, "--port-base %d: want 1 to 65533 (three ports from it)", *portBase)
	case !cnfxml.ValidDeviceName(*device):
		return e.usageError(c, "--device %q is not a device name", *device)
	case *user == "" || strings.IndexFunc(*user, func(r rune) bool { return r <= ' ' || r > '~' || r == '@' || r == ':' }) >= 0:
		return e.usageError(c, "--user %q: want a user name (printable characters without spaces, @ or :)", *user)
	}
	dir, err := filepath.Abs(pos[0])
	if err != nil {
		return e.inputError(c, err)
	}
	if err := prepareDir(dir, *force); err != nil {
		return e.inputError(c, err)
	}
	rep, err := writeDeployment(dir, deploymentSpec{
		hosts: hosts, portBase: *portBase, device: *device, user: *user, now: e.now(),
	})
	if err != nil {
		return e.inputError(c, err)
	}
	if *asJSON {
		writeJSON(e.stdout, rep)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "wrote a local deployment into %s:\n", dir)
	for _, f := range rep.Files {
		fmt.Fprintf(e.stdout, "  %-22s %s  %s\n", f.Name, f.Mode, f.What)
	}
	fmt.Fprintf(e.stdout, "next: %s\n", filepath.Join(dir, "NEXT.txt"))
	return exitOK
}

// prepareDir makes dir (mode 0700) or checks that it is empty, unless
// force.
func prepareDir(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o700)
	case err != nil:
		return err
	case len(entries) > 0 && !force:
		return fmt.Errorf("%s is not empty (%d entries): give an empty or new directory, or --force to overwrite", dir, len(entries))
	}
	return os.Chmod(dir, 0o700)
}

// deploymentSpec is what init writes.
type deploymentSpec struct {
	hosts        []string
	portBase     int
	device, user string
	now          time.Time
}

// writer writes the files of a deployment and records them.
type writer struct {
	dir   string
	files []initFile
	err   error
}

func (w *writer) write(name string, mode fs.FileMode, what string, data []byte) {
	if w.err != nil {
		return
	}
	path := filepath.Join(w.dir, name)
	// Remove first, so that an older file's mode does not stay.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.err = err
		return
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		w.err = err
		return
	}
	// The umask may have taken bits away from a public file.
	if err := os.Chmod(path, mode); err != nil {
		w.err = err
		return
	}
	w.files = append(w.files, initFile{Name: name, Mode: fmt.Sprintf("%04o", mode), What: what})
}

func (w *writer) json(name string, mode fs.FileMode, what string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		w.err = errors.Join(w.err, err)
		return
	}
	w.write(name, mode, what, append(b, '\n'))
}

// writeDeployment writes the files of s into dir, which exists.
func writeDeployment(dir string, s deploymentSpec) (*initReport, error) {
	w := &writer{dir: dir}
	oauthPort, edgePort, proxyPort := s.portBase, s.portBase+1, s.portBase+2
	rep := &initReport{Dir: dir, Device: s.device, User: s.user,
		OAuth:     net.JoinHostPort("127.0.0.1", strconv.Itoa(oauthPort)),
		Edge:      net.JoinHostPort("127.0.0.1", strconv.Itoa(edgePort)),
		EdgeProxy: net.JoinHostPort("127.0.0.1", strconv.Itoa(proxyPort)),
	}

	// Certificates: the node's, which the clients and the edge proxy
	// verify, and the edge proxy's, which the node and the clients verify.
	nodeCA, err := newCA("sipoauth lab node CA", s.now)
	if err != nil {
		return nil, err
	}
	edgeCA, err := newCA("sipoauth lab edge CA", s.now)
	if err != nil {
		return nil, err
	}
	nodeNames := append([]string{"localhost", "127.0.0.1", "::1"}, s.hosts...)
	nodeChain, nodeKey, err := nodeCA.issue(initNodeName, nodeNames, s.now)
	if err != nil {
		return nil, err
	}
	edgeChain, edgeKey, edgeLeaf, err := edgeCA.issueLeaf(initEdgeName, []string{initEdgeName, "localhost", "127.0.0.1", "::1"}, s.now)
	if err != nil {
		return nil, err
	}
	w.write("node-ca.pem", 0o644, "node CA: trust of the clients (direct) and of the edge proxy", nodeCA.pem())
	w.write("node.pem", 0o644, "node certificate and its CA (registrar -cert)", nodeChain)
	w.write("node.key", 0o600, "node private key (registrar -key)", nodeKey)
	w.write("edge-ca.pem", 0o644, "edge CA: trust of the registrar's edge port and of the clients (MRA)", edgeCA.pem())
	w.write("edge.pem", 0o644, "edge proxy certificate and its CA (sipoauth-edge -cert)", edgeChain)
	w.write("edge.key", 0o600, "edge proxy private key (sipoauth-edge -key)", edgeKey)

	// Token keys: an RSA signing key (Unified CM signs RS256) and a
	// cluster key that encrypts the private claims of nested tokens.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	signingPEM, err := privatePEM(rsaKey)
	if err != nil {
		return nil, err
	}
	clusterKey := make([]byte, keyfile.ClusterKeySize)
	rand.Read(clusterKey)
	clusterKID, err := newUUID()
	if err != nil {
		return nil, err
	}
	is, err := issuer.New(issuer.Config{
		Issuer: initIssuer, Audience: []string{initAudience}, SigningKeyPEM: signingPEM,
		EncryptionKey: clusterKey, EncryptionKeyID: clusterKID, Nested: true,
		Now: func() time.Time { return s.now },
	})
	if err != nil {
		return nil, err
	}
	token, err := is.Mint(issuer.TokenRequest{User: s.user, Device: s.device, TTL: initTTL})
	if err != nil {
		return nil, err
	}
	rep.KeyID = is.KeyID()
	rep.TokenExp = s.now.Add(initTTL).UTC().Truncate(time.Second)
	w.write("signing-key.pem", 0o600, "token signing key, RSA (sipoauth token mint --key)", signingPEM)
	w.write("signing-key.pub.pem", 0o644, "its public key (registrar -keys, sipoauth-edge -keys)", is.PublicKeyPEM())
	w.write("jwks.json", 0o644, "the same public key as a JWKS", is.JWKS())
	w.json("cluster-key.json", 0o600, "cluster key by kid (registrar -decryption-key, sipoauth-edge -cluster-key)",
		map[string]string{clusterKID: base64.StdEncoding.EncodeToString(clusterKey)})
	w.write("access-token.jwt", 0o600, "access token of the device, Unified CM's nested shape, valid 24h", []byte(token+"\n"))

	// The edge-proxy table, written by package edgetable itself (mode
	// 0600, its choice for the file that decides which proxies the node
	// trusts). --force starts it afresh.
	if w.err == nil {
		if err := os.Remove(filepath.Join(dir, "edge-proxies.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.err = err
		} else if table, err := edgetable.OpenFile(filepath.Join(dir, "edge-proxies.json")); err != nil {
			w.err = err
		} else if err := table.Put(edgetable.EntryFor(initEdgeHost, edgeLeaf)); err != nil {
			w.err = err
		} else {
			w.files = append(w.files, initFile{Name: "edge-proxies.json", Mode: "0600", What: "edge-proxy table listing the edge proxy (registrar -edge-table)"})
		}
	}
	w.json("devices.json", 0o644, "the devices (registrar -devices)", []map[string]any{
		{"name": s.device, "owner": s.user, "oauth": true},
	})
	// Paths in the registrar's config file are relative to it.
	w.json("registrar.json", 0o644, "registrar settings (sipoauth-registrar -config)", map[string]any{
		"oauth": rep.OAuth, "edge": rep.Edge,
		"cert": "node.pem", "key": "node.key", "trust": "edge-ca.pem", "edge-table": "edge-proxies.json",
		"keys": "signing-key.pub.pem", "decryption-key": "cluster-key.json",
		"issuer": []string{initIssuer}, "audience": []string{initAudience},
		"devices": "devices.json", "node-name": initNodeName, "log-level": "info",
	})
	cnf := cnfxml.NewCSF(s.device)
	cnf.UserID, cnf.OwnerID = s.user, s.user
	cnf.CallManagers = []cnfxml.CallManager{{
		Name: "127.0.0.1", Description: initNodeName, ProcessNodeName: initNodeName,
		Ports: cnfxml.Ports{SIP: 5060, SecuredSIP: 5061, SIPOAuth: oauthPort, SIPMRAOAuth: edgePort},
	}}
	w.write(s.device+cnfxml.Suffix, 0o644, "the device's configuration file (sipoauth-client -config)", cnf.Bytes())
	w.write("NEXT.txt", 0o644, "what to run next", []byte(nextText(dir, s, rep)))
	if w.err != nil {
		return nil, w.err
	}
	rep.Files = w.files
	return rep, nil
}

// nextText is NEXT.txt: the commands that run the deployment in dir.
func nextText(dir string, s deploymentSpec, rep *initReport) string {
	p := func(name string) string { return shellQuote(filepath.Join(dir, name)) }
	var b strings.Builder
	fmt.Fprintf(&b, `A local SIP OAuth deployment, written by sipoauth init.
Run the commands below from the root of the SDK's source tree
(github.com/sipoauth/sdk), each in its own terminal.

1. The registrar: OAuth port %s, edge port %s (mutual TLS).

    go run ./cmd/sipoauth-registrar -config %s

2. The edge proxy (Expressway), listening for clients on %s, forwarding
   to the registrar's edge port, checking tokens on the way:

    go run ./cmd/sipoauth-edge -listen %s -cert %s -key %s -node-ca %s -upstream %s -validate -keys %s -cluster-key %s -issuer %s

3. The device %s of user %s registers directly with the registrar
   (Ctrl-C unregisters):

    SIPOAUTH_TOKEN="$(cat %s)" go run ./cmd/sipoauth-client -config %s -device %s -ca %s

4. and through the edge proxy (Mobile and Remote Access):

    SIPOAUTH_TOKEN="$(cat %s)" go run ./cmd/sipoauth-client -config %s -device %s -mra -edge %s -ca %s

The access token in access-token.jwt is valid for 24 hours, until %s.
A new one, in the same shape (Unified CM's nested token):

    go run ./cmd/sipoauth token mint --key %s --sub %s --device %s --iss %s --aud %s --kid %s --ttl 24h --nested --enc-key %s > %s

See what it holds: go run ./cmd/sipoauth token inspect - < %s
The certificates are valid for a year. sipoauth init --force on this
directory renews them all, with a new signing key: mint tokens again then.
`,
		rep.OAuth, rep.Edge,
		p("registrar.json"),
		rep.EdgeProxy,
		rep.EdgeProxy, p("edge.pem"), p("edge.key"), p("node-ca.pem"), rep.Edge, p("signing-key.pub.pem"), p("cluster-key.json"), initIssuer,
		s.device, s.user,
		p("access-token.jwt"), shellQuote(dir), s.device, p("node-ca.pem"),
		p("access-token.jwt"), shellQuote(dir), s.device, rep.EdgeProxy, p("edge-ca.pem"),
		rep.TokenExp.Format(time.RFC3339),
		p("signing-key.pem"), s.user, s.device, initIssuer, initAudience, shellQuote(rep.KeyID), p("cluster-key.json"), p("access-token.jwt"),
		p("access-token.jwt"))
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// authority is a certificate authority of the deployment.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// newCA makes a self-signed CA, valid for five years.
func newCA(name string, now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"sipoauth lab"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

func (a *authority) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw})
}

// issue makes a certificate for server and client authentication named
// cn and names (IP addresses as IP SANs), valid for a year; it returns
// the chain (leaf, then the CA) and the private key, in PEM.
func (a *authority) issue(cn string, names []string, now time.Time) (chain, key []byte, err error) {
	chain, key, _, err = a.issueLeaf(cn, names, now)
	return chain, key, err
}

func (a *authority) issueLeaf(cn string, names []string, now time.Time) (chain, key []byte, leaf *x509.Certificate, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"sipoauth lab"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[strings.ToLower(n)] {
			continue
		}
		seen[strings.ToLower(n)] = true
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, priv.Public(), a.key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", cn, err)
	}
	if leaf, err = x509.ParseCertificate(der); err != nil {
		return nil, nil, nil, err
	}
	if key, err = privatePEM(priv); err != nil {
		return nil, nil, nil, err
	}
	chain = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), a.pem()...)
	return chain, key, leaf, nil
}

// privatePEM encodes a private key as PKCS#8 PEM.
func privatePEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// newUUID returns a random (version 4) UUID, the form of Unified CM's
// cluster key ids.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}
