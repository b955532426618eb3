package bounded

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAll(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int64
		want string
		err  bool
	}{
		{"", 0, "", false}, {"abc", 3, "abc", false}, {"abcd", 3, "", true}, {"abc", 0, "", true},
	} {
		got, err := ReadAll(strings.NewReader(tc.in), tc.max)
		if string(got) != tc.want || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrTooLarge)) {
			t.Errorf("ReadAll(%q, %d) = %q, %v", tc.in, tc.max, got, err)
		}
	}
	// At most max+1 bytes are read from a stream that never ends.
	r := iotest.OneByteReader(infinite{})
	if _, err := ReadAll(r, 1<<10); err == nil || err.Error() != "larger than 1024 bytes" {
		t.Fatalf("endless stream: %v", err)
	}
	if _, err := ReadAll(iotest.ErrReader(errors.New("disk")), 10); err == nil || err.Error() != "disk" {
		t.Fatalf("read error: %v", err)
	}
}

type infinite struct{}

func (infinite) Read(p []byte) (int, error) { return len(p), nil }

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "devices.json")
	os.WriteFile(p, []byte("12345"), 0o600)
	if b, err := ReadFile(p, 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the bound: %q %v", b, err)
	}
	_, err := ReadFile(p, 4)
	var pe *os.PathError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &pe) || pe.Path != p || err.Error() != "read "+p+": larger than 4 bytes" {
		t.Fatalf("past the bound: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 4); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrTooLarge) {
		t.Fatalf("missing file: %v", err)
	}
}
