//go:build unix

package watch

import (
	"os"
	"strconv"
	"syscall"
)

// fileID names the file behind st (device and inode), so that another
// file renamed into place is seen even with the same size and time.
func fileID(st os.FileInfo) string {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(s.Dev), 10) + ":" + strconv.FormatUint(uint64(s.Ino), 10)
	}
	return ""
}
