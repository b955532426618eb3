package keyfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// loads records what a File hands to its load function.
type loads struct {
	mu   sync.Mutex
	got  []string
	fail bool // refuse what comes
}

func (l *loads) load(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return errors.New("refused")
	}
	l.got = append(l.got, string(b))
	return nil
}

func (l *loads) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.got) == 0 {
		return ""
	}
	return l.got[len(l.got)-1]
}

func (l *loads) refuse(b bool) {
	l.mu.Lock()
	l.fail = b
	l.mu.Unlock()
}

func TestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys.pem")
	if _, err := OpenFile(p, func([]byte) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	write := func(s string) {
		t.Helper()
		// Replaced by rename, as certificate and key tools do.
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	write("one")
	l := new(loads)
	f, err := OpenFile(p, l.load)
	if err != nil || l.last() != "one" || f.Path() != p {
		t.Fatalf("OpenFile: %v, loaded %q", err, l.last())
	}

	// The watcher runs on a fake clock: each step is one interval, after
	// which the watcher has done all it will do, so each check is exact.
	synctest.Test(t, func(t *testing.T) {
		const interval = time.Second
		errs := make(chan error, 10)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			f.Watch(ctx, interval, func(err error) { errs <- err })
			close(done)
		}()
		defer func() { cancel(); <-done }()
		step := func() { time.Sleep(interval); synctest.Wait() }
		synctest.Wait()

		write("two")
		step()
		if l.last() != "two" {
			t.Fatalf("a changed file: loaded %q", l.got)
		}

		// A change that fails to load is reported once, and the keys stay.
		l.refuse(true)
		write("three")
		step()
		step()
		if len(errs) != 1 {
			t.Fatalf("a change that failed to load: %d reports, want 1", len(errs))
		}
		if err := <-errs; !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("error %v, want the file and the reason", err)
		}
		if l.last() != "two" {
			t.Fatalf("loaded %q", l.got)
		}
		// Fixed, it loads.
		l.refuse(false)
		write("four")
		step()
		if l.last() != "four" {
			t.Fatalf("a fixed file: loaded %q", l.got)
		}

		// Unchanged content is not loaded again; Reload loads it whatever.
		n := len(l.got)
		step()
		if len(l.got) != n {
			t.Fatalf("unchanged content loaded again: %d loads, want %d", len(l.got), n)
		}
		if err := f.Reload(); err != nil || len(l.got) != n+1 {
			t.Fatalf("Reload: %v, %d loads, want %d", err, len(l.got), n+1)
		}

		// A file that goes away is reported once; the keys stay.
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		step()
		step()
		if len(errs) != 1 {
			t.Fatalf("a removed file: %d reports, want 1", len(errs))
		}
		if err := <-errs; !errors.Is(err, os.ErrNotExist) {
			t.Errorf("removed file: %v", err)
		}
	})
}
