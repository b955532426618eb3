package sipstream

import (
	"bytes"
	"errors"
	"io"
	"strconv"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/sipmsg"
)

// The default bounds of a Reader: sipgo's own limit on a message (its
// ParseMaxMessageLength), which the readers before this package had
// through sipgo's stream parser. Whatever the bounds, a whole message is
// held to that limit too, as sipgo would refuse a larger one.
const (
	// DefaultMaxHeader bounds the start line and the header section, the
	// empty line that ends it included.
	DefaultMaxHeader = 65535
	// DefaultMaxBody bounds the body.
	DefaultMaxBody = 65535
)

const (
	// minBuffer is the Reader's first buffer size; it grows to the
	// message it reads, up to the bound on a whole message.
	minBuffer = 4 << 10
	// maxEmptyReads is how many reads in a row may return neither a byte
	// nor an error before the source is taken as broken.
	maxEmptyReads = 100
)

var (
	crlf     = []byte("\r\n")
	emptyRow = []byte("\r\n\r\n") // the end of a header section, or a ping between messages
)

// Option adjusts a Reader.
type Option interface{ apply(*Reader) }

type optionFunc func(*Reader)

func (f optionFunc) apply(r *Reader) { f(r) }

// WithPong answers every ping, a double CRLF between messages, with a
// pong, a single CRLF, written on w. Without it pings are skipped like
// any other keep-alive.
func WithPong(w *Writer) Option {
	return optionFunc(func(r *Reader) { r.pong = w })
}

// WithLimits sets the bound on the start line and header section (the
// empty line included) and the one on the body; a value of 0 or less
// keeps the default.
func WithLimits(maxHeader, maxBody int) Option {
	return optionFunc(func(r *Reader) {
		if maxHeader > 0 {
			r.maxHeader = maxHeader
		}
		if maxBody > 0 {
			r.maxBody = maxBody
		}
	})
}

// Reader reads SIP messages one at a time from a byte stream. Its buffer
// never grows past the bound on a whole message. A Reader is not safe for
// use by several goroutines at once; its pong Writer is.
type Reader struct {
	src        io.Reader
	pong       *Writer
	parser     *sip.Parser
	maxHeader  int
	maxBody    int
	maxMessage int // the bound on a whole message, and on the buffer

	buf  []byte // buf[r:w] is read from src and not yet consumed
	r, w int
	base int64 // the stream offset of buf[0]
	err  error // src's error, kept until the bytes before it are consumed

	ping int   // how much of "\r\n\r\n" the keep-alive bytes so far end with
	fail error // the error every later ReadMessage returns
}

// NewReader returns a Reader of the stream src.
func NewReader(src io.Reader, opts ...Option) *Reader {
	r := &Reader{src: src, maxHeader: DefaultMaxHeader, maxBody: DefaultMaxBody}
	for _, o := range opts {
		o.apply(r)
	}
	r.parser = sip.NewParser()
	r.maxMessage = min(r.maxHeader+r.maxBody, r.parser.MaxMessageLength)
	r.maxHeader = min(r.maxHeader, r.maxMessage)
	return r
}

// ReadMessage returns the stream's next message, a *sip.Request or a
// *sip.Response, skipping the keep-alives before it (and answering pings
// when WithPong says so). It returns io.EOF when the stream ends between
// messages and io.ErrUnexpectedEOF when it ends inside one; an error of
// the source or of a pong's write as it is; an *Error when the message's
// framing or content is refused. After an error, every call returns that
// error: a stream offers no boundary to read on from.
func (r *Reader) ReadMessage() (sip.Message, error) {
	if r.fail != nil {
		return nil, r.fail
	}
	if err := r.skipKeepAlives(); err != nil {
		return nil, r.stop(err)
	}
	r.ping = 0
	hdrLen, err := r.headerSection()
	if err != nil {
		return nil, r.stop(err)
	}
	hdr := r.buf[r.r : r.r+hdrLen]
	cl, at, detail, err := contentLength(hdr)
	switch {
	case err != nil:
	case cl > int64(r.maxBody):
		detail = strconv.FormatInt(cl, 10) + " bytes, the limit is " + strconv.Itoa(r.maxBody)
		err = ErrBodyTooLarge
	case int64(hdrLen)+cl > int64(r.maxMessage):
		detail = "a message of " + strconv.FormatInt(int64(hdrLen)+cl, 10) + " bytes, the limit is " + strconv.Itoa(r.maxMessage)
		err = ErrBodyTooLarge
	}
	if err != nil {
		return nil, r.stop(r.refuse(hdr[:at], err, detail))
	}
	size := hdrLen + int(cl)
	for r.w-r.r < size {
		if err := r.fill(); err != nil {
			return nil, r.stop(r.cut(err))
		}
	}
	m, err := sipmsg.Parse(r.buf[r.r : r.r+size])
	if err != nil {
		return nil, r.stop(&Error{Offset: r.offset(), Err: ErrMalformed, Detail: err.Error(), cause: err})
	}
	r.r += size
	return m, nil
}

