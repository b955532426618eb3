package sipoauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// claimSet holds a token's claims: the ones the validator reads decoded
// once into fields (a struct decodes much faster than a map), the JSON
// kept for claims under other names.
type claimSet struct {
	Iss       string          `json:"iss"`
	Sub       string          `json:"sub"`
	Aud       json.RawMessage `json:"aud"`
	Exp       numericDate     `json:"exp"`
	Nbf       numericDate     `json:"nbf"`
	Iat       numericDate     `json:"iat"`
	Jti       string          `json:"jti"`
	Scope     json.RawMessage `json:"scope"`
	Scp       json.RawMessage `json:"scp"`
	Device    string          `json:"device"`
	Private   *string         `json:"private"`
	CType     string          `json:"ctyp"`
	TokenType string          `json:"token_type"`
	Typ       json.RawMessage `json:"typ"`

	raw   []byte
	extra map[string]json.RawMessage // decoded from raw on first need
}

// decodeClaims decodes a JSON object of claims.
func decodeClaims(b []byte) (*claimSet, error) {
	c := &claimSet{raw: b}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: claims are not a JSON object", ErrMalformed)
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, strings.TrimPrefix(err.Error(), "json: "))
	}
	return c, nil
}

func (c *claimSet) lookup(name string) (json.RawMessage, bool, error) {
	if c.extra == nil {
		if err := json.Unmarshal(c.raw, &c.extra); err != nil {
			return nil, false, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
		}
	}
	v, ok := c.extra[name]
	return v, ok, nil
}

// str returns a string claim by name; absent is "".
func (c *claimSet) str(name string) (string, error) {
	switch name {
	case "sub":
		return c.Sub, nil
	case "device":
		return c.Device, nil
	case "jti":
		return c.Jti, nil
	case "iss":
		return c.Iss, nil
	}
	raw, ok, err := c.lookup(name)
	if err != nil || !ok || string(raw) == "null" {
		return "", err
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%w: %s is not a string", ErrMalformed, name)
	}
	return s, nil
}

// list returns a claim that is a space-separated string or an array of
// strings; absent is nil.
func (c *claimSet) list(name string) ([]string, error) {
	var raw json.RawMessage
	switch name {
	case "scope":
		raw = c.Scope
	case "scp":
		raw = c.Scp
	case "aud":
		raw = c.Aud
	default:
		var err error
		if raw, _, err = c.lookup(name); err != nil {
			return nil, err
		}
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, fmt.Errorf("%w: %s", ErrMalformed, name)
		}
		return strings.Fields(s), nil
	}
	var l []string
	if json.Unmarshal(raw, &l) != nil {
		return nil, fmt.Errorf("%w: %s is neither a string nor an array of strings", ErrMalformed, name)
	}
	return l, nil
}

// has reports whether the claim is present.
func (c *claimSet) has(name string) (bool, error) {
	_, ok, err := c.lookup(name)
	return ok, err
}

// refresh recognizes refresh tokens: Unified CM's ctyp "refresh", or a
// token_type or typ claim saying refresh.
func (c *claimSet) refresh() bool {
	var typ string
	if len(c.Typ) > 0 && c.Typ[0] == '"' {
		json.Unmarshal(c.Typ, &typ)
	}
	return isRefreshWord(c.CType) || isRefreshWord(c.TokenType) || isRefreshWord(typ)
}

func isRefreshWord(s string) bool {
	s = strings.ToLower(s)
	return s == "refresh" || s == "refresh_token" || s == "rt+jwt"
}

// numericDate is a NumericDate claim (RFC 7519 §2), and whether it was
// there. A value rather than a pointer: one allocation fewer per claim.
type numericDate struct {
	f   float64
	set bool
}

// UnmarshalJSON reads a JSON number; null is absent.
func (d *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &d.f); err != nil {
		return errors.New("not a number")
	}
	d.set = true
	return nil
}

// date converts a NumericDate claim.
func date(d numericDate, name string) (time.Time, bool, error) {
	if !d.set {
		return time.Time{}, false, nil
	}
	if d.f < 0 || d.f > 1<<40 {
		return time.Time{}, false, fmt.Errorf("%w: %s is not a NumericDate", ErrMalformed, name)
	}
	sec := int64(d.f)
	return time.Unix(sec, int64((d.f-float64(sec))*1e9)), true, nil
}
