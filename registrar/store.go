package registrar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Binding is one registered contact of an address of record.
type Binding struct {
	// Contact is the contact URI, the binding's key within its AOR
	// (compared as written; clients resend it unchanged).
	Contact string `json:"contact"`
	// Params are the Contact header's parameters as received, e.g.
	// `+sip.instance="<urn:uuid:...>";+u.sip!devicename.ccm.cisco.com="CSFrado"`,
	// so the 200 OK can echo them.
	Params string `json:"params,omitempty"`
	// Instance and RegID are RFC 5626's +sip.instance and reg-id.
	Instance string    `json:"instance,omitempty"`
	RegID    int       `json:"regId,omitempty"`
	CallID   string    `json:"callId"`
	CSeq     uint32    `json:"cseq"`
	Expires  time.Time `json:"expires"`
	// Device and User are who registered it.
	Device string `json:"device,omitempty"`
	User   string `json:"user,omitempty"`
	// Source is the transport address the REGISTER came from.
	Source string `json:"source,omitempty"`
}

// Change is one contact of a REGISTER: Expires 0 removes the binding.
type Change struct {
	Binding
	Expires time.Duration
}

// Update is what one REGISTER asks of an AOR's bindings (RFC 3261 §10.3).
type Update struct {
	Now    time.Time
	CallID string
	CSeq   uint32
	// Device is the device the REGISTER was authenticated for. An update
	// may add, refresh and remove only the bindings of its own device:
	// one that would change a binding of another device (the same
	// contact, or the same +sip.instance and reg-id) fails with
	// ErrNotOwnBinding, and RemoveAll removes the device's own bindings
	// only. Bindings are compared by Binding.Device, exactly.
	Device string
	// RemoveAll is `Contact: *` with `Expires: 0`.
	RemoveAll bool
	Changes   []Change
	// MaxBindings, if above zero, is the most live bindings the AOR may
	// hold after an update that adds one; beyond it the update fails with
	// a *TooManyBindingsError. Refreshes and removals always pass.
	MaxBindings int
}

// Result is the AOR's bindings after an Update, and which contacts the
// update created (for Cisco's x-cisco-newreg).
type Result struct {
	Bindings []Binding
	New      map[string]bool
}

// ErrOutOfOrder is returned for a REGISTER whose CSeq is not above the one
// of a binding it would change with the same Call-ID (RFC 3261 §10.3 step
// 7: the update is aborted).
var ErrOutOfOrder = errors.New("registrar: REGISTER out of order (CSeq not above the binding's)")

// ErrNotOwnBinding is returned for a REGISTER that would change or remove
// a binding another device made: a device registers only its own contacts.
var ErrNotOwnBinding = errors.New("registrar: the contact is bound by another device")

// ErrTooManyBindings is wrapped by *TooManyBindingsError.
var ErrTooManyBindings = errors.New("registrar: too many registered contacts")

// TooManyBindingsError is the refusal of a REGISTER that would take its
// AOR over Update.MaxBindings.
type TooManyBindingsError struct {
	Limit int
	// RetryAfter is when the AOR's first binding expires, making room.
	RetryAfter time.Duration
}

// Error implements error.
func (e *TooManyBindingsError) Error() string {
	return fmt.Sprintf("registrar: too many registered contacts (limit %d)", e.Limit)
}

// Is makes errors.Is(err, ErrTooManyBindings) true.
func (e *TooManyBindingsError) Is(target error) bool { return target == ErrTooManyBindings }

// Store keeps bindings. Implementations apply each Update atomically, so
// that registrars sharing a store never lose nor resurrect a binding.
type Store interface {
	// Update applies u to the bindings of aor and returns them.
	Update(ctx context.Context, aor string, u Update) (Result, error)
	// Lookup returns the live bindings of aor, for a proxy.
	Lookup(ctx context.Context, aor string) ([]Binding, error)
}

// Apply computes the bindings of an AOR after u, from those it had. It is
// the one implementation of RFC 3261 §10.3 steps 6-8 that every Store
// uses, with the two rules a shared AOR needs: a device touches only its
// own bindings (Update.Device), and an AOR holds at most
// Update.MaxBindings. Expired bindings are dropped first.
func Apply(existing []Binding, u Update) (Result, error) {
	live := slices.DeleteFunc(slices.Clone(existing), func(b Binding) bool { return !u.Now.Before(b.Expires) })
	res := Result{New: map[string]bool{}}
	if u.RemoveAll {
		for _, b := range live {
			if b.Device == u.Device && b.CallID == u.CallID && u.CSeq <= b.CSeq {
				return Result{}, ErrOutOfOrder
			}
		}
		res.Bindings = slices.DeleteFunc(live, func(b Binding) bool { return b.Device == u.Device })
		return res, nil
	}
	before := len(live)
	for _, c := range u.Changes {
		i := slices.IndexFunc(live, func(b Binding) bool {
			return b.Contact == c.Contact || (c.Instance != "" && b.Instance == c.Instance && b.RegID == c.RegID)
		})
		if i >= 0 && live[i].Device != u.Device {
			return Result{}, ErrNotOwnBinding
		}
		if i >= 0 && live[i].CallID == u.CallID && u.CSeq <= live[i].CSeq {
			return Result{}, ErrOutOfOrder
		}
		if c.Expires <= 0 {
			if i >= 0 {
				live = slices.Delete(live, i, i+1)
			}
			continue
		}
		b := c.Binding
		b.Device, b.CallID, b.CSeq, b.Expires = u.Device, u.CallID, u.CSeq, u.Now.Add(c.Expires)
		if i >= 0 {
			live[i] = b
		} else {
			live = append(live, b)
			res.New[b.Contact] = true
		}
	}
	if u.MaxBindings > 0 && len(live) > u.MaxBindings && len(live) > before {
		first := time.Duration(0)
		for _, b := range existing {
			if d := b.Expires.Sub(u.Now); d > 0 && (first == 0 || d < first) {
				first = d
			}
		}
		return Result{}, &TooManyBindingsError{Limit: u.MaxBindings, RetryAfter: first}
	}
	res.Bindings = live
	return res, nil
}

// MemoryStore is a Store in memory, the default. Expired bindings are
// dropped as their AOR is touched, and by Sweep. Safe for concurrent use.
type MemoryStore struct {
	mu   sync.Mutex
	aors map[string][]Binding
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{aors: map[string][]Binding{}} }

// Update implements Store.
func (m *MemoryStore) Update(_ context.Context, aor string, u Update) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res, err := Apply(m.aors[aor], u)
	if err != nil {
		return Result{}, err
	}
	if len(res.Bindings) == 0 {
		delete(m.aors, aor)
	} else {
		m.aors[aor] = slices.Clip(res.Bindings)
	}
	return Result{Bindings: slices.Clone(res.Bindings), New: res.New}, nil
}

// Lookup implements Store.
func (m *MemoryStore) Lookup(_ context.Context, aor string) ([]Binding, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Binding
	for _, b := range m.aors[aor] {
		if now.Before(b.Expires) {
			out = append(out, b)
		}
	}
	return out, nil
}

// Sweep drops expired bindings and returns how many bindings remain.
func (m *MemoryStore) Sweep(now time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for aor, bs := range m.aors {
		bs = slices.DeleteFunc(bs, func(b Binding) bool { return !now.Before(b.Expires) })
		if len(bs) == 0 {
			delete(m.aors, aor)
		} else {
			m.aors[aor] = bs
		}
		n += len(bs)
	}
	return n
}
