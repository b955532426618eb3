package edgetable

import (
	"net/netip"
	"sync"
	"time"

	"github.com/sipoauth/sdk/internal/defaults"
)

// Defaults of an AuthThrottle whose fields are zero (or negative).
const (
	DefaultMaxAuthFailures = 5
	DefaultFailureWindow   = 10 * time.Minute
	DefaultLockout         = time.Minute
	DefaultMaxLockout      = time.Hour
	DefaultMaxAuthSources  = 4096
)

// AuthThrottle limits failed authentications per source address, so that
// the password of the edge-proxy table cannot be guessed at the rate the
// network allows. The zero value applies the defaults above; it is always
// on, since the table decides which certificates the node trusts.
//
// A source is the IP address of the request's RemoteAddr. After
// MaxFailures failed authentications within Window, the source is locked
// out for Lockout: every request from it, with the right password or
// none, is answered 429 Too Many Requests with Retry-After, so guessing
// cannot go on. After a lockout a single further failure locks the source
// again, each time for twice as long, up to MaxLockout; a source that has
// not been locked out for MaxLockout since its last lockout ended starts
// afresh. A successful authentication clears its source's record. Other
// sources are not affected: an edge proxy on another address keeps
// pushing its entry while one address guesses.
//
// Behind a reverse proxy every request has the proxy's address, so all
// callers share one source, and guesses from anyone lock everyone out
// until the lockout passes.
//
// At most MaxSources sources are remembered; sources with nothing left to
// count are forgotten when room is needed. While all are in use, the
// sources not remembered share one record, as if they were one source:
// a burst of guesses from more addresses than that locks out every
// address not remembered rather than going uncounted.
//
// Set the fields before use and do not change them afterwards. An
// AuthThrottle is safe for concurrent use and must not be copied after
// first use.
type AuthThrottle struct {
	// MaxFailures is the number of failed authentications within Window
	// that locks a source out; DefaultMaxAuthFailures if zero or less.
	MaxFailures int
	// Window is the span, from a source's first counted failure, within
	// which its failures add up; DefaultFailureWindow if zero or less.
	Window time.Duration
	// Lockout is how long the first lockout lasts; DefaultLockout if zero
	// or less. Each further lockout of the same source doubles it.
	Lockout time.Duration
	// MaxLockout caps the lockout, and is how long a source's lockouts
	// are remembered after the last one ended; DefaultMaxLockout if zero
	// or less (and never less than Lockout).
	MaxLockout time.Duration
	// MaxSources is the number of sources remembered at once;
	// DefaultMaxAuthSources if zero or less.
	MaxSources int
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	sources  map[netip.Addr]*authSource
	overflow authSource // the sources not remembered, while MaxSources are
}

// authSource is what is remembered of one source.
type authSource struct {
	failures    int       // counted failures since windowStart
	windowStart time.Time // the first of them
	pending     int       // attempts whose credentials are being checked
	strikes     int       // lockouts so far
	lockedUntil time.Time
}

// throttleConfig is an AuthThrottle's fields with the defaults applied.
type throttleConfig struct {
	maxFailures, maxSources     int
	window, lockout, maxLockout time.Duration
}

func (t *AuthThrottle) config() throttleConfig {
	c := throttleConfig{t.MaxFailures, t.MaxSources, t.Window, t.Lockout, t.MaxLockout}
	c.maxFailures = defaults.Positive(c.maxFailures, DefaultMaxAuthFailures)
	c.maxSources = defaults.Positive(c.maxSources, DefaultMaxAuthSources)
	c.window = defaults.Positive(c.window, DefaultFailureWindow)
	c.lockout = defaults.Positive(c.lockout, DefaultLockout)
	c.maxLockout = defaults.Positive(c.maxLockout, DefaultMaxLockout)
	c.maxLockout = max(c.maxLockout, c.lockout)
	return c
}

