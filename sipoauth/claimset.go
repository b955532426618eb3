package sipoauth

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sipoauth/sdk/internal/ucmtoken"
)

// claimSet holds a token's claims: the ones the validator reads decoded
// once into fields, the JSON kept for claims under other names.
type claimSet struct {
	Iss        string
	Sub        string
	Aud        json.RawMessage
	Exp        numericDate
	Nbf        numericDate
	Iat        numericDate
	Jti        string
	Scope      json.RawMessage
	Scp        json.RawMessage
	Device     string
	ClientID   string // RFC 9068's client_id
	Private    string
	HasPrivate bool
	CType      string
	TokenType  string
	Typ        json.RawMessage
	// IDToken is set by a claim only an ID token carries: nonce, at_hash
	// or c_hash (OpenID Connect Core §2, §3.3.2.11).
	IDToken bool

	raw   []byte
	extra map[string]json.RawMessage // decoded from raw on first need
}

// decodeClaims decodes a JSON object of claims. Claim names are matched
// exactly and must be unique (RFC 7519 §4).
func decodeClaims(b []byte) (*claimSet, error) {
	c := &claimSet{raw: b}
	err := eachMember(b, func(name, v []byte) error {
		var err error
		switch string(name) {
		case "iss":
			c.Iss, err = jsonString(v)
		case "sub":
			c.Sub, err = jsonString(v)
		case "aud":
			c.Aud = v
		case "exp":
			err = c.Exp.set(v)
		case "nbf":
			err = c.Nbf.set(v)
		case "iat":
			err = c.Iat.set(v)
		case "jti":
			c.Jti, err = jsonString(v)
		case "scope":
			c.Scope = v
		case "scp":
			c.Scp = v
		case "device":
			c.Device, err = jsonString(v)
		case "client_id":
			c.ClientID, err = jsonString(v)
		case ClaimPrivate:
			if string(v) != "null" {
				c.Private, err = jsonString(v)
				c.HasPrivate = true
			}
		case ClaimCType:
			c.CType, err = jsonString(v)
		case ClaimTokenType:
			c.TokenType, err = jsonString(v)
		case "typ":
			c.Typ = v
		case "nonce", "at_hash", "c_hash":
			c.IDToken = true
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
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
	case "client_id":
		return c.ClientID, nil
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

// list returns a claim that is a string or an array of strings; absent is
// nil. A string is split at spaces, as scope is (RFC 6749 §3.3), except
// aud, whose string is one value (RFC 7519 §4.1.3).
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
		if name == "aud" {
			return []string{s}, nil
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
	return ucmtoken.IsRefreshMarker(c.CType) || ucmtoken.IsRefreshMarker(c.TokenType) || ucmtoken.IsRefreshMarker(typ)
}

// numericDate is a NumericDate claim (RFC 7519 §2), and whether it was
// there. A value rather than a pointer: one allocation fewer per claim.
type numericDate struct {
	f  float64
	ok bool
}

// set reads a JSON number; null is absent.
func (d *numericDate) set(v []byte) error {
	if string(v) == "null" {
		*d = numericDate{}
		return nil
	}
	f, err := jsonNumber(v)
	if err != nil {
		return err
	}
	d.f, d.ok = f, true
	return nil
}

// date converts a NumericDate claim.
func date(d numericDate, name string) (time.Time, bool, error) {
	if !d.ok {
		return time.Time{}, false, nil
	}
	if d.f < 0 || d.f > 1<<40 {
		return time.Time{}, false, fmt.Errorf("%w: %s is not a NumericDate", ErrMalformed, name)
	}
	sec := int64(d.f)
	return time.Unix(sec, int64((d.f-float64(sec))*1e9)), true, nil
}
