package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sipoauth/sdk/mtlstrust"
)

// maxPushResponse bounds the table's answer read by PushIdentity: an
// entry echoed back, or an error object.
const maxPushResponse = 64 << 10

// ErrPushUnauthorized is wrapped by the PushError of a table that refused
// the credentials (401) or the user (403).
var ErrPushUnauthorized = errors.New("edge: edge-proxy table refused the credentials")

// PushError is a push the table did not accept: its HTTP status and the
// message of its JSON error object.
type PushError struct {
	// URL is the resource the entry was sent to.
	URL string
	// User is the Basic user name used.
	User string
	// StatusCode is the table's HTTP status.
	StatusCode int
	// Message is the table's {"error": ...} text, or the start of the body.
	Message string
	// RetryAfter is the table's Retry-After on a 429: it locks out a
	// source after repeated failed logins (mtlstrust.AuthThrottle), and
	// any push before then is refused whatever the password.
	RetryAfter time.Duration
}

// Error says what the table answered.
func (e *PushError) Error() string {
	msg := fmt.Sprintf("edge: pushing the identity to %s as %q: HTTP %d", e.URL, e.User, e.StatusCode)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		msg += " (wrong user name or password)"
	case http.StatusForbidden:
		msg += " (the table requires HTTPS, or the user may not write it)"
	case http.StatusTooManyRequests:
		msg += fmt.Sprintf(" (too many failed logins from this address: locked out for %s)", e.RetryAfter)
	}
	return msg
}

// Is makes errors.Is(err, ErrPushUnauthorized) true for a 401 or 403.
func (e *PushError) Is(target error) bool {
	return target == ErrPushUnauthorized && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// PushIdentity sends entry to the edge-proxy table served by an
// mtlstrust.TableHandler at tableURL (https only; "/entries" is appended
// unless the path ends with it), as the PUT /entries of its API with HTTP
// Basic credentials: what Expressway-C does over AXL when it is told to
// refresh its Unified CM discovery. It reports whether the entry was new
// (201) rather than replaced (200). Any other answer is a *PushError;
// a network failure is returned wrapped. client may be nil for
// http.DefaultClient, though the caller's should carry a timeout.
func PushIdentity(ctx context.Context, client *http.Client, tableURL, user, password string, entry mtlstrust.Entry) (created bool, err error) {
	if err := entry.Validate(); err != nil {
		return false, fmt.Errorf("edge: identity entry: %w", err)
	}
	u, err := entriesURL(tableURL)
	if err != nil {
		return false, fmt.Errorf("edge: %w", err)
	}
	body, err := json.Marshal(entry)
	if err != nil {
		return false, fmt.Errorf("edge: identity entry: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("edge: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(user, password)
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("edge: pushing the identity to %s: %w", u, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxPushResponse))
	if err != nil {
		return false, fmt.Errorf("edge: pushing the identity to %s: reading the answer: %w", u, err)
	}
	switch res.StatusCode {
	case http.StatusCreated:
		return true, nil
	case http.StatusOK:
		return false, nil
	}
	pe := &PushError{URL: u.String(), User: user, StatusCode: res.StatusCode, Message: errorMessage(data)}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
		pe.RetryAfter = time.Duration(secs) * time.Second
	}
	return false, pe
}

// errorMessage reads the table's {"error": "..."} body, or keeps the start
// of a body of another shape.
func errorMessage(data []byte) string {
	var obj struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &obj) == nil && obj.Error != "" {
		return obj.Error
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// EntryFor returns the edge-proxy table entry of a proxy called host
// whose certificate is cert: the names the node will match the
// certificate against, which are its DNS and IP subject alternative names
// and its subject CN when that is a DNS name or an IP address (Unified
// CM's table lists "CN or SAN"). HostNameOrIP is host, or the first name
// when host is empty.
func EntryFor(host string, cert *x509.Certificate) mtlstrust.Entry {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		k := strings.ToLower(n)
		if n == "" || seen[k] || len(names) >= mtlstrust.MaxNamesPerEntry {
			return
		}
		seen[k] = true
		names = append(names, n)
	}
	if cn := cert.Subject.CommonName; isHostName(cn) || net.ParseIP(cn) != nil {
		add(cn)
	}
	for _, n := range cert.DNSNames {
		if isHostName(n) {
			add(n)
		}
	}
	for _, ip := range cert.IPAddresses {
		add(ip.String())
	}
	if host == "" && len(names) > 0 {
		host = names[0]
	}
	return mtlstrust.Entry{HostNameOrIP: host, Description: "edge proxy " + host, Names: names}
}

// isHostName reports whether s is a DNS name, with at most a whole
// left-most wildcard label.
func isHostName(s string) bool {
	s = strings.TrimPrefix(s, "*.")
	if s == "" || len(s) > mtlstrust.MaxNameLength {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Refresh pushes the proxy's identity to the table of Config.Table, as
// Serve does before it first accepts clients; call it again when the
// certificate changes. It does nothing without a Table. A failure is
// logged and returned (a *PushError for an answer the table refused).
func (p *Proxy) Refresh(ctx context.Context) error {
	t := p.cfg.Table
	if t == nil {
		return nil
	}
	var entry mtlstrust.Entry
	switch leaf, err := leafOf(p.cfg.Certificate); {
	case t.Entry != nil:
		entry = *t.Entry
	case err == nil:
		// The certificate may have been reloaded since New.
		entry = EntryFor(p.cfg.Name, leaf)
	default:
		entry = EntryFor(p.cfg.Name, p.cfg.leaf)
	}
	client := t.HTTPClient
	if client == nil {
		client = p.tableClient()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	created, err := PushIdentity(ctx, client, t.URL, t.User, t.Password, entry)
	if err != nil {
		p.log.Error("edge: identity push failed", "table", redactedURL(t.URL), "user", t.User, "error", err)
		return err
	}
	p.log.Info("edge: identity pushed", "table", redactedURL(t.URL), "host", entry.HostNameOrIP, "names", strings.Join(entry.Names, ","), "created", created)
	return nil
}

// tableClient trusts the node's signers, as the table is served by the node.
func (p *Proxy) tableClient() *http.Client {
	trust := p.cfg.NodeTrust
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: p.cfg.DialTimeout,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The store is read per connection, so a reloaded one applies.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				return verifyPeer(cs, trust.Pool())
			},
		},
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// verifyPeer is crypto/tls's verification of a server's chain and name
// against roots.
func verifyPeer(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("edge: the table's server presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: cs.ServerName})
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}

func redactedURL(raw string) string {
	if u, err := entriesURL(raw); err == nil {
		return u.String()
	}
	return "(invalid URL)"
}
