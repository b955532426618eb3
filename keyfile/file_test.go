package keyfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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

	errs := make(chan error, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f.Watch(ctx, 5*time.Millisecond, func(err error) { errs <- err })
		close(done)
	}()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: loaded %q", what, l.got)
			}
		}
	}

	write("two")
	waitFor("a changed file", func() bool { return l.last() == "two" })

	// A change that fails to load is reported once, and the keys stay.
	l.refuse(true)
	write("three")
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("error %v, want the file and the reason", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a change that failed to load was not reported")
	}
	time.Sleep(50 * time.Millisecond)
	if len(errs) != 0 || l.last() != "two" {
		t.Fatalf("%d more errors, loaded %q", len(errs), l.got)
	}
	// Fixed, it loads.
	l.refuse(false)
	write("four")
	waitFor("a fixed file", func() bool { return l.last() == "four" })

	// Unchanged content is not loaded again; Reload loads it whatever.
	n := len(l.got)
	time.Sleep(50 * time.Millisecond)
	if err := f.Reload(); err != nil || len(l.got) != n+1 {
		t.Fatalf("Reload: %v, %d loads, want %d", err, len(l.got), n+1)
	}

	// A file that goes away is reported once; the keys stay.
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("removed file: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a removed file was not reported")
	}
	time.Sleep(50 * time.Millisecond)
	if len(errs) != 0 {
		t.Errorf("a removed file reported %d more times", len(errs))
	}
}
