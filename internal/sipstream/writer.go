package sipstream

import (
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

var zeroTime time.Time

// Writer writes whole SIP messages, and a Reader's pongs, on a stream
// that several goroutines share: one write at a time, each with a
// deadline when the stream takes one (a net.Conn does).
type Writer struct {
	dst     io.Writer
	timeout time.Duration

	mu sync.Mutex
}

// NewWriter returns a Writer on dst. A write given no deadline of its own
// gets timeout from its start; with a timeout of 0 it leaves dst's
// deadline as it is.
func NewWriter(dst io.Writer, timeout time.Duration) *Writer {
	return &Writer{dst: dst, timeout: timeout}
}

// WriteMessage writes m in one write that ends by deadline; a zero
// deadline means the Writer's timeout.
func (w *Writer) WriteMessage(m sip.Message, deadline time.Time) error {
	var b bytes.Buffer
	m.StringWrite(&b)
	return w.Write(b.Bytes(), deadline)
}

// Write writes p, a whole message already serialized, in one write that
// ends by deadline; a zero deadline means the Writer's timeout.
func (w *Writer) Write(p []byte, deadline time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if deadline.IsZero() && w.timeout > 0 {
		deadline = time.Now().Add(w.timeout)
	}
	if d, ok := w.dst.(interface{ SetWriteDeadline(time.Time) error }); ok && !deadline.IsZero() {
		if err := d.SetWriteDeadline(deadline); err != nil {
			return err
		}
	}
	_, err := w.dst.Write(p)
	return err
}