func (t *AuthThrottle) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// allowed is how many failures s may have before it is locked out: one
// once it has been locked out before.
func (s *authSource) allowed(c throttleConfig) int {
	if s.strikes > 0 {
		return 1
	}
	return c.maxFailures
}

// idle reports whether s has nothing left to count at now and can be
// forgotten.
func (s *authSource) idle(c throttleConfig, now time.Time) bool {
	if s.pending > 0 || now.Before(s.lockedUntil) {
		return false
	}
	if s.strikes > 0 {
		return !now.Before(s.lockedUntil.Add(c.maxLockout))
	}
	return s.failures == 0 || !now.Before(s.windowStart.Add(c.window))
}

// lookup returns the record of addr, creating it when attempt is set and
// there is room. It returns the shared overflow record for a source that
// cannot be remembered, and nil for one with no record that makes no
// attempt. t.mu is held.
func (t *AuthThrottle) lookup(c throttleConfig, addr netip.Addr, now time.Time, attempt bool) *authSource {
	if s, ok := t.sources[addr]; ok {
		if s.idle(c, now) {
			*s = authSource{}
		}
		return s
	}
	if len(t.sources) >= c.maxSources {
		for a, s := range t.sources {
			if s.idle(c, now) {
				delete(t.sources, a)
			}
		}
	}
	if len(t.sources) >= c.maxSources {
		if t.overflow.idle(c, now) {
			t.overflow = authSource{}
		}
		return &t.overflow
	}
	if !attempt {
		return nil
	}
	if t.sources == nil {
		t.sources = map[netip.Addr]*authSource{}
	}
	s := &authSource{}
	t.sources[addr] = s
	return s
}

// begin is called before the credentials of a request from addr are
// checked; attempt says whether it carries any. It returns the wait
// before the source may try again when it is locked out, and otherwise
// the record to hand to end (nil when nothing is counted). Attempts being
// checked count against the limit, so that concurrent guesses cannot
// exceed it.
func (t *AuthThrottle) begin(addr netip.Addr, attempt bool) (s *authSource, wait time.Duration, ok bool) {
	c := t.config()
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s = t.lookup(c, addr, now, attempt)
	if s == nil {
		return nil, 0, true
	}
	if now.Before(s.lockedUntil) {
		return nil, s.lockedUntil.Sub(now), false
	}
	if !attempt {
		return nil, 0, true
	}
	if s.strikes == 0 && s.failures > 0 && !now.Before(s.windowStart.Add(c.window)) {
		s.failures = 0
	}
	if s.failures+s.pending >= s.allowed(c) {
		// Attempts already being checked may use up what is left; the
		// answer comes within the request's time.
		return nil, time.Second, false
	}
	s.pending++
	return s, 0, true
}

// end records the outcome of an attempt begun on s from addr. It reports
// the lockout that the failure started, or zero.
func (t *AuthThrottle) end(s *authSource, addr netip.Addr, success bool) (lockout time.Duration) {
	if s == nil {
		return 0
	}
	c := t.config()
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s.pending--
	if success {
		if s == &t.overflow {
			return 0 // one address's success says nothing of the others
		}
		pending := s.pending
		*s = authSource{pending: pending}
		if pending == 0 && t.sources[addr] == s {
			delete(t.sources, addr)
		}
		return 0
	}
	if s.failures == 0 {
		s.windowStart = now
	}
	s.failures++
	if s.failures < s.allowed(c) {
		return 0
	}
	lockout = c.lockout
	for range s.strikes {
		if lockout > c.maxLockout/2 {
			lockout = c.maxLockout
			break
		}
		lockout *= 2
	}
	lockout = min(lockout, c.maxLockout)
	s.strikes++
	s.failures = 0
	s.lockedUntil = now.Add(lockout)
	return lockout
}

// sourceOf returns the source address of a request: the IP of its
// RemoteAddr. A RemoteAddr that is not an address (a listener of another
// kind) gives the zero Addr, which all such requests share.
func sourceOf(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(remoteAddr); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}
