package edgetable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxPushResponse bounds the table's answer read by Push: an entry echoed
// back, or an error object.
const maxPushResponse = 64 << 10

// ErrPushUnauthorized is wrapped by the PushError of a table that refused
// the credentials (401) or the user (403).
var ErrPushUnauthorized = errors.New("edgetable: the table refused the credentials")

// PushError is a push the table did not accept: its HTTP status and the
// message of its JSON error object.
type PushError struct {
	// URL is the resource the entry was sent to.
	URL string
	// User is the Basic user name used.
	User string
	// StatusCode is the table's HTTP status.
	StatusCode int
	// Message is the table's {"error": ...} text, or the start of the body.
	Message string
	// RetryAfter is the table's Retry-After on a 429: it locks out a
	// source after repeated failed logins (AuthThrottle), and any push
	// before then is refused whatever the password.
	RetryAfter time.Duration
}

// Error says what the table answered.
func (e *PushError) Error() string {
	msg := fmt.Sprintf("edgetable: pushing the entry to %s as %q: HTTP %d", e.URL, e.User, e.StatusCode)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		msg += " (wrong user name or password)"
	case http.StatusForbidden:
		msg += " (the table requires HTTPS, or the user may not write it)"
	case http.StatusTooManyRequests:
		msg += fmt.Sprintf(" (too many failed logins from this address: locked out for %s)", e.RetryAfter)
	}
	return msg
}

// Is makes errors.Is(err, ErrPushUnauthorized) true for a 401 or 403.
func (e *PushError) Is(target error) bool {
	return target == ErrPushUnauthorized && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// Push sends entry to the table served by a Handler at tableURL (https
// only; "/entries" is appended unless the path ends with it, see
// EntriesURL), as the PUT /entries of its API with HTTP Basic
// credentials: what Expressway-C does over AXL when it is told to refresh
// its Unified CM discovery. It reports whether the entry was new (201)
// rather than replaced (200). An entry that fails Validate and a URL
// EntriesURL refuses are not sent. Any other answer is a *PushError; a
// network failure is returned wrapped. client may be nil for
// http.DefaultClient, though the caller's should carry a timeout and
// trust the node's certificate.
func Push(ctx context.Context, client *http.Client, tableURL, user, password string, entry Entry) (created bool, err error) {
	if err := entry.Validate(); err != nil {
		return false, err
	}
	u, err := EntriesURL(tableURL)
	if err != nil {
		return false, err
	}
	body, err := json.Marshal(entry)
	if err != nil {
		return false, fmt.Errorf("edgetable: entry: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("edgetable: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(user, password)
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("edgetable: pushing the entry to %s: %w", u, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxPushResponse))
	if err != nil {
		return false, fmt.Errorf("edgetable: pushing the entry to %s: reading the answer: %w", u, err)
	}
	switch res.StatusCode {
	case http.StatusCreated:
		return true, nil
	case http.StatusOK:
		return false, nil
	}
	pe := &PushError{URL: u.String(), User: user, StatusCode: res.StatusCode, Message: errorMessage(data)}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && secs > 0 {
		pe.RetryAfter = time.Duration(secs) * time.Second
	}
	return false, pe
}

// errorMessage reads the table's {"error": "..."} body, or keeps the start
// of a body of another shape.
func errorMessage(data []byte) string {
	var obj struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &obj) == nil && obj.Error != "" {
		return obj.Error
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// EntriesURL returns the URL of the /entries resource of the table API
// served at tableURL, where Push sends: "/entries" is appended unless the
// path already ends with it, and any query or fragment is dropped. It
// refuses a URL that is not https (the request carries the table's
// credentials), has no host, or carries credentials of its own.
func EntriesURL(tableURL string) (*url.URL, error) {
	u, err := url.Parse(tableURL)
	if err != nil {
		return nil, fmt.Errorf("edgetable: table URL: %w", err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("edgetable: table URL %q: https is required, as the request carries the table's credentials", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("edgetable: table URL %q: no host", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("edgetable: table URL %q: put the credentials in User and Password, not in the URL", u.Redacted())
	}
	u.RawQuery, u.Fragment = "", ""
	p := strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(p, entriesPath) {
		p += entriesPath
	}
	u.Path, u.RawPath = p, ""
	return u, nil
}
