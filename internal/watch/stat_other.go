//go:build !unix

package watch

import "os"

// fileID is empty where the platform gives no file identity in Stat.
func fileID(os.FileInfo) string { return "" }
