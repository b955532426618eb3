package mtlstrust

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/sipoauth/sdk/certcheck"
)

// Entry is one edge proxy the node accepts on its MRA OAuth port: the
// fields of Unified CM's AXL ExpresswayCConfiguration, which each
// Expressway-C pushes on discover and refresh.
type Entry struct {
	// HostNameOrIP identifies the edge proxy; entries are keyed by it,
	// case-insensitively.
	HostNameOrIP string `json:"hostNameOrIp"`
	Description  string `json:"description,omitempty"`
	// Names are the names its certificate presents (the AXL field
	// X509SubjectNameorSubjectAlternateName): DNS names, IP addresses, or
	// a wildcard name as a whole left-most label ("*.example.com"), which
	// a certificate name one label under it matches.
	Names []string `json:"names"`
	// AllowWildcardCertificate lets a certificate that presents a
	// wildcard name stand for this entry: "*.example.com" then matches
	// the entry's names one label under it (expc1.example.com) and an
	// equal wildcard name. By default a wildcard in a certificate matches
	// no entry, since whoever holds such a certificate (often installed on
	// many servers) could otherwise pass for every listed proxy under it.
	// It needs at least one DNS name among Names.
	AllowWildcardCertificate bool `json:"allowWildcardCertificate,omitempty"`
}

// Limits of an Entry.
const (
	MaxNamesPerEntry = 256
	MaxNameLength    = 253
	maxDescription   = 1024
)

// ErrInvalidEntry is wrapped by the errors of Entry.Validate.
var ErrInvalidEntry = errors.New("mtlstrust: invalid edge-proxy entry")

// Validate checks that the entry can be stored: a host, at least one
// name, each a valid DNS name (with at most a left-most wildcard label)
// or IP address, and sizes within limits.
func (e Entry) Validate() error {
	if e.HostNameOrIP == "" || len(e.HostNameOrIP) > MaxNameLength || !printable(e.HostNameOrIP) {
		return fmt.Errorf("%w: hostNameOrIp %q", ErrInvalidEntry, e.HostNameOrIP)
	}
	if len(e.Description) > maxDescription || !printable(e.Description) {
		return fmt.Errorf("%w: description too long or not printable", ErrInvalidEntry)
	}
	if len(e.Names) == 0 || len(e.Names) > MaxNamesPerEntry {
		return fmt.Errorf("%w: %d names, want 1 to %d", ErrInvalidEntry, len(e.Names), MaxNamesPerEntry)
	}
	dns := false
	for _, n := range e.Names {
		if _, err := netip.ParseAddr(n); err == nil {
			continue
		}
		if !certcheck.ValidDNSName(n, true) { // exactly the names certificates present
			return fmt.Errorf("%w: name %q is neither a DNS name nor an IP address", ErrInvalidEntry, n)
		}
		dns = true
	}
	if e.AllowWildcardCertificate && !dns {
		// No wildcard covers an IP address: the setting would be a mistake.
		return fmt.Errorf("%w: allowWildcardCertificate needs a DNS name among the names", ErrInvalidEntry)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Table holds the edge proxies allowed on the MRA OAuth port.
// Implementations must be safe for concurrent use.
type Table interface {
	// Match returns the entry one of whose names matches a name the peer
	// certificate presents (RFC 6125, see Names).
	Match(n Names) (Entry, bool)
	// List returns the entries, sorted by HostNameOrIP.
	List() ([]Entry, error)
	// Put adds the entry, or replaces the one with its HostNameOrIP.
	Put(e Entry) error
	// Remove deletes the entry with this HostNameOrIP and reports
	// whether there was one.
	Remove(hostNameOrIP string) (bool, error)
}

// MemoryTable is a Table in memory, indexed so that matching costs the
// same whatever its size. The zero value is empty and ready to use.
type MemoryTable struct {
	mu      sync.RWMutex
	entries map[string]Entry // by lower-cased HostNameOrIP
	idx     NameIndex
}

// Match implements Table.
func (t *MemoryTable) Match(n Names) (Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	key, ok := t.idx.Match(n)
	if !ok {
		return Entry{}, false
	}
	return t.entries[key], true
}

// List implements Table.
func (t *MemoryTable) List() ([]Entry, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Entry, 0, len(t.entries))
	for _, e := range t.entries {
		e.Names = slices.Clone(e.Names)
		out = append(out, e)
	}
	sortEntries(out)
	return out, nil
}

// Put implements Table. The entry must pass Validate.
func (t *MemoryTable) Put(e Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	e.Names = slices.Clone(e.Names)
	key := strings.ToLower(e.HostNameOrIP)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries == nil {
		t.entries = map[string]Entry{}
	}
	if _, ok := t.entries[key]; ok {
		t.idx.Remove(key)
	}
	t.entries[key] = e
	t.idx.Add(key, e.Names, e.AllowWildcardCertificate)
	return nil
}

// Remove implements Table.
func (t *MemoryTable) Remove(hostNameOrIP string) (bool, error) {
	key := strings.ToLower(hostNameOrIP)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[key]; !ok {
		return false, nil
	}
	delete(t.entries, key)
	t.idx.Remove(key)
	return true, nil
}

// sortEntries orders entries by HostNameOrIP, case-insensitively, as List returns them.
func sortEntries(entries []Entry) {
	slices.SortFunc(entries, func(a, b Entry) int {
		return strings.Compare(strings.ToLower(a.HostNameOrIP), strings.ToLower(b.HostNameOrIP))
	})
}

// replaceAll swaps the whole content, for stores that load from disk.
func (t *MemoryTable) replaceAll(entries []Entry) error {
	m := make(map[string]Entry, len(entries))
	var idx NameIndex
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			return err
		}
		key := strings.ToLower(e.HostNameOrIP)
		if _, dup := m[key]; dup {
			idx.Remove(key)
		}
		e.Names = slices.Clone(e.Names)
		m[key] = e
		idx.Add(key, e.Names, e.AllowWildcardCertificate)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries, t.idx = m, idx
	return nil
}
