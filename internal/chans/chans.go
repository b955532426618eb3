package chans

// Closed reports whether done is closed, without waiting: a channel that
// is only ever closed, never sent on, signals that something has ended.
func Closed(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}
