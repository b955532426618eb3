package registrar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	// Instance and RegID are RFC 5626's +sip.instance and reg-id;
	// Instance as the Contact wrote it, quotes and angle brackets included
	// ("<urn:uuid:...>").
	Instance string `json:"instance,omitempty"`
	RegID    int    `json:"regId,omitempty"`
	CallID   string `json:"callId"`
	CSeq     uint32 `json:"cseq"`
	// Branch is the top Via branch of the REGISTER that last wrote the
	// binding, when an RFC 3261 client sent it (see Update.Branch).
	Branch  string    `json:"branch,omitempty"`
	Expires time.Time `json:"expires"`
	// Device and User are who registered it.
	Device string `json:"device,omitempty"`
	User   string `json:"user,omitempty"`
	// Source is the transport address the REGISTER came from.
	Source string `json:"source,omitempty"`
	// Path is the REGISTER's Path header values (RFC 3327), as received
	// and in order: the route set to the contact, through the proxies that
	// stand between (an edge proxy). Empty for a client that registered
	// directly.
	Path []string `json:"path,omitempty"`
	// Flow is the id of the connection the REGISTER came on (RFC 5626),
	// sipserve.Flow.ID(); empty over UDP. A request to the contact goes
	// back over it (Registrar.Send).
	Flow string `json:"flow,omitempty"`
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
	// Branch is the REGISTER's top Via branch when it names the
	// transaction (RFC 3261 §17.2.3; empty for an RFC 2543 client). A
	// binding written by the same Call-ID, CSeq and branch was written by
	// this very request: the update is its retransmission, which leaves
	// that binding as it is rather than failing as out of order (see
	// Apply).
	Branch string
	// Device is the device the REGISTER was authenticated for. An update
	// adds, refreshes and removes only the bindings of its own device (see
	// Apply); bindings are told apart by Binding.Device, exactly.
	Device string
	// RemoveAll is `Contact: *` with `Expires: 0`.
	RemoveAll bool
	Changes   []Change
	// MaxBindings, if above zero, is the most live bindings the AOR may
	// hold after an update that adds one; beyond it the update fails with
	// a *TooManyBindingsError. MaxDeviceBindings is the same for the
	// bindings of Device, so that one device of a line shared by several
	// cannot take all its places. Refreshes and removals always pass.
	MaxBindings       int
	MaxDeviceBindings int
}

// Result is the AOR's bindings after an Update, and which contacts the
// update created (for Cisco's x-cisco-newreg).
type Result struct {
	Bindings []Binding
	New      map[string]bool
}

// ErrOutOfOrder is returned for a REGISTER whose CSeq is not above the one
// of a binding it would change with the same Call-ID (RFC 3261 §10.3 step
// 7: the update is aborted), unless it is a retransmission of the request
// that wrote the binding (Update.Branch).
var ErrOutOfOrder = errors.New("registrar: REGISTER out of order (CSeq not above the binding's)")

// ErrTooManyBindings is wrapped by *TooManyBindingsError.
var ErrTooManyBindings = errors.New("registrar: too many registered contacts")

// TooManyBindingsError is the refusal of a REGISTER that would take its
// AOR over Update.MaxBindings, or its device over MaxDeviceBindings.
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
// The strings of an Update and of the aor may share the memory of the
// whole request they came from; a store that keeps them in memory copies
// them (strings.Clone), as MemoryStore does.
type Store interface {
	// Update applies u to the bindings of aor and returns them.
	Update(ctx context.Context, aor string, u Update) (Result, error)
	// Lookup returns the live bindings of aor, for a proxy.
	Lookup(ctx context.Context, aor string) ([]Binding, error)
}

