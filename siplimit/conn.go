package siplimit

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Linger after an answer to a refused message: the connection's sending
// side is shut and what the peer still sends is read and dropped, for at
// most this long and this many bytes, so that closing does not reset the
// connection before the peer has read the answer.
const (
	lingerTime  = time.Second
	lingerBytes = 64 << 10
)

// Conn is a stream connection from a Listener. Its Read passes the bytes
// on unchanged while it follows the SIP messages in them: it closes the
// connection when no byte arrives for IdleTimeout between messages, when
// a message is not complete within MessageTimeout of its first byte, and
// when a message is over MaxMessageSize or its framing is broken (answering
// 513 or 400 first when it can). Its Write is bounded by WriteTimeout and
// never interleaves with those answers. Read, like any net.Conn's, is for
// one goroutine at a time.
type Conn struct {
	c   net.Conn  // what is read and written: the *tls.Conn, or raw
	raw *counted  // the TCP connection
	tc  *tls.Conn // nil for plain TCP
	l   *Listener

	g         gate
	queue     []byte // bytes to pass on before reading more
	small     []byte // a read buffer for callers whose buffer is too small
	started   uint64
	completed uint64
	msgStart  time.Time
	rerr      error // returned by every Read once set

	read, write deadline

	wmu    sync.Mutex
	closed atomic.Bool
}

// TLSConn is a Conn over TLS, from NewTLSListener.
type TLSConn struct {
	*Conn
}

// ConnectionState returns the TLS connection's state: its version, cipher
// suite and the peer's verified certificate chains.
func (c *TLSConn) ConnectionState() tls.ConnectionState { return c.tc.ConnectionState() }

// NetConn returns the *tls.Conn under the Conn. Reading or writing it
// directly bypasses the limits.
func (c *TLSConn) NetConn() net.Conn { return c.tc }

func newConn(l *Listener, c net.Conn, raw *counted, tc *tls.Conn) *Conn {
	return &Conn{c: c, raw: raw, tc: tc, l: l, g: gate{fr: newFramer(l.lim.MaxMessageSize, true)}}
}

// Read reads the connection's next bytes.
func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(c.queue) > 0 {
		n := copy(b, c.queue)
		c.queue = c.queue[n:]
		return n, nil
	}
	for {
		if c.rerr != nil {
			return 0, c.rerr
		}
		if c.g.fr.failed() {
			return 0, c.refuse(b)
		}
		buf := b
		if len(buf) < maxNULs+2 {
			if c.small == nil {
				c.small = make([]byte, 4096)
			}
			buf = c.small
		}
		off := c.g.prefix(buf)
		callers := c.armRead()
		n, err := c.c.Read(buf[off:])
		if n > 0 {
			out := c.g.pass(buf, off, n)
			c.track()
			if len(out) > 0 {
				if err != nil {
					c.rerr = c.readError(err, callers)
				}
				if &buf[0] == &b[0] {
					return len(out), nil // already in place
				}
				k := copy(b, out)
				c.queue = out[k:]
				return k, nil
			}
		}
		if err != nil {
			c.rerr = c.readError(err, callers)
			return 0, c.rerr
		}
	}
}

// track notes the messages begun and completed in what was just fed.
func (c *Conn) track() {
	if c.g.fr.started != c.started {
		c.started = c.g.fr.started
		c.msgStart = time.Now()
	}
	if c.g.fr.completed != c.completed {
		c.l.c.messages.Add(c.g.fr.completed - c.completed)
		c.completed = c.g.fr.completed
	}
}

// armRead sets the read deadline: the message's when one has begun, the
// idle one otherwise, or the caller's when that is earlier; it reports
// whether the caller's is the one set.
func (c *Conn) armRead() (callers bool) {
	var dl time.Time
	if c.g.fr.inMessage() {
		if t := c.l.lim.MessageTimeout; t > 0 {
			dl = c.msgStart.Add(t)
		}
	} else if t := c.l.lim.IdleTimeout; t > 0 {
		dl = time.Now().Add(t)
	}
	dl, callers = c.read.arm(dl)
	_ = c.c.SetReadDeadline(dl)
	return callers
}

// readError closes the connection when one of its own deadlines passed,
// and then reads as its end.
func (c *Conn) readError(err error, callers bool) error {
	if !errors.Is(err, os.ErrDeadlineExceeded) || callers {
		return err
	}
	what := "idle"
	if c.g.fr.inMessage() {
		what = "message not complete in time"
		c.l.c.closedSlow.Add(1)
	} else {
		c.l.c.closedIdle.Add(1)
	}
	c.l.log.Debug("siplimit: connection closed", "reason", what, "remote", c.RemoteAddr().String(), "local", c.LocalAddr().String())
	c.Close()
	return io.EOF
}

