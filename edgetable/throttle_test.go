package edgetable

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// serveFrom calls h directly as if the request came over TLS from
// remoteAddr: the one way to test sources other than 127.0.0.1.
func serveFrom(h http.Handler, remoteAddr, user, pass string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/entries", nil)
	req.RemoteAddr = remoteAddr
	req.TLS = &tls.ConnectionState{}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func retryAfter(t *testing.T, what string, header http.Header) int {
	t.Helper()
	ra := header.Get("Retry-After")
	n, err := strconv.Atoi(ra)
	if err != nil || n <= 0 {
		t.Fatalf("%s: Retry-After %q, want a positive number of seconds", what, ra)
	}
	return n
}

// TestHandlerGuessing: 300 password guesses over HTTPS from one
// address. At most DefaultMaxAuthFailures are checked; the rest, and the
// right password while the lockout lasts, get 429 with Retry-After. An
// edge proxy on another address is not affected, and the right password
// is accepted once the lockout has passed.
func TestHandlerGuessing(t *testing.T) {
	t.Parallel()
	mem := &Memory{}
	if err := mem.Put(expc2); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	var logged bytes.Buffer
	h := NewHandler(mem, testUsers)
	h.Throttle.Now = clock.Now
	h.ErrorLog = log.New(&logged, "", 0)
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newClient(t, srv)

	counts := map[int]int{}
	for i := range 300 {
		got := c.do("GET", "/entries", "", "", "expc", fmt.Sprintf("guess-%d", i))
		counts[got.status]++
		switch {
		case got.status == 401 && i >= DefaultMaxAuthFailures:
			t.Fatalf("guess %d was checked (401)", i)
		case got.status == 429:
			if n := retryAfter(t, "429", got.header); n > 60 {
				t.Fatalf("Retry-After %d, want the first lockout of 60 s at most", n)
			}
			expect(t, "locked out", got, 429, errBody("too many failed authentications from this address; retry later"))
		case got.status != 401:
			t.Fatalf("guess %d: %d %s", i, got.status, got.body)
		}
	}
	if counts[401] != DefaultMaxAuthFailures || counts[429] != 300-DefaultMaxAuthFailures {
		t.Fatalf("300 wrong passwords answered %v; want %d 401s, the rest 429", counts, DefaultMaxAuthFailures)
	}
	if got := logged.String(); strings.Count(got, "locked out") != 1 || !strings.Contains(got, "source 127.0.0.1 locked out for 1m0s") {
		t.Errorf("log %q, want one lockout of 127.0.0.1", got)
	}

	right := c.as("GET", "/entries", "")
	expect(t, "right password while locked out", right, 429, errBody("too many failed authentications from this address; retry later"))
	if n := retryAfter(t, "right password while locked out", right.header); n != 60 {
		t.Errorf("Retry-After %d, want 60", n)
	}
	expect(t, "no credentials while locked out", c.do("GET", "/entries", "", "", "", ""), 429, errBody("too many failed authentications from this address; retry later"))

	// The edge proxy on its own address is served meanwhile.
	if rec := serveFrom(h, "192.0.2.50:40000", "expc", testUsers["expc"]); rec.Code != 200 {
		t.Fatalf("another source while 127.0.0.1 is locked out: %d %s", rec.Code, rec.Body)
	}
	if rec := serveFrom(h, "[2001:db8::50]:40000", "admin", testUsers["admin"]); rec.Code != 200 {
		t.Fatalf("an IPv6 source while 127.0.0.1 is locked out: %d %s", rec.Code, rec.Body)
	}

	clock.Advance(59 * time.Second)
	right = c.as("GET", "/entries", "")
	if right.status != 429 || retryAfter(t, "a second before the end", right.header) != 1 {
		t.Fatalf("a second before the lockout ends: %d, Retry-After %q", right.status, right.header.Get("Retry-After"))
	}
	clock.Advance(time.Second)
	expc2JSON := `{"hostNameOrIp":"expc2.example.com","description":"Expressway-C 2","names":["expc2.example.com"]}`
	expect(t, "right password after the lockout", c.as("GET", "/entries", ""), 200, "["+expc2JSON+"]\n")

	// Success cleared the record: the allowance is whole again.
	for i := range DefaultMaxAuthFailures {
		expect(t, fmt.Sprintf("wrong password %d after a success", i), c.do("GET", "/entries", "", "", "expc", "wrong"), 401, errBody("authentication required"))
	}
	expect(t, "one more", c.do("GET", "/entries", "", "", "expc", "wrong"), 429, errBody("too many failed authentications from this address; retry later"))
}

// TestHandlerBackoff: after a lockout one further failure locks the
// source out again, for twice as long each time, up to MaxLockout; a
// source quiet for MaxLockout after its last lockout starts afresh.
func TestHandlerBackoff(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	h := NewHandler(&Memory{}, testUsers)
	h.ErrorLog = log.New(io.Discard, "", 0)
	h.Throttle = AuthThrottle{MaxFailures: 3, Window: time.Minute, Lockout: 10 * time.Second, MaxLockout: 100 * time.Second, Now: clock.Now}
	const src = "198.51.100.7:5555"
	wrong := func(what string, want int) *httptest.ResponseRecorder {
		t.Helper()
		rec := serveFrom(h, src, "expc", "wrong")
		if rec.Code != want {
			t.Fatalf("%s: %d, want %d", what, rec.Code, want)
		}
		return rec
	}

	// Failures more than Window apart do not add up.
	wrong("first", 401)
	wrong("second", 401)
	clock.Advance(time.Minute)
	wrong("after the window", 401)
	wrong("after the window", 401)
	wrong("third within the window", 401)
	for _, want := range []int{10, 20, 40, 80, 100, 100} {
		rec := wrong("locked", 429)
		if n := retryAfter(t, "locked", rec.Header()); n != want {
			t.Fatalf("Retry-After %d, want %d", n, want)
		}
		clock.Advance(time.Duration(want) * time.Second)
		wrong("one guess after the lockout", 401)
	}
	// Quiet for MaxLockout after the last lockout ended: a fresh start.
	clock.Advance(100*time.Second + 100*time.Second)
	wrong("fresh 1", 401)
	wrong("fresh 2", 401)
	wrong("fresh 3", 401)
	if rec := wrong("fresh lockout", 429); retryAfter(t, "fresh lockout", rec.Header()) != 10 {
		t.Fatalf("fresh lockout: Retry-After %s, want 10", rec.Header().Get("Retry-After"))
	}
}

// TestHandlerThrottleBounded: no more than MaxSources sources are
// remembered; idle ones are forgotten when room is needed, and while
// none is idle the sources not remembered share one allowance, so that
// many addresses cannot guess without limit.
func TestHandlerThrottleBounded(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	h := NewHandler(&Memory{}, testUsers)
	h.ErrorLog = log.New(io.Discard, "", 0)
	h.Throttle = AuthThrottle{MaxFailures: 2, MaxSources: 3, Window: time.Minute, Lockout: time.Minute, MaxLockout: time.Minute, Now: clock.Now}
	addr := func(i int) string { return fmt.Sprintf("203.0.113.%d:1000", i) }

	// Three sources fill the memory, each with a failure to remember.
	for i := range 3 {
		if rec := serveFrom(h, addr(i), "expc", "wrong"); rec.Code != 401 {
			t.Fatalf("source %d: %d", i, rec.Code)
		}
	}
	// Sources beyond them share one allowance of two failures.
	for i := 3; i < 5; i++ {
		if rec := serveFrom(h, addr(i), "expc", "wrong"); rec.Code != 401 {
			t.Fatalf("source %d: %d", i, rec.Code)
		}
	}
	for i := 5; i < 50; i++ {
		if rec := serveFrom(h, addr(i), "expc", "wrong"); rec.Code != 429 {
			t.Fatalf("source %d beyond the memory: %d, want 429", i, rec.Code)
		}
	}
	if rec := serveFrom(h, addr(99), "expc", testUsers["expc"]); rec.Code != 429 {
		t.Fatalf("right password from a source not remembered while they are locked out: %d", rec.Code)
	}
	// The remembered sources keep their own allowance.
	if rec := serveFrom(h, addr(0), "expc", testUsers["expc"]); rec.Code != 200 {
		t.Fatalf("remembered source: %d", rec.Code)
	}
	h.Throttle.mu.Lock()
	n := len(h.Throttle.sources)
	h.Throttle.mu.Unlock()
	if n > 2 {
		t.Fatalf("%d sources remembered after one succeeded, want 2", n)
	}

	// Once the window has passed and the shared lockout is forgotten, the
	// records are idle and make room for new sources, and the shared
	// allowance is whole again.
	clock.Advance(2 * time.Minute)
	for i := 100; i < 106; i++ {
		want := 401
		if i == 105 {
			want = 429
		}
		if rec := serveFrom(h, addr(i), "expc", "wrong"); rec.Code != want {
			t.Fatalf("source %d later: %d, want %d", i, rec.Code, want)
		}
		h.Throttle.mu.Lock()
		n := len(h.Throttle.sources)
		h.Throttle.mu.Unlock()
		if n > 3 {
			t.Fatalf("%d sources remembered, want at most 3", n)
		}
	}
	for i := 100; i < 103; i++ {
		h.Throttle.mu.Lock()
		_, ok := h.Throttle.sources[sourceOf(addr(i))]
		h.Throttle.mu.Unlock()
		if !ok {
			t.Errorf("source %d not remembered", i)
		}
	}
}

// TestHandlerConcurrentGuesses: guesses sent at once from one
// source get no more checks than one after the other.
func TestHandlerConcurrentGuesses(t *testing.T) {
	t.Parallel()
	h := NewHandler(&Memory{}, testUsers)
	h.ErrorLog = log.New(io.Discard, "", 0)
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			rec := serveFrom(h, "192.0.2.99:1234", "expc", fmt.Sprintf("guess-%d", i))
			mu.Lock()
			counts[rec.Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[401] > DefaultMaxAuthFailures || counts[401]+counts[429] != 100 {
		t.Fatalf("100 concurrent guesses answered %v; want at most %d 401s, the rest 429", counts, DefaultMaxAuthFailures)
	}

	// The same, deterministically: attempts still being checked count.
	var th AuthThrottle
	src := sourceOf("192.0.2.98:1")
	var inFlight []*authSource
	for range 3 * DefaultMaxAuthFailures {
		if s, _, ok := th.begin(src, true); ok {
			inFlight = append(inFlight, s)
		}
	}
	if len(inFlight) != DefaultMaxAuthFailures {
		t.Fatalf("%d attempts admitted at once, want %d", len(inFlight), DefaultMaxAuthFailures)
	}
	// One succeeds: the source is cleared, though the others are still
	// being checked; their failures then count afresh.
	th.end(inFlight[0], src, true)
	for _, s := range inFlight[1:] {
		th.end(s, src, false)
	}
	if _, _, ok := th.begin(src, true); !ok {
		t.Fatalf("locked out after %d failures", DefaultMaxAuthFailures-1)
	}
}

func TestAuthThrottleDefaults(t *testing.T) {
	t.Parallel()
	for _, th := range []*AuthThrottle{{}, {MaxFailures: -1, Window: -1, Lockout: -1, MaxLockout: -1, MaxSources: -1}} {
		c := th.config()
		want := throttleConfig{maxFailures: 5, maxSources: 4096, window: 10 * time.Minute, lockout: time.Minute, maxLockout: time.Hour}
		if c != want {
			t.Errorf("config of %+v = %+v, want %+v", th, c, want)
		}
	}
	// MaxLockout below Lockout is raised to it.
	if c := (&AuthThrottle{Lockout: 2 * time.Hour}).config(); c.maxLockout != 2*time.Hour {
		t.Errorf("maxLockout %v", c.maxLockout)
	}
	for in, want := range map[string]string{
		"192.0.2.1:443":         "192.0.2.1",
		"[::ffff:192.0.2.1]:80": "192.0.2.1",
		"[fe80::1%eth0]:80":     "fe80::1",
		"2001:db8::1":           "2001:db8::1",
		"@":                     "invalid IP",
		"":                      "invalid IP",
	} {
		if got := sourceOf(in).String(); got != want {
			t.Errorf("sourceOf(%q) = %s, want %s", in, got, want)
		}
	}
}
