package edgetable

import (
	"slices"
	"strings"
	"sync"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/mtlstrust"
)

// Table holds the edge proxies allowed on the MRA OAuth port.
// Implementations must be safe for concurrent use.
type Table interface {
	// Match returns the entry one of whose names matches a name the peer
	// certificate presents (RFC 6125, see mtlstrust.NameIndex).
	Match(n certcheck.Names) (Entry, bool)
	// List returns the entries, sorted by HostNameOrIP.
	List() ([]Entry, error)
	// Put adds the entry, or replaces the one with its HostNameOrIP.
	Put(e Entry) error
	// Remove deletes the entry with this HostNameOrIP and reports
	// whether there was one.
	Remove(hostNameOrIP string) (bool, error)
}

// Memory is a Table in memory, indexed so that matching costs the
// same whatever its size. The zero value is empty and ready to use.
type Memory struct {
	mu      sync.RWMutex
	entries map[string]Entry // by lower-cased HostNameOrIP
	idx     mtlstrust.NameIndex
}

// Match implements Table.
func (t *Memory) Match(n certcheck.Names) (Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	key, ok := t.idx.Match(n)
	if !ok {
		return Entry{}, false
	}
	return t.entries[key], true
}

// List implements Table.
func (t *Memory) List() ([]Entry, error) {
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
func (t *Memory) Put(e Entry) error {
	e, key, err := stored(e)
	if err != nil {
		return err
	}
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
func (t *Memory) Remove(hostNameOrIP string) (bool, error) {
	key := HostKey(hostNameOrIP)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.entries[key]; !ok {
		return false, nil
	}
	delete(t.entries, key)
	t.idx.Remove(key)
	return true, nil
}

// HostKey is the key of the entry for hostNameOrIP in every table: host
// names and addresses compare without regard to case.
func HostKey(hostNameOrIP string) string { return strings.ToLower(hostNameOrIP) }

// stored validates e and returns the copy of it a table keeps, with
// Names of its own, and its key.
func stored(e Entry) (Entry, string, error) {
	if err := e.Validate(); err != nil {
		return Entry{}, "", err
	}
	e.Names = slices.Clone(e.Names)
	return e, HostKey(e.HostNameOrIP), nil
}

// sortEntries orders entries by HostNameOrIP, case-insensitively, as List returns them.
func sortEntries(entries []Entry) {
	slices.SortFunc(entries, func(a, b Entry) int {
		return strings.Compare(HostKey(a.HostNameOrIP), HostKey(b.HostNameOrIP))
	})
}

// Replace swaps the whole content at once, for a table that mirrors one
// kept elsewhere (a file, Redis): a Match sees the old entries or the new,
// never a mix. Each entry must pass Validate; of two with the same
// HostNameOrIP the last counts. On error nothing changes.
func (t *Memory) Replace(entries []Entry) error {
	m := make(map[string]Entry, len(entries))
	var idx mtlstrust.NameIndex
	for _, e := range entries {
		e, key, err := stored(e)
		if err != nil {
			return err
		}
		if _, dup := m[key]; dup {
			idx.Remove(key)
		}
		m[key] = e
		idx.Add(key, e.Names, e.AllowWildcardCertificate)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries, t.idx = m, idx
	return nil
}