// Apply computes the bindings of an AOR after u, from those it had. It is
// the one implementation of RFC 3261 §10.3 steps 6-8 that every Store
// uses, with the rules an address of record shared by several devices
// needs:
//
//   - A device sees only its own bindings. A contact matches an existing
//     binding of the same device with the same contact URI, or the same
//     +sip.instance and reg-id (RFC 5626); the bindings of other devices
//     never match, so a REGISTER can neither refresh, replace nor remove
//     them, whatever contact or instance it names, and cannot squat on
//     one to lock the other device out. Contact: * removes the device's
//     own bindings only.
//   - An AOR holds at most Update.MaxBindings, a device at most
//     Update.MaxDeviceBindings of them.
//   - A retransmitted REGISTER (the Call-ID, CSeq and Update.Branch of
//     the request that last wrote a binding) leaves that binding as it
//     is, and the update goes on, where RFC 3261 §10.3 step 7 would
//     refuse an equal CSeq: a server transaction would have answered the
//     retransmission with the answer it kept, and a registrar that has
//     let that answer go (package sipserve keeps UDP answers within a
//     bound) answers it again the same way, as Kamailio's registrar
//     does with an equal CSeq. The answer lists the bindings as they
//     are; it does not say again which contacts the request created.
//
// Expired bindings are dropped first.
func Apply(existing []Binding, u Update) (Result, error) {
	live := slices.DeleteFunc(slices.Clone(existing), func(b Binding) bool { return !u.Now.Before(b.Expires) })
	res := Result{New: map[string]bool{}}
	own := func(b Binding) bool { return b.Device == u.Device }
	if u.RemoveAll {
		for _, b := range live {
			if own(b) && b.CallID == u.CallID && u.CSeq <= b.CSeq {
				return Result{}, ErrOutOfOrder
			}
		}
		res.Bindings = slices.DeleteFunc(live, own)
		return res, nil
	}
	before, ownBefore := len(live), countFunc(live, own)
	for _, c := range u.Changes {
		inst := canonicalInstance(c.Instance)
		i := slices.IndexFunc(live, func(b Binding) bool {
			return own(b) && (b.Contact == c.Contact || (inst != "" && canonicalInstance(b.Instance) == inst && b.RegID == c.RegID))
		})
		if i >= 0 && live[i].CallID == u.CallID && u.CSeq <= live[i].CSeq {
			if u.CSeq == live[i].CSeq && u.Branch != "" && live[i].Branch == u.Branch {
				continue // a retransmission of the request that wrote it
			}
			return Result{}, ErrOutOfOrder
		}
		if c.Expires <= 0 {
			if i >= 0 {
				live = slices.Delete(live, i, i+1)
			}
			continue
		}
		b := c.Binding
		b.Device, b.CallID, b.CSeq, b.Branch, b.Expires = u.Device, u.CallID, u.CSeq, u.Branch, u.Now.Add(c.Expires)
		if i >= 0 {
			live[i] = b
		} else {
			live = append(live, b)
			res.New[b.Contact] = true
		}
	}
	ownAfter := countFunc(live, own)
	switch {
	case u.MaxDeviceBindings > 0 && ownAfter > u.MaxDeviceBindings && ownAfter > ownBefore:
		return Result{}, tooMany(existing, own, u.MaxDeviceBindings, u.Now)
	case u.MaxBindings > 0 && len(live) > u.MaxBindings && len(live) > before:
		return Result{}, tooMany(existing, nil, u.MaxBindings, u.Now)
	}
	res.Bindings = live
	return res, nil
}

// tooMany is the refusal of an update over limit, with the time until
// the first of the bindings it counted (those of which when set) expires.
func tooMany(existing []Binding, which func(Binding) bool, limit int, now time.Time) *TooManyBindingsError {
	first := time.Duration(0)
	for _, b := range existing {
		if which != nil && !which(b) {
			continue
		}
		if d := b.Expires.Sub(now); d > 0 && (first == 0 || d < first) {
			first = d
		}
	}
	return &TooManyBindingsError{Limit: limit, RetryAfter: first}
}

func countFunc(bs []Binding, f func(Binding) bool) int {
	n := 0
	for _, b := range bs {
		if f(b) {
			n++
		}
	}
	return n
}

