package edgetable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"

	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/internal/bounded"
)

// MaxFileSize is the largest table file OpenFile and Reload accept. A full table (thousands of proxies with MaxNamesPerEntry
// names each) is far smaller; the bound keeps a wrong path, such as a log
// file or a device, from being read whole into memory.
const MaxFileSize = 16 << 20

// renameFile replaces the table file with the freshly written temporary
// one. It is a variable so that tests can make the replacement fail: they
// run as root, and file permissions do not stop root.
var renameFile = os.Rename

// syncDir makes the rename durable; a variable for the same reason.
var syncDir = syncDirectory

// File is a Table kept in a JSON file, so that the edge proxies'
// entries survive a restart of the node instead of waiting for each proxy's
// next refresh.
//
// The file is {"entries":[Entry, ...]}, sorted as List sorts. Every change
// rewrites it whole through a temporary file in the same directory that is
// synced and then renamed over it, so a crash at any moment leaves either
// the old or the new file, never a truncated one. The in-memory table, which
// Match and List read, changes only once the new file is in place: what the
// node accepts is never ahead of what it would accept after a restart.
//
// A File is safe for concurrent use. Changes and Reload are
// serialized; Match and List do not wait for a change being written and see
// the content before it.
type File struct {
	path string

	mu  sync.Mutex // serializes Put, Remove and Reload: each rewrites or replaces the whole content
	mem Memory
}

// OpenFile loads the table stored at path. A missing file is an empty
// table: the file is created by the first change, so a node that never had
// an edge proxy needs no file. A file larger than MaxFileSize, a file
// that is not valid JSON of the expected shape, an entry that fails
// Entry.Validate (the error wraps ErrInvalidEntry) and two entries with the
// same HostNameOrIP are refused with an error that names the file and, for
// an entry, its index: starting with part of a damaged table would reject
// proxies without saying why.
func OpenFile(path string) (*File, error) {
	t := &File{path: path}
	entries, err := t.load()
	if err != nil {
		return nil, err
	}
	if err := t.mem.Replace(entries); err != nil {
		return nil, fmt.Errorf("edgetable: %s: %w", path, err)
	}
	return t, nil
}

// Path returns the file the table is stored in, as given to OpenFile.
func (t *File) Path() string { return t.path }

// Match implements Table. It reads only memory, so a handshake never waits
// for the disk.
func (t *File) Match(n certcheck.Names) (Entry, bool) { return t.mem.Match(n) }

// List implements Table.
func (t *File) List() ([]Entry, error) { return t.mem.List() }

// Put implements Table. The entry must pass Entry.Validate. The whole file
// is rewritten before the entry takes effect; if that fails, the error is
// returned and both the table and the file are left as they were, so the
// proxy's next refresh can simply try again. The one exception is a
// failure to sync the directory after the new file was renamed into place:
// the file already holds the change, so the table takes it too (it must
// match what a restart would load), and the error still says that the
// change may not survive a power loss.
func (t *File) Put(e Entry) error {
	e, key, err := stored(e)
	if err != nil {
		return err
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	entries, _, err := t.listWithout(key)
	if err != nil {
		return err
	}
	entries = append(entries, e)
	sortEntries(entries)
	err = t.write(entries)
	if !applied(err) {
		return err
	}
	if perr := t.mem.Put(e); perr != nil { // cannot happen: e passed Validate
		return perr
	}
	return err
}

// Remove implements Table. Removing an absent entry changes nothing and
// writes nothing. Otherwise the file is rewritten first, as for Put, and
// on failure the entry stays (with the same exception for the directory
// sync).
func (t *File) Remove(hostNameOrIP string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	entries, found, err := t.listWithout(HostKey(hostNameOrIP))
	if err != nil || !found {
		return false, err
	}
	err = t.write(entries)
	if !applied(err) {
		return false, err
	}
	t.mem.Remove(hostNameOrIP)
	return true, err
}

// listWithout returns the table's entries but the one of key, and
// whether there was one. The caller holds t.mu.
func (t *File) listWithout(key string) ([]Entry, bool, error) {
	entries, err := t.mem.List()
	if err != nil {
		return nil, false, err
	}
	n := len(entries)
	entries = slices.DeleteFunc(entries, func(x Entry) bool { return HostKey(x.HostNameOrIP) == key })
	return entries, len(entries) < n, nil
}

// Reload reads the file again, for a table edited or restored by hand
// while the node runs. On any error, including the ones OpenFile
// reports, the table keeps its current content: a bad edit must not empty
// the table the node is serving from. A file that has gone missing is an
// empty table, as for OpenFile.
func (t *File) Reload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	entries, err := t.load()
	if err != nil {
		return err
	}
	if err := t.mem.Replace(entries); err != nil {
		return fmt.Errorf("edgetable: %s: %w", t.path, err)
	}
	return nil
}

