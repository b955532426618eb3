package edgetable

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipoauth/sdk/internal/defaults"
)

// DefaultMaxBody is the request body limit of a Handler whose MaxBody
// is not set. An entry at every limit of Entry.Validate fits with room to
// spare; anything larger is not an entry.
const DefaultMaxBody = 64 << 10

// Handler is the HTTP interface through which edge proxies push their
// entry on refresh, the counterpart of Unified CM's AXL
// ExpresswayCConfiguration updates:
//
//	GET    /entries                the entries, as List sorts them
//	PUT    /entries                add or replace the entry in the JSON body
//	POST   /entries                the same as PUT
//	DELETE /entries/{hostNameOrIP} remove an entry (path-escaped)
//
// PUT and POST answer 201 with the stored entry when it is new and 200 when
// it replaced one; DELETE answers 204, or 404 when there was no such entry.
// Errors are JSON objects {"error": "message"}; the message of an entry
// that fails Entry.Validate starts "mtlstrust: invalid edge-proxy entry".
//
// Every request must come over TLS and carry HTTP Basic credentials listed
// in Users: whoever can write the table decides which certificates the
// node's mutual-TLS port accepts. Failed authentications are limited per
// source address (see AuthThrottle): a source that fails too often is
// answered 429 Too Many Requests, with Retry-After in seconds, until its
// lockout passes, whatever credentials it sends.
//
// Set the fields before serving and do not change them afterwards.
type Handler struct {
	// Table is the table served. A nil Table makes every authorized
	// request fail with 500.
	Table Table
	// Users maps user names to passwords for HTTP Basic authentication.
	// An empty map lets nobody in.
	Users map[string]string
	// MaxBody is the largest request body accepted, in bytes; larger
	// bodies get 413. Zero or less means DefaultMaxBody.
	MaxBody int64
	// AllowPlainHTTP accepts requests that did not arrive over TLS. Leave
	// it false unless TLS ends in front of the handler (a reverse proxy on
	// the same host): over plain HTTP the credentials and the entries
	// could be read and changed on the way.
	AllowPlainHTTP bool
	// Throttle limits failed authentications per source address. Its
	// zero value applies the defaults of AuthThrottle.
	Throttle AuthThrottle
	// Logger receives the causes of 500 answers (at Error), which the
	// response does not reveal to the client, and the lockouts of sources
	// that failed to authenticate too often (at Warn). Nil means ErrorLog
	// if set, else slog.Default(): nothing is lost by default, and a
	// program that set its logger with slog.SetDefault gets these too.
	Logger *slog.Logger
	// ErrorLog receives the same as Logger, as lines, when Logger is nil.
	// Logger is the better choice; ErrorLog remains for handlers that set
	// it.
	ErrorLog *log.Logger

	// writeMu serializes the changes made through the handler, so that
	// 200 versus 201 reflects whether the entry existed just before it was
	// stored.
	writeMu sync.Mutex
}

// NewHandler returns a handler serving t to the users given (user name
// to password), over TLS only, with bodies up to DefaultMaxBody and failed
// authentications limited as AuthThrottle's defaults say.
func NewHandler(t Table, users map[string]string) *Handler {
	return &Handler{Table: t, Users: users, MaxBody: DefaultMaxBody}
}

const entriesPath = "/entries"

