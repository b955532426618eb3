package sipoauth

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
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
//
// Lookups take no lock: revocations are rare and copy the sets, lookups
// are on every registration and read a snapshot. Revoked token ids are
// kept until Forget drops those past their expiry.
type MemoryRevocation struct {
	mu    sync.Mutex // serializes writers
	state atomic.Pointer[revocationState]
}

type revocationState struct {
	ids    map[string]time.Time // token id -> when it stops mattering (its expiry)
	before map[string]time.Time // UserKey -> tokens issued before this are revoked
}

// update applies f to a copy of the state and publishes it.
func (m *MemoryRevocation) update(f func(s *revocationState)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &revocationState{ids: map[string]time.Time{}, before: map[string]time.Time{}}
	if old := m.state.Load(); old != nil {
		s.ids, s.before = maps.Clone(old.ids), maps.Clone(old.before)
	}
	f(s)
	m.state.Store(s)
}

// RevokeToken revokes the token with this id. expiry, if not zero, is when
// the token expires anyway; Forget drops the entry after it.
func (m *MemoryRevocation) RevokeToken(tokenID string, expiry time.Time) {
	m.update(func(s *revocationState) { s.ids[tokenID] = expiry })
}

// RevokeUser revokes every token of user issued before t (a later t
// replaces an earlier one; an earlier t is ignored). Users are matched by
// SameUser: revoking "bob" revokes the tokens of "BOB".
func (m *MemoryRevocation) RevokeUser(user string, t time.Time) {
	user = UserKey(user)
	m.update(func(s *revocationState) {
		if old, ok := s.before[user]; !ok || t.After(old) {
			s.before[user] = t
		}
	})
}

// Revoked implements Revocation. A token without an id can be revoked
// only through its user; one without iat is revoked with its user.
func (m *MemoryRevocation) Revoked(_ context.Context, tokenID, user string, iat time.Time) (bool, error) {
	s := m.state.Load()
	if s == nil {
		return false, nil
	}
	if tokenID != "" {
		if _, ok := s.ids[tokenID]; ok {
			return true, nil
		}
	}
	if t, ok := s.before[UserKey(user)]; ok && (iat.IsZero() || iat.Before(t)) {
		return true, nil
	}
	return false, nil
}

// Forget drops revoked token ids whose tokens expired before now, so that
// the set does not grow without bound. User entries are kept.
func (m *MemoryRevocation) Forget(now time.Time) {
	m.update(func(s *revocationState) {
		maps.DeleteFunc(s.ids, func(_ string, exp time.Time) bool { return !exp.IsZero() && exp.Before(now) })
	})
}
