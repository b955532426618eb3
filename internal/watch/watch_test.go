package watch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestPoll: a change reloads once; a change that fails to load is
// reported once and not retried until the state changes again; a state
// loaded elsewhere is not reloaded.
func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		state, loaded := [32]byte{1}, [32]byte{1}
		fail := false
		var reloads, errs int
		get := func() [32]byte { mu.Lock(); defer mu.Unlock(); return state }
		last := func() *[32]byte { mu.Lock(); defer mu.Unlock(); l := loaded; return &l }
		reload := func() error {
			mu.Lock()
			defer mu.Unlock()
			reloads++
			if fail {
				return errors.New("bad file")
			}
			loaded = state
			return nil
		}
		set := func(s byte, f bool) { mu.Lock(); state, fail = [32]byte{s}, f; mu.Unlock() }
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			Poll(ctx, time.Second, get, last, reload, func(error) { errs++ })
			close(done)
		}()
		step := func() { time.Sleep(time.Second); synctest.Wait() }
		check := func(what string, wantReloads, wantErrs int) {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			if reloads != wantReloads || errs != wantErrs {
				t.Fatalf("%s: %d reloads, %d errors; want %d, %d", what, reloads, errs, wantReloads, wantErrs)
			}
		}
		synctest.Wait()
		check("unchanged", 0, 0)
		set(2, false)
		step()
		check("changed", 1, 0)
		step()
		check("loaded", 1, 0)
		set(3, true)
		step()
		check("bad change", 2, 1)
		step()
		step()
		check("bad change again", 2, 1)
		set(4, false)
		step()
		check("fixed", 3, 1)
		mu.Lock()
		loaded, state = [32]byte{5}, [32]byte{5} // reloaded elsewhere
		mu.Unlock()
		step()
		check("reloaded elsewhere", 3, 1)
		cancel()
		<-done
	})
}

func TestStat(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "devices.json")
	missing := Stat(p)
	if err := os.WriteFile(p, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := Stat(p)
	if a == missing || Stat(p) != a {
		t.Fatal("a new file's state equals a missing one's, or is not stable")
	}
	if err := os.WriteFile(p, []byte("[{}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := Stat(p)
	if b == a {
		t.Fatal("a file of another size has the same state")
	}
	// Another file of the same size and time renamed into place.
	st, _ := os.Stat(p)
	q := filepath.Join(dir, "devices.json.new")
	if err := os.WriteFile(q, []byte("[{}]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(q, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(q, p); err != nil {
		t.Fatal(err)
	}
	if Stat(p) == b {
		t.Fatal("a file renamed into place with the same size and time has the same state")
	}
}
