package edge

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/mtlstrust"
)

// Refresh pushes the proxy's identity to the table of Config.Table, as
// Serve does before it first accepts clients; call it again when the
// certificate changes. It does nothing without a Table. A failure is
// logged and returned (an *edgetable.PushError for an answer the table
// refused).
func (p *Proxy) Refresh(ctx context.Context) error {
	t := p.cfg.Table
	if t == nil {
		return nil
	}
	var entry edgetable.Entry
	switch leaf, err := leafOf(p.cfg.Certificate); {
	case t.Entry != nil:
		entry = *t.Entry
	case err == nil:
		// The certificate may have been reloaded since New.
		entry = edgetable.EntryFor(p.cfg.Name, leaf)
	default:
		entry = edgetable.EntryFor(p.cfg.Name, p.cfg.leaf)
	}
	client := t.HTTPClient
	if client == nil {
		client = p.tableClient()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	created, err := edgetable.Push(ctx, client, t.URL, t.User, t.Password, entry)
	if err != nil {
		p.log.Error("edge: identity push failed", "table", redactedURL(t.URL), "user", t.User, "error", err)
		return err
	}
	p.log.Info("edge: identity pushed", "table", redactedURL(t.URL), "host", entry.HostNameOrIP, "names", strings.Join(entry.Names, ","), "created", created)
	return nil
}

// tableClient trusts the node's signers, as the table is served by the
// node; the store is read per connection, so a reloaded one applies.
func (p *Proxy) tableClient() *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSHandshakeTimeout: p.cfg.DialTimeout,
		TLSClientConfig:     mtlstrust.ClientConfig(p.cfg.NodeTrust, ""),
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

func redactedURL(raw string) string {
	if u, err := edgetable.EntriesURL(raw); err == nil {
		return u.String()
	}
	return "(invalid URL)"
}
