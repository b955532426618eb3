package sipoauth

import (
	"slices"
	"strings"
	"sync"
)

// sharedLists keeps one copy of each claim list that many tokens carry
// alike (aud, scope; a key id is a list of one), so that the cache, which holds an Identity for
// every device's token, holds each list once instead of once per token.
// Identities share them: callers treat Audience and Scopes as read-only.
// It is bounded: past maxSharedLists distinct lists, new ones are not
// kept, and each identity has its own as before.
type sharedLists struct {
	mu sync.Mutex
	m  map[string][]string
}

// maxSharedLists bounds the lists kept: a deployment has a few audiences
// and scope sets; tokens that each carry their own are not worth keeping.
const maxSharedLists = 256

// get returns the kept list equal to l (name tells the claim), keeping l
// if there is none and there is room.
func (s *sharedLists) get(name string, l []string) []string {
	if len(l) == 0 {
		return l
	}
	var b strings.Builder
	b.WriteString(name)
	for _, v := range l {
		b.WriteByte(0)
		b.WriteString(v)
	}
	key := b.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if kept, ok := s.m[key]; ok {
		return kept
	}
	if s.m == nil {
		s.m = map[string][]string{}
	}
	if len(s.m) < maxSharedLists {
		s.m[key] = slices.Clip(l)
	}
	return l
}

// sharedString returns the element of known equal to s, or s: a claim
// equal to a configured value (the issuer, say) is kept once.
func sharedString(s string, known []string) string {
	if i := slices.Index(known, s); i >= 0 {
		return known[i]
	}
	return s
}