// canonicalInstance is a +sip.instance value as compared: without its
// quotes and angle brackets, in lower case (a URN's namespace and a
// UUID's hex digits are case-insensitive, RFC 8141 and RFC 4122).
func canonicalInstance(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(strings.TrimSuffix(v, `"`), `"`)
	v = strings.TrimPrefix(strings.TrimSuffix(v, ">"), "<")
	return strings.ToLower(v)
}

// MemoryStore is a Store in memory, the default. Expired bindings are
// dropped as their AOR is touched, and by Sweep. Safe for concurrent use.
type MemoryStore struct {
	mu sync.Mutex
	// aors holds a pointer to each AOR's bindings, so that an update
	// changes them without storing the key again: a map assignment
	// replaces the key with the caller's string.
	aors map[string]*[]Binding
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{aors: map[string]*[]Binding{}} }

// Update implements Store.
func (m *MemoryStore) Update(_ context.Context, aor string, u Update) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.aors[aor]
	var prev []Binding
	if kept != nil {
		prev = *kept
	}
	res, err := Apply(prev, u)
	if err != nil {
		return Result{}, err
	}
	if len(res.Bindings) == 0 {
		delete(m.aors, aor)
		return Result{New: res.New}, nil
	}
	bs := slices.Clip(res.Bindings)
	for i := range bs {
		bs[i] = detach(bs[i], prev)
	}
	if kept == nil {
		m.aors[strings.Clone(aor)] = &bs
	} else {
		*kept = bs
	}
	return Result{Bindings: slices.Clone(bs), New: res.New}, nil
}

// detach returns b with strings that share no memory with the request it
// came from. Those equal to the strings of the binding it refreshes are
// that binding's; the others are copied together, into one allocation,
// and an Instance written within Params is a part of Params. A refresh,
// the usual REGISTER, copies its branch alone.
func detach(b Binding, prev []Binding) Binding {
	var was Binding
	for _, p := range prev {
		if p.Contact == b.Contact && p.Device == b.Device {
			was = p
			break
		}
	}
	fields := [...]*string{&b.Contact, &b.Params, &b.CallID, &b.Branch, &b.Device, &b.User, &b.Source, &b.Flow}
	olds := [...]string{was.Contact, was.Params, was.CallID, was.Branch, was.Device, was.User, was.Source, was.Flow}
	var fresh [len(fields)]bool
	n := 0
	for i, f := range fields {
		if *f == olds[i] {
			*f = olds[i]
		} else {
			fresh[i] = true
			n += len(*f)
		}
	}
	if n > 0 {
		var sb strings.Builder
		sb.Grow(n)
		for i, f := range fields {
			if fresh[i] {
				sb.WriteString(*f)
			}
		}
		all := sb.String()
		for i, f := range fields {
			if fresh[i] {
				*f, all = all[:len(*f)], all[len(*f):]
			}
		}
	}
	switch j := strings.Index(b.Params, b.Instance); {
	case b.Instance == "":
	case b.Instance == was.Instance:
		b.Instance = was.Instance
	case j >= 0:
		b.Instance = b.Params[j : j+len(b.Instance)]
	default:
		b.Instance = strings.Clone(b.Instance)
	}
	// Bind copies a request's Path once for all its bindings.
	switch {
	case len(b.Path) == 0:
		b.Path = nil
	case slices.Equal(b.Path, was.Path):
		b.Path = was.Path
	}
	return b
}

// Lookup implements Store.
func (m *MemoryStore) Lookup(_ context.Context, aor string) ([]Binding, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Binding
	kept := m.aors[aor]
	if kept == nil {
		return nil, nil
	}
	for _, b := range *kept {
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
	for aor, kept := range m.aors {
		bs := slices.DeleteFunc(*kept, func(b Binding) bool { return !now.Before(b.Expires) })
		if len(bs) == 0 {
			delete(m.aors, aor)
		} else {
			*kept = bs
		}
		n += len(bs)
	}
	return n
}
