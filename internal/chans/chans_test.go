package chans

import "testing"

func TestClosed(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	if Closed(done) {
		t.Fatal("open channel reported closed")
	}
	close(done)
	if !Closed(done) {
		t.Fatal("closed channel reported open")
	}
	// A nil channel is never closed: Closed does not block on it.
	if Closed(nil) {
		t.Fatal("nil channel reported closed")
	}
}