// Buffered returns how many bytes of the stream the Reader holds and has
// not returned yet: more than zero when a next message, or part of it,
// arrived with the last one.
func (r *Reader) Buffered() int { return r.w - r.r }

// skipKeepAlives consumes the CR and LF bytes before a message, answering
// each ping, until the first byte of the message is buffered.
func (r *Reader) skipKeepAlives() error {
	for {
		for r.r < r.w {
			b := r.buf[r.r]
			if b != '\r' && b != '\n' {
				return nil
			}
			r.r++
			switch {
			case b == emptyRow[r.ping]:
				r.ping++
			case b == '\r':
				r.ping = 1
			default:
				r.ping = 0
			}
			if r.ping == len(emptyRow) {
				r.ping = 0
				if r.pong != nil {
					if err := r.pong.Write(crlf, zeroTime); err != nil {
						return err
					}
				}
			}
		}
		if err := r.fill(); err != nil {
			return err // between messages: io.EOF is the stream's clean end
		}
	}
}

// headerSection waits until the message's header section is buffered and
// returns its length, its empty line included.
func (r *Reader) headerSection() (int, error) {
	scanned := 0       // bytes of the message searched for the empty line
	lineScanned := 0   // bytes searched for the start line's end
	startDone := false // the start line was complete and passed sipgo's parser
	for {
		n := min(r.w-r.r, r.maxHeader)
		msg := r.buf[r.r : r.r+n]
		if i := bytes.Index(msg[scanned:], emptyRow); i >= 0 {
			return scanned + i + len(emptyRow), nil
		}
		scanned = max(0, n-len(emptyRow)+1)
		if n >= r.maxHeader {
			return 0, r.refuse(msg, ErrHeaderTooLarge, "the limit is "+strconv.Itoa(r.maxHeader)+" bytes")
		}
		if !startDone {
			// The message is not all here yet: a start line that is not
			// SIP is refused without waiting for the rest.
			if i := bytes.Index(msg[lineScanned:], crlf); i >= 0 {
				startDone = true
				if err := r.malformed(msg[:lineScanned+i+len(crlf)]); err != nil {
					return 0, err
				}
			} else {
				lineScanned = max(0, n-len(crlf)+1)
			}
		}
		if err := r.fill(); err != nil {
			return 0, r.cut(err)
		}
	}
}

