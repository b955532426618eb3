// Package syncbuf has a byte buffer that goroutines may write to and read
// from at once: the sink of the logs and outputs that tests inspect.
package syncbuf
