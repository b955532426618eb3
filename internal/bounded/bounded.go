package bounded

import (
	"errors"
	"io"
	"os"
	"strconv"
)

// ErrTooLarge is what a *TooLargeError is, for errors.Is.
var ErrTooLarge = errors.New("larger than the limit")

// TooLargeError says that an input holds more than Max bytes.
type TooLargeError struct{ Max int64 }

// Error says the limit, e.g. "larger than 4194304 bytes".
func (e *TooLargeError) Error() string {
	return "larger than " + strconv.FormatInt(e.Max, 10) + " bytes"
}

// Is reports whether target is ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// ReadAll reads r to its end if it holds at most max bytes; past that it
// stops and fails with a *TooLargeError.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Max: max}
	}
	return b, nil
}

// ReadFile reads the file at path if it holds at most max bytes. Every
// error names the file: the os package's, and for a larger file an
// *os.PathError wrapping a *TooLargeError ("read /etc/x: larger than 4194304
// bytes").
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := ReadAll(f, max)
	var tl *TooLargeError
	if errors.As(err, &tl) {
		return nil, &os.PathError{Op: "read", Path: path, Err: tl}
	}
	return b, err
}
