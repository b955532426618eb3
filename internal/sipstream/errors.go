package sipstream

import (
	"errors"
	"strconv"
	"strings"
)

// The reasons a Reader refuses a message; an *Error wraps one of them.
var (
	// ErrHeaderTooLarge: no empty line ends the header section within
	// the Reader's bound on it.
	ErrHeaderTooLarge = errors.New("sipstream: header section over the limit")
	// ErrBodyTooLarge: the Content-Length is over the Reader's bound on a
	// body, or makes the message larger than sipgo's limit.
	ErrBodyTooLarge = errors.New("sipstream: body over the limit")
	// ErrContentLength: a Content-Length that is missing (a stream needs
	// one, RFC 3261 §18.3), not a number, or stated twice with two values.
	ErrContentLength = errors.New("sipstream: bad Content-Length")
	// ErrMalformed: sipgo's parser refuses the message: a start line
	// that is not SIP, a header line without a colon, a header value it
	// cannot read.
	ErrMalformed = errors.New("sipstream: malformed message")
)

// Error is a message a Reader refused.
type Error struct {
	// Offset is the stream offset of the message's first byte, the
	// keep-alives before it counted.
	Offset int64
	// Err is ErrHeaderTooLarge, ErrBodyTooLarge, ErrContentLength or
	// ErrMalformed.
	Err error
	// Detail says more: the limit, the Content-Length's value, or the
	// reason sipgo's parser gave.
	Detail string

	cause error // the parser's error, for ErrMalformed
}

// Error returns a message such as
// `sipstream: bad Content-Length ("12a") in the message at offset 0`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteByte(')')
	}
	b.WriteString(" in the message at offset ")
	b.WriteString(strconv.FormatInt(e.Offset, 10))
	return b.String()
}

// Unwrap returns Err, and the parser's error for ErrMalformed.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Err, e.cause}
	}
	return []error{e.Err}
}
