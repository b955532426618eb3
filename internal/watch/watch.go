package watch

import (
	"context"
	"crypto/sha256"
	"os"
	"strconv"
	"time"
)

// DefaultInterval is the polling interval when none is given.
const DefaultInterval = 5 * time.Second

// Poll checks state every interval (DefaultInterval when 0 or less) until
// ctx ends, and calls reload when the state differs from loaded() — the
// state last loaded, nil when there is none — and from the state whose
// reload failed last: a change that fails to load is reported to onError
// (if set) once, and tried again only when the state changes again.
// loaded is asked at every check, so that a reload made elsewhere counts.
func Poll(ctx context.Context, interval time.Duration, state func() [32]byte, loaded func() *[32]byte,
	reload func() error, onError func(error)) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var failed *[32]byte
	for {
		cur := state()
		if l := loaded(); (l == nil || cur != *l) && (failed == nil || cur != *failed) {
			if err := reload(); err != nil {
				failed = &cur
				if onError != nil {
					onError(err)
				}
			} else {
				failed = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Stat is a cheap state of a file: which file it is (on Unix, its device
// and inode, so that a file renamed into place counts), its size,
// modification time and mode, or the error that stats it. A large file (a
// devices list) is then not read at every check; a file rewritten in
// place with the same size within the file system's time resolution is
// missed, as only reading it would tell.
func Stat(path string) [32]byte {
	st, err := os.Stat(path)
	if err != nil {
		return sha256.Sum256([]byte("error\x00" + err.Error()))
	}
	return sha256.Sum256([]byte(fileID(st) + "\x00" + strconv.FormatInt(st.Size(), 10) + "\x00" +
		st.ModTime().UTC().Format(time.RFC3339Nano) + "\x00" + st.Mode().String()))
}
