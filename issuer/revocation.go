package issuer

import (
	"context"
	"strings"
	"sync"
	"time"
)

// memoryRevocations is the Revocations of an Issuer configured without
// one: enough for its own refresh and revocation endpoints. Users are the
// same user under strings.EqualFold, the rule sipoauth.SameUser states, so
// that revoking "bob" revokes the tokens of "BOB" here as in a validator.
type memoryRevocations struct {
	mu     sync.Mutex
	ids    map[string]bool      // revoked token ids
	before map[string]time.Time // user as revoked -> tokens issued before this are revoked
}

func (m *memoryRevocations) RevokeToken(tokenID string, _ time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = map[string]bool{}
	}
	m.ids[tokenID] = true
}

func (m *memoryRevocations) RevokeUser(user string, t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.before == nil {
		m.before = map[string]time.Time{}
	}
	if old, ok := m.before[user]; !ok || t.After(old) {
		m.before[user] = t
	}
}

// Revoked reports a token revoked by its id, or by a revocation of its
// user issued after it (always, when it has no iat).
func (m *memoryRevocations) Revoked(_ context.Context, tokenID, user string, iat time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if tokenID != "" && m.ids[tokenID] {
		return true, nil
	}
	for u, t := range m.before {
		if strings.EqualFold(u, user) && (iat.IsZero() || iat.Before(t)) {
			return true, nil
		}
	}
	return false, nil
}
