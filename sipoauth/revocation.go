package sipoauth

import (
	"context"
	"sync"
	"time"
)

// Revocation says whether a token has been revoked. The Validator asks it
// on every validation, cache hits included, so it must be fast.
type Revocation interface {
	// Revoked reports whether the token with this id, of this user,
	// issued at iat, is revoked.
	Revoked(ctx context.Context, tokenID, user string, iat time.Time) (bool, error)
}

// MemoryRevocation is an in-memory Revocation that can revoke one token by
// id, or every token of a user issued before a time, as Unified CM revokes
// per user. The zero value is ready to use and safe for concurrent use.
// Entries are never forgotten; Forget removes those no longer needed.
type MemoryRevocation struct {
	mu     sync.RWMutex
	ids    map[string]time.Time // token id -> when it stops mattering (its expiry)
	before map[string]time.Time // user -> tokens issued before this are revoked
}

// RevokeToken revokes the token with this id. expiry, if not zero, is when
// the token expires anyway; Forget drops the entry after it.
func (m *MemoryRevocation) RevokeToken(tokenID string, expiry time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = make(map[string]time.Time)
	}
	m.ids[tokenID] = expiry
}

// RevokeUser revokes every token of user issued before t (a later t
// replaces an earlier one; an earlier t is ignored).
func (m *MemoryRevocation) RevokeUser(user string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.before == nil {
		m.before = make(map[string]time.Time)
	}
	if old, ok := m.before[user]; !ok || t.After(old) {
		m.before[user] = t
	}
}

// Revoked implements Revocation. A token without an id can be revoked
// only through its user; one without iat is revoked with its user.
func (m *MemoryRevocation) Revoked(_ context.Context, tokenID, user string, iat time.Time) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if tokenID != "" {
		if _, ok := m.ids[tokenID]; ok {
			return true, nil
		}
	}
	if t, ok := m.before[user]; ok && (iat.IsZero() || iat.Before(t)) {
		return true, nil
	}
	return false, nil
}

// Forget drops revoked token ids whose tokens expired before now, so that
// the set does not grow without bound. User entries are kept.
func (m *MemoryRevocation) Forget(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, exp := range m.ids {
		if !exp.IsZero() && exp.Before(now) {
			delete(m.ids, id)
		}
	}
}