// refuse finishes a refused message: it reads the rest of its header
// section if needed, answers it when it can, closes the connection and
// returns io.EOF.
func (c *Conn) refuse(b []byte) error {
	scratch := b
	if len(scratch) < 512 {
		scratch = make([]byte, 512)
	}
	for c.g.fr.needMore() {
		c.armRead()
		n, err := c.c.Read(scratch)
		if n > 0 {
			c.g.fr.feed(scratch[:n])
		}
		if err != nil {
			break
		}
	}
	why := c.g.fr.fail
	status := 0
	switch why {
	case failNotSIP:
		c.l.c.notSIP.Add(1)
	case failTooLarge:
		c.l.c.tooLarge.Add(1)
	default:
		c.l.c.badFraming.Add(1)
	}
	if code, reason := statusFor(why); code != 0 {
		var src netip.AddrPort
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			src = a.AddrPort()
		}
		if res, ok := c.g.fr.answer(nil, code, reason, src); ok {
			c.wmu.Lock()
			c.armWrite()
			_, err := c.c.Write(res)
			c.wmu.Unlock()
			if err == nil {
				status = code
				c.l.c.answered.Add(1)
				c.linger(scratch)
			}
		}
	}
	c.l.log.Debug("siplimit: connection closed", "reason", reasonText(why), "answer", status,
		"remote", c.RemoteAddr().String(), "local", c.LocalAddr().String())
	c.Close()
	c.rerr = io.EOF
	return io.EOF
}

func reasonText(why failure) string {
	switch why {
	case failNotSIP:
		return "not SIP"
	case failTooLarge:
		return "message too large"
	}
	return "bad framing"
}

// linger, after an answer, gives the answers to earlier requests on the
// connection a quarter of lingerTime to go out, then shuts the sending
// side and drops what the peer still sends, until it closes or lingerTime
// passes.
func (c *Conn) linger(scratch []byte) {
	if c.raw == nil {
		return
	}
	start := time.Now()
	total := 0
	drain := func(until time.Time) bool {
		_ = c.raw.SetReadDeadline(until)
		for total < lingerBytes {
			n, err := c.raw.Read(scratch)
			total += n
			if err != nil {
				return !errors.Is(err, os.ErrDeadlineExceeded) // the peer closed
			}
		}
		return true
	}
	if drain(start.Add(lingerTime / 4)) {
		return
	}
	c.wmu.Lock()
	if c.tc != nil {
		_ = c.tc.CloseWrite()
	}
	_ = c.raw.CloseWrite()
	c.wmu.Unlock()
	drain(start.Add(lingerTime))
}

// Write writes b, within WriteTimeout; a write that times out closes the
// connection.
func (c *Conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	callers := c.armWrite()
	n, err := c.c.Write(b)
	if err != nil && !callers && errors.Is(err, os.ErrDeadlineExceeded) {
		c.l.c.closedWrite.Add(1)
		c.l.log.Debug("siplimit: connection closed", "reason", "write timed out", "remote", c.RemoteAddr().String(), "local", c.LocalAddr().String())
		c.Close()
	}
	return n, err
}

func (c *Conn) armWrite() (callers bool) {
	var dl time.Time
	if t := c.l.lim.WriteTimeout; t > 0 {
		dl = time.Now().Add(t)
	}
	dl, callers = c.write.arm(dl)
	_ = c.c.SetWriteDeadline(dl)
	return callers
}

// Close closes the connection; closing it again does nothing.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	return c.c.Close()
}

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr { return c.c.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines; the Conn's own bounds
// still apply when they are earlier.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets a read deadline; the Conn's own bounds still apply
// when they are earlier.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if !c.read.set(t) {
		return nil // takes effect at the next read
	}
	return c.c.SetReadDeadline(t)
}

// SetWriteDeadline sets a write deadline; WriteTimeout still applies when
// it is earlier.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if !c.write.set(t) {
		return nil // takes effect at the next write
	}
	return c.c.SetWriteDeadline(t)
}

// deadline is one direction's deadline of a Conn: the caller's, set
// through the Conn, and the one last set on the connection, which may be
// the Conn's own bound instead.
type deadline struct {
	caller, own atomic.Int64 // unix ns; 0 none
}

// arm returns the deadline to set when the Conn's own bound is dl (zero:
// none): the caller's when that is earlier, which callers then reports.
func (d *deadline) arm(dl time.Time) (_ time.Time, callers bool) {
	if ns := d.caller.Load(); ns != 0 {
		if cd := time.Unix(0, ns); dl.IsZero() || cd.Before(dl) {
			dl, callers = cd, true
		}
	}
	d.own.Store(unixNano(dl))
	return dl, callers
}

// set records t as the caller's deadline and reports whether it is to be
// set on the connection now: not when it is none or the deadline set
// there is earlier, for then it takes effect when next armed.
func (d *deadline) set(t time.Time) bool {
	ns := unixNano(t)
	d.caller.Store(ns)
	own := d.own.Load()
	return ns != 0 && (own == 0 || own >= ns)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
