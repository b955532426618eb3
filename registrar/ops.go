package registrar

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipoauth/sdk/internal/bounded"
	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/sipauth"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/time/rate"
)

// FileDevices is a Devices read from a JSON file: an array of Device.
// Reload swaps the set atomically; a reload that fails keeps the old one.
type FileDevices struct {
	path string
	// set points into the list read from the file: a map slot holds a
	// pointer, not a Device.
	set atomic.Pointer[map[string]*Device]
}

// maxDevicesFile bounds the devices file.
const maxDevicesFile = 64 << 20

// ReadDevicesFile reads a devices file: the JSON array of Device, each
// with a name of its own (at most 64 MiB). A name it does not know
// ("oath" for "oauth") is an error, not a setting silently left out.
func ReadDevicesFile(path string) ([]Device, error) {
	b, err := bounded.ReadFile(path, maxDevicesFile)
	if err != nil {
		return nil, fmt.Errorf("registrar: devices: %w", err)
	}
	var list []Device
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("registrar: devices %s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("registrar: devices %s: more after the array", path)
	}
	list = slices.Clone(list) // without the room the decoder grew it by
	seen := make(map[string]bool, len(list))
	for i, d := range list {
		if d.Name == "" {
			return nil, fmt.Errorf("registrar: devices %s: device %d has no name", path, i)
		}
		if seen[d.Name] {
			return nil, fmt.Errorf("registrar: devices %s: device %q listed twice", path, d.Name)
		}
		seen[d.Name] = true
	}
	return list, nil
}

// OpenFileDevices reads the devices file at path.
func OpenFileDevices(path string) (*FileDevices, error) {
	f := &FileDevices{path: path}
	return f, f.Reload()
}

// Reload reads the file again.
func (f *FileDevices) Reload() error {
	list, err := ReadDevicesFile(f.path)
	if err != nil {
		return err
	}
	m := make(map[string]*Device, len(list))
	for i := range list {
		m[list[i].Name] = &list[i]
	}
	f.set.Store(&m)
	return nil
}

// Len returns how many devices the file lists.
func (f *FileDevices) Len() int {
	if m := f.set.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// Device implements Devices.
func (f *FileDevices) Device(_ context.Context, name string) (Device, bool, error) {
	d, ok := (*f.set.Load())[name]
	if !ok {
		return Device{}, false, nil
	}
	return *d, true, nil
}

// SourceLimiter limits the REGISTERs of each source IP address
// (golang.org/x/time/rate), answering 503 Service Unavailable with
// Retry-After beyond the limit. Use its Admit as Registrar.Admit. It
// remembers at most MaxSources addresses, forgetting the idlest.
type SourceLimiter struct {
	Rate       rate.Limit
	Burst      int
	MaxSources int // 100,000 when 0
	RetryAfter int // seconds; 5 when 0

	mu      sync.Mutex
	sources map[string]*sourceEntry
}

type sourceEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// Admit refuses a request from a source over its rate.
func (l *SourceLimiter) Admit(r *Request) *sip.Response {
	ip := ""
	if r.Peer.Remote != nil {
		ip = r.Peer.Remote.String()
		if h, _, err := net.SplitHostPort(ip); err == nil {
			ip = h
		}
	}
	now := time.Now()
	l.mu.Lock()
	if l.sources == nil {
		l.sources = map[string]*sourceEntry{}
	}
	e := l.sources[ip]
	if e == nil {
		max := defaults.Positive(l.MaxSources, 100000)
		if len(l.sources) >= max {
			l.forgetIdlest(now)
		}
		e = &sourceEntry{lim: rate.NewLimiter(l.Rate, l.Burst)}
		l.sources[ip] = e
	}
	e.seen = now
	ok := e.lim.AllowN(now, 1)
	l.mu.Unlock()
	if ok {
		return nil
	}
	r.Reason = sipauth.RateLimited
	ra := defaults.Positive(l.RetryAfter, 5)
	return respond(r, 503, "Service Unavailable", sip.NewHeader("Retry-After", strconv.Itoa(ra)))
}

// forgetIdlest makes room: it drops the sources idle for a minute (their
// limiters are full again anyway), or else an arbitrary tenth.
func (l *SourceLimiter) forgetIdlest(now time.Time) {
	before := len(l.sources)
	for ip, e := range l.sources {
		if now.Sub(e.seen) > time.Minute {
			delete(l.sources, ip)
		}
	}
	if len(l.sources) < before {
		return
	}
	n := max(1, before/10)
	for ip := range l.sources {
		delete(l.sources, ip)
		if n--; n == 0 {
			return
		}
	}
}

// Counter is implemented by stores that can count their bindings.
type Counter interface{ Count() int }

// Count implements Counter: the bindings that have not expired.
func (m *MemoryStore) Count() int {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, bs := range m.aors {
		for _, b := range *bs {
			if b.Expires.After(now) {
				n++
			}
		}
	}
	return n
}