// tableFile is the layout of the file. Entries are kept raw while decoding
// so that an error can name the entry it is in.
type tableFile struct {
	Entries []json.RawMessage `json:"entries"`
}

// load reads and checks the file; a missing file is an empty table.
func (t *File) load() ([]Entry, error) {
	data, err := bounded.ReadFile(t.path, MaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("edgetable: %w", err)
	}
	return parseTable(t.path, data)
}

// parseTable decodes the file content strictly: unknown fields and
// trailing data are errors, because an entry whose field name was mistyped
// in a hand edit would otherwise be silently dropped, and a rewrite would
// then lose it for good.
func parseTable(path string, data []byte) ([]Entry, error) {
	var tf tableFile
	if err := decodeStrict(data, &tf); err != nil {
		return nil, fmt.Errorf("edgetable: %s: %w", path, err)
	}
	entries := make([]Entry, 0, len(tf.Entries))
	seen := make(map[string]int, len(tf.Entries))
	for i, raw := range tf.Entries {
		var e Entry
		if err := decodeStrict(raw, &e); err != nil {
			return nil, fmt.Errorf("edgetable: %s: entry %d: %w", path, i, err)
		}
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("edgetable: %s: entry %d: %w", path, i, err)
		}
		key := HostKey(e.HostNameOrIP)
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("edgetable: %s: entry %d: %w: hostNameOrIp %q already in entry %d", path, i, ErrInvalidEntry, e.HostNameOrIP, j)
		}
		seen[key] = i
		entries = append(entries, e)
	}
	return entries, nil
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// write replaces the file with entries: temporary file in the same
// directory (a rename is atomic only within one file system), write,
// fsync, close, rename over the file, fsync the directory so the rename
// itself survives a power loss. On an error before the rename the
// temporary file is removed and the old file is untouched.
func (t *File) write(entries []Entry) (err error) {
	if entries == nil {
		entries = []Entry{} // "entries": [] rather than null
	}
	data, err := json.MarshalIndent(struct {
		Entries []Entry `json:"entries"`
	}{entries}, "", "  ")
	if err != nil {
		return fmt.Errorf("edgetable: %s: %w", t.path, err)
	}
	data = append(data, '\n')

	dir, base := filepath.Split(t.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("edgetable: %s: %w", t.path, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Keep the mode of the file being replaced, so that an operator's
	// chmod survives the first change; a new file stays at CreateTemp's
	// 0600, as the table decides which proxies the node trusts.
	if fi, err := os.Stat(t.path); err == nil {
		if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
			return fmt.Errorf("edgetable: %s: %w", t.path, err)
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("edgetable: %s: %w", t.path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("edgetable: %s: %w", t.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("edgetable: %s: %w", t.path, err)
	}
	if err := renameFile(tmp.Name(), t.path); err != nil {
		return fmt.Errorf("edgetable: %s: %w", t.path, err)
	}
	renamed = true
	if err := syncDir(dir); err != nil {
		// The new file is in place and is what a restart would read, so
		// the caller still applies the change; the error says that it may
		// not survive a power loss.
		return &dirSyncError{path: t.path, err: err}
	}
	return nil
}

// applied reports whether the outcome err of write left the new file in
// place, so that the in-memory table must follow it: on success, and when
// only the directory sync after the rename failed.
func applied(err error) bool {
	var ds *dirSyncError
	return err == nil || errors.As(err, &ds)
}

// dirSyncError reports a change written and renamed into place whose
// directory could not be synced.
type dirSyncError struct {
	path string
	err  error
}

func (e *dirSyncError) Error() string {
	return fmt.Sprintf("edgetable: %s: change applied but not confirmed durable: syncing the directory: %v", e.path, e.err)
}

func (e *dirSyncError) Unwrap() error { return e.err }

// syncDirectory makes a rename in dir durable. Windows cannot sync a directory
// and some file systems refuse to; there the rename is as durable as the
// file system makes it, and nothing more can be done.
func syncDirectory(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}
