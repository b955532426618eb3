package keyfile

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/sipoauth/sdk/internal/bounded"
	"github.com/sipoauth/sdk/internal/watch"
)

// ReadFile reads a key file of at most MaxSize bytes. The error names the
// file.
func ReadFile(path string) ([]byte, error) {
	b, err := bounded.ReadFile(path, MaxSize)
	if errors.Is(err, bounded.ErrTooLarge) {
		return nil, &os.PathError{Op: "read", Path: path, Err: fail(ErrTooLarge, "larger than %d bytes", MaxSize)}
	}
	return b, err
}

// File is a key file that is read again when its content changes. Its
// content goes to the load function given to OpenFile, which parses it and
// puts the keys to use; while load fails, the keys it loaded before stay
// in use. Safe for concurrent use.
type File struct {
	path string
	load func(data []byte) error

	mu     sync.Mutex        // serializes loads, guards the fields below
	loaded [sha256.Size]byte // the content last loaded
}

// OpenFile reads the file at path and hands its content to load. It fails
// if the file cannot be read or load fails.
func OpenFile(path string, load func(data []byte) error) (*File, error) {
	f := &File{path: path, load: load}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Reload reads the file again and hands its content to load, even if it
// has not changed. The error names the file.
func (f *File) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := ReadFile(f.path)
	if err != nil {
		return err
	}
	return f.loadLocked(data, sha256.Sum256(data))
}

func (f *File) loadLocked(data []byte, sum [sha256.Size]byte) error {
	if err := f.load(data); err != nil {
		return &os.PathError{Op: "load", Path: f.path, Err: err}
	}
	f.loaded = sum
	return nil
}

// Watch reads the file every interval (5 seconds when not positive) until
// ctx ends, and loads it when its content differs from what was loaded
// last. Polling the content, rather than waiting for notifications or
// comparing modification times, sees a file replaced by rename and a file
// rewritten within one tick. A change that fails to load, or a file that
// cannot be read, goes to onError, if set, once.
func (f *File) Watch(ctx context.Context, interval time.Duration, onError func(error)) {
	content := func() [32]byte {
		data, err := ReadFile(f.path)
		if err != nil {
			return sha256.Sum256([]byte("error\x00" + err.Error()))
		}
		return sha256.Sum256(data)
	}
	loaded := func() *[32]byte {
		f.mu.Lock()
		defer f.mu.Unlock()
		l := f.loaded
		return &l
	}
	watch.Poll(ctx, interval, content, loaded, f.Reload, onError)
}
