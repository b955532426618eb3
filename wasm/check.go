package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/inspect"
)

// Bounds of what the page may pass in.
const (
	// MaxInput bounds the pasted text. A soft client's log of many
	// megabytes fits; the page holds the text in memory anyway.
	MaxInput = 32 << 20
	// MaxOptions bounds the options JSON.
	MaxOptions = 4 << 10
)

// Errors of check, returned to the page as {"error": "..."}.
var (
	ErrInputTooLarge = fmt.Errorf("wasm: input larger than %d bytes", MaxInput)
	ErrBadOptions    = errors.New("wasm: bad options")
	ErrUnknownKind   = errors.New("wasm: unknown kind")
)

// version is the program's version; -ldflags='-X main.version=v1.2.3'
// sets it, else it comes from the build information.
var version string

// versionString returns the module version and the Go release the
// program was built with, e.g. "(devel) go1.26.8".
func versionString() string {
	v, gov := version, ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = info.Main.Version
		}
		gov = info.GoVersion
	}
	if v == "" {
		v = "(devel)"
	}
	return strings.TrimSpace(v + " " + gov)
}

// pageOptions are the options as the page sends them.
type pageOptions struct {
	Now        string `json:"now,omitempty"`
	Role       string `json:"role,omitempty"`
	Host       string `json:"host,omitempty"`
	Deployment string `json:"deployment,omitempty"`
	Side       string `json:"side,omitempty"`
}

// parseOptions reads the page's options JSON; empty means the defaults.
func parseOptions(s string) (inspect.Options, error) {
	var o inspect.Options
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return o, nil
	}
	if len(s) > MaxOptions {
		return o, fmt.Errorf("%w: longer than %d bytes", ErrBadOptions, MaxOptions)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var p pageOptions
	if err := dec.Decode(&p); err != nil {
		return o, fmt.Errorf("%w: %v", ErrBadOptions, err)
	}
	if dec.More() {
		return o, fmt.Errorf("%w: text after the JSON object", ErrBadOptions)
	}
	if p.Now != "" {
		t, err := time.Parse(time.RFC3339, p.Now)
		if err != nil {
			return o, fmt.Errorf("%w: now %q is not an RFC 3339 time", ErrBadOptions, p.Now)
		}
		o.Now = t
	}
	switch p.Role {
	case "", "node", "edge":
		o.Role = p.Role
	default:
		return o, fmt.Errorf("%w: role %q is neither node nor edge", ErrBadOptions, p.Role)
	}
	switch p.Side {
	case "", "node", "edge", "client":
		o.Side = p.Side
	default:
		return o, fmt.Errorf("%w: side %q is not node, edge or client", ErrBadOptions, p.Side)
	}
	switch p.Deployment {
	case "", "on-premises":
		o.Deployment = cnfxml.OnPremises
	case "mra":
		o.Deployment = cnfxml.MRA
	default:
		return o, fmt.Errorf("%w: deployment %q is neither on-premises nor mra", ErrBadOptions, p.Deployment)
	}
	o.Host = strings.TrimSpace(p.Host)
	return o, nil
}

// parseKind reads a kind name; "" and "auto" mean: detect it.
func parseKind(s string) (inspect.Kind, error) {
	switch k := inspect.Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case "", "auto":
		return "", nil
	case inspect.KindCNF, inspect.KindCert, inspect.KindToken, inspect.KindHeader,
		inspect.KindResponse, inspect.KindTLS, inspect.KindLog:
		return k, nil
	}
	return "", fmt.Errorf("%w %q", ErrUnknownKind, s)
}

// check runs the inspection the page asks for and returns the
// inspect.Result as JSON, or {"error": "..."}. It never panics: a panic in
// a check would end the program and leave the page without its checks.
func check(kind, text, options string) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = errorJSON(fmt.Errorf("wasm: internal error: %v", r))
		}
	}()
	if len(text) > MaxInput {
		return errorJSON(ErrInputTooLarge)
	}
	k, err := parseKind(kind)
	if err != nil {
		return errorJSON(err)
	}
	opts, err := parseOptions(options)
	if err != nil {
		return errorJSON(err)
	}
	var res inspect.Result
	if k == "" {
		res, err = inspect.Auto([]byte(text), opts)
	} else {
		res, err = inspect.Check(k, []byte(text), opts)
	}
	if err != nil {
		return errorJSON(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return errorJSON(fmt.Errorf("wasm: %w", err))
	}
	return string(b)
}

// detect returns the kind of text, or "" when it cannot be told.
func detect(text string) string {
	if len(text) > MaxInput {
		return ""
	}
	k, err := inspect.Detect([]byte(text))
	if err != nil {
		return ""
	}
	return string(k)
}

// errorJSON is the page's form of an error.
func errorJSON(err error) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Error string `json:"error"`
	}{err.Error()})
	return strings.TrimSuffix(b.String(), "\n")
}