// fill reads more of the stream into the buffer, moving or growing it
// when it is full. It returns src's error when no byte came with it.
func (r *Reader) fill() error {
	if r.r == r.w {
		r.base += int64(r.w)
		r.r, r.w = 0, 0
	}
	if r.err != nil {
		return r.err
	}
	if r.w == len(r.buf) && r.r > 0 {
		copy(r.buf, r.buf[r.r:r.w])
		r.base += int64(r.r)
		r.w -= r.r
		r.r = 0
	}
	if r.w == len(r.buf) {
		// Never past the bounds: a message that would need more is
		// refused before its bytes are read.
		n := min(max(2*len(r.buf), minBuffer), r.maxMessage)
		if n <= len(r.buf) {
			return errFull
		}
		buf := make([]byte, n)
		copy(buf, r.buf[:r.w])
		r.buf = buf
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			return errBadRead
		}
		r.w += n
		if err != nil {
			r.err = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	r.err = io.ErrNoProgress
	return r.err
}

// Errors of a broken source or Reader, never of the stream's bytes.
var (
	errBadRead = errors.New("sipstream: the source returned an invalid count")
	errFull    = errors.New("sipstream: buffer full below the limits")
)

// cut turns the source's error inside a message into the Reader's: a
// header section sipgo already refuses is malformed, as it was in sipgo's
// own stream reading; otherwise an end of stream is unexpected.
func (r *Reader) cut(err error) error {
	if err != io.EOF {
		return err
	}
	if merr := r.malformed(r.buf[r.r:r.w]); merr != nil {
		return merr
	}
	return io.ErrUnexpectedEOF
}

// refuse returns the framing failure why, unless sipgo refuses the header
// section hdr (or as much of it as there is): that comes first, as it
// did in sipgo's own stream reading.
func (r *Reader) refuse(hdr []byte, why error, detail string) error {
	if err := r.malformed(hdr); err != nil {
		return err
	}
	return &Error{Offset: r.offset(), Err: why, Detail: detail}
}

// malformed returns an ErrMalformed *Error when sipgo's parser refuses
// the start line and header lines in hdr, lines cut short aside.
func (r *Reader) malformed(hdr []byte) error {
	if len(hdr) > r.maxHeader {
		hdr = hdr[:r.maxHeader]
	}
	_, _, err := r.parser.ParseHeaders(hdr, false)
	if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return &Error{Offset: r.offset(), Err: ErrMalformed, Detail: err.Error(), cause: err}
}

// offset is the stream offset of the current message.
func (r *Reader) offset() int64 { return r.base + int64(r.r) }

// stop keeps err for every later call and returns it.
func (r *Reader) stop(err error) error {
	r.fail = err
	return err
}

// contentLength reads the Content-Length of a header section (its start
// line first, its empty line last): RFC 3261 §7.5 requires one on a
// stream, in full or compact form ("l"), and two must agree. at is where
// the header section is judged up to: its length, or on a failure the
// start of the header line at fault.
func contentLength(hdr []byte) (cl int64, at int, detail string, err error) {
	i := bytes.Index(hdr, crlf) + len(crlf) // after the start line
	end := len(hdr) - len(crlf)             // before the empty line
	found := false
	for i < end {
		// A header group: its line and the lines that continue it.
		j := i
		for {
			j += bytes.Index(hdr[j:], crlf) + len(crlf)
			if j >= end || (hdr[j] != ' ' && hdr[j] != '\t') {
				break
			}
		}
		group := hdr[i:j]
		c := bytes.IndexByte(group, ':')
		if c < 0 || !isContentLength(bytes.TrimSpace(group[:c])) {
			i = j
			continue
		}
		v, ok := ParseContentLength(group)
		switch {
		case !ok:
			return 0, i, strconv.Quote(string(bytes.TrimSpace(group[c+1:]))), ErrContentLength
		case found && v != cl:
			return 0, i, "conflicting values " + strconv.FormatInt(cl, 10) + " and " + strconv.FormatInt(v, 10), ErrContentLength
		}
		cl, found = v, true
		i = j
	}
	if !found {
		return 0, len(hdr), "none", ErrContentLength
	}
	return cl, len(hdr), "", nil
}

// isContentLength reports whether name is Content-Length's, in full or
// compact form, in any case.
func isContentLength(name []byte) bool {
	return len(name) == 1 && name[0]|0x20 == 'l' || bytes.EqualFold(name, []byte("content-length"))
}

// ParseContentLength reads the value of a Content-Length header group
// (its name, colon and lines with their CRLF, folding included) as sipgo
// reads it: digits between optional white space. A value over 2^31 is
// refused, as far over any limit as it is.
func ParseContentLength(g []byte) (int64, bool) {
	c := bytes.IndexByte(g, ':')
	if c < 0 {
		return 0, false
	}
	var v int64
	digits, done := 0, false
	for _, b := range g[c+1:] {
		switch {
		case b == ' ' || b == '\t' || b == '\r' || b == '\n':
			if digits > 0 {
				done = true
			}
		case b >= '0' && b <= '9' && !done:
			digits++
			v = v*10 + int64(b-'0')
			if v > 1<<31 {
				return 0, false // sipgo reads it as a uint32
			}
		default:
			return 0, false
		}
	}
	return v, digits > 0
}