// ServeHTTP implements http.Handler. TLS is checked first, the source's
// lockout second and authentication third, so that nothing, not even
// which paths exist, is revealed to a client that is not allowed in.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil && !h.AllowPlainHTTP {
		writeError(w, http.StatusForbidden, "TLS is required")
		return
	}
	user, pass, hasCredentials := r.BasicAuth()
	src := sourceOf(r.RemoteAddr)
	attempt, wait, ok := h.Throttle.begin(src, hasCredentials)
	if !ok {
		// Whole seconds, rounded up: retrying early would be refused again.
		w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
		writeError(w, http.StatusTooManyRequests, "too many failed authentications from this address; retry later")
		return
	}
	authorized := hasCredentials && h.authorized(user, pass)
	if lockout := h.Throttle.end(attempt, src, authorized); lockout > 0 {
		who := "source " + src.String()
		if attempt == &h.Throttle.overflow {
			who = "sources not remembered (too many addresses failing at once)"
		}
		h.log(slog.LevelWarn, fmt.Sprintf("%s locked out for %v after failed authentications", who, lockout),
			slog.String("source", src.String()), slog.Duration("lockout", lockout))
	}
	if !authorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="edge-proxy table"`)
		writeError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	// Route on the escaped path, so that an escaped "/" inside a host
	// name cannot pass for a path separator.
	p := r.URL.EscapedPath()
	switch {
	case p == entriesPath:
		switch r.Method {
		case http.MethodGet:
			h.list(w)
		case http.MethodPut, http.MethodPost:
			h.put(w, r)
		default:
			w.Header().Set("Allow", "GET, POST, PUT")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		}
	case strings.HasPrefix(p, entriesPath+"/"):
		seg := p[len(entriesPath)+1:]
		host, err := url.PathUnescape(seg)
		if seg == "" || strings.Contains(seg, "/") || err != nil {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		if r.Method != http.MethodDelete {
			w.Header().Set("Allow", "DELETE")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h.remove(w, host)
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

// authorized checks the Basic credentials against every user in
// constant time: comparing SHA-256 digests hides the lengths, and going
// through the whole map hides which user names exist.
func (h *Handler) authorized(user, pass string) bool {
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	found := 0
	for name, password := range h.Users {
		nu, np := sha256.Sum256([]byte(name)), sha256.Sum256([]byte(password))
		found |= subtle.ConstantTimeCompare(u[:], nu[:]) & subtle.ConstantTimeCompare(p[:], np[:])
	}
	return found == 1
}

func (h *Handler) list(w http.ResponseWriter) {
	if h.Table == nil {
		h.serverError(w, errors.New("no table configured"))
		return
	}
	entries, err := h.Table.List()
	if err != nil {
		h.serverError(w, err)
		return
	}
	if entries == nil {
		entries = []Entry{} // [] rather than null
	}
	writeJSON(w, http.StatusOK, entries)
}

func (h *Handler) put(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	limit := defaults.Positive(h.MaxBody, DefaultMaxBody)
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	var e Entry
	err := dec.Decode(&e)
	if err == nil {
		// Anything but the end of the body after the entry is refused,
		// rather than ignored, since it means the client sent something
		// other than what it meant to.
		var tooBig *http.MaxBytesError
		if _, terr := dec.Token(); errors.As(terr, &tooBig) {
			err = terr
		} else if !errors.Is(terr, io.EOF) {
			err = errors.New("unexpected data after the entry")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", limit))
		case errors.Is(err, io.EOF):
			writeError(w, http.StatusBadRequest, "invalid JSON entry: empty body")
		default:
			writeError(w, http.StatusBadRequest, "invalid JSON entry: "+err.Error())
		}
		return
	}
	if err := e.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, entryErrorText(err))
		return
	}
	if h.Table == nil {
		h.serverError(w, errors.New("no table configured"))
		return
	}

	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	existing, err := h.Table.List()
	if err != nil {
		h.serverError(w, err)
		return
	}
	// Tables key entries by the lower-cased HostNameOrIP.
	key := HostKey(e.HostNameOrIP)
	status := http.StatusCreated
	for _, x := range existing {
		if HostKey(x.HostNameOrIP) == key {
			status = http.StatusOK
			break
		}
	}
	if err := h.Table.Put(e); err != nil {
		if errors.Is(err, ErrInvalidEntry) {
			// A Table may be stricter than Validate.
			writeError(w, http.StatusBadRequest, entryErrorText(err))
			return
		}
		h.serverError(w, err)
		return
	}
	writeJSON(w, status, e)
}

func (h *Handler) remove(w http.ResponseWriter, host string) {
	if h.Table == nil {
		h.serverError(w, errors.New("no table configured"))
		return
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	ok, err := h.Table.Remove(host)
	if err != nil {
		h.serverError(w, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no entry for %q", host))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serverError logs the cause and answers 500 without it: the cause may
// name files and directories of the node, which the client has no need to
// know.
func (h *Handler) serverError(w http.ResponseWriter, err error) {
	h.log(slog.LevelError, "the table could not be read or updated", slog.Any("error", err))
	writeError(w, http.StatusInternalServerError, "the edge-proxy table could not be read or updated")
}

// log sends msg to h.Logger, else as a line to h.ErrorLog, else to
// slog.Default().
func (h *Handler) log(level slog.Level, msg string, attrs ...slog.Attr) {
	if h.Logger == nil && h.ErrorLog != nil {
		line := "edgetable: handler: " + msg
		for _, a := range attrs {
			if a.Key == "error" {
				line += ": " + a.Value.String()
			}
		}
		h.ErrorLog.Print(line)
		return
	}
	l := h.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(context.Background(), level, "edgetable: handler: "+msg, attrs...)
}

// wireEntryPrefix starts the API's text for a refused entry: "mtlstrust:
// invalid edge-proxy entry: 0 names, want 1 to 256". The API's answers are
// its wire format, read by edge proxies and scripts that may match on
// them, so they keep this prefix whatever this package calls its errors.
const wireEntryPrefix = "mtlstrust: "

// entryErrorText is the text of a refused entry's error in an answer.
func entryErrorText(err error) string {
	if rest, ok := strings.CutPrefix(err.Error(), "edgetable: "); ok {
		return wireEntryPrefix + rest
	}
	return err.Error()
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"response could not be encoded"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
