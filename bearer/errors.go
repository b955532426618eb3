package bearer

import (
	"errors"
	"strconv"
	"strings"
)

// ErrNotBearer is returned when a header value uses another scheme, such as
// Digest. It is not a syntax error: a caller that supports several schemes
// falls through to the next one.
var ErrNotBearer = errors.New("bearer: scheme is not Bearer")

// Reasons a header value is malformed. A *ParseError wraps exactly one of
// them, so errors.Is(err, ErrUnterminatedQuote) tells the reason and
// errors.As gives the offset.
var (
	ErrEmpty             = errors.New("bearer: empty header value")
	ErrTooLong           = errors.New("bearer: header value longer than the limit")
	ErrTooManyParams     = errors.New("bearer: too many parameters")
	ErrMissingToken      = errors.New("bearer: missing token")
	ErrBadTokenChar      = errors.New("bearer: character outside the b64token alphabet")
	ErrUnterminatedQuote = errors.New("bearer: unterminated quoted string")
	ErrBadEscape         = errors.New("bearer: bad escape in quoted string")
	ErrControlChar       = errors.New("bearer: control character")
	ErrInvalidUTF8       = errors.New("bearer: invalid UTF-8")
	ErrDuplicateParam    = errors.New("bearer: duplicated parameter")
	ErrTokenAndParam     = errors.New("bearer: token parameter and bare token together")
	ErrTrailingGarbage   = errors.New("bearer: trailing garbage")
	ErrBadAuthzServer    = errors.New("bearer: authz_server is not an https URI")
	ErrSyntax            = errors.New("bearer: syntax error")
)

// ParseError reports where and why a header value could not be parsed.
type ParseError struct {
	// Offset is the byte offset in the header value where the problem was found.
	Offset int
	// Param is the name of the auth-param being read, if any.
	Param string
	// Detail says more than Err where that helps, e.g. "expected '='".
	Detail string
	// Err is one of the package's sentinel errors (ErrBadEscape, ErrTooLong, ...).
	Err error
}

// Error returns a message such as
// `bearer: unterminated quoted string at offset 14 in parameter "realm"`.
func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(ErrSyntax.Error())
	}
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteByte(')')
	}
	b.WriteString(" at offset ")
	b.WriteString(strconv.Itoa(e.Offset))
	if e.Param != "" {
		b.WriteString(" in parameter ")
		b.WriteString(strconv.Quote(e.Param))
	}
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *ParseError) Unwrap() error { return e.Err }

func errAt(off int, err error) *ParseError { return &ParseError{Offset: off, Err: err} }

func errParam(off int, name string, err error) *ParseError {
	return &ParseError{Offset: off, Param: name, Err: err}
}

func errSyntax(off int, name, detail string) *ParseError {
	return &ParseError{Offset: off, Param: name, Detail: detail, Err: ErrSyntax}
}
