package registrar

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
)

// The address-of-record rule, stated once: how the To URI of a REGISTER
// becomes the key its bindings are stored under, and which keys an
// authenticated identity may register.
//
// The key. The To URI must be a sip: or sips: URI with a user part. The
// user part is unescaped (RFC 3261 §19.1.4: "%61lice" is "alice") and put
// in canonical form by sipoauth.UserKey, the one rule by which users are
// compared everywhere: "Rado" and "rado" are one user. Without Domains the
// host is not part of the key, as Kamailio keys its location table by
// default (use_domain off) and Unified CM keys registrations by line:
// Jabber names the node it connects to in To (10.10.10.1 on one node,
// 10.10.10.2 on the next), and the same user must not become several
// addresses of record, each with bindings of its own. The key is then the
// canonical user ("rado"). With Domains, the host must be one of them
// (403 otherwise) and the key is "<user>@<domain>" with the domain in
// lower case. The scheme is not part of the key: sips:rado and sip:rado
// are one address of record.
//
// Who may register it. An identity may register its own user's address of
// record (the key of sip:<identity user>@…) and the lines of the device it
// authenticated for (Device.Lines): a line written as a bare user part
// ("1001") is compared with the To user by the same user rule, a line
// written as a URI ("sip:1001@cluster.example.com") is turned into a key
// by this same rule and compared whole. Any other address of record is
// refused with 403. A user's own address of record and the lines share one
// name space: do not give a user an id that is another device's line.

// ErrBadAOR is wrapped by the errors of AORRule.Key.
var ErrBadAOR = errors.New("registrar: bad address of record")

// AORRule turns the To URI of a REGISTER into the key of its bindings. The
// zero value ignores the host; see the package's address-of-record rule.
type AORRule struct {
	// Domains, if set, are the hosts this registrar serves: the To host
	// must be one of them (compared case-insensitively) and is part of
	// the key. Empty: any host, not part of the key.
	Domains []string
}

// Key returns the address-of-record key of u, or an error wrapping
// ErrBadAOR (and ErrDomainNotServed for a host outside Domains).
func (a AORRule) Key(u sip.Uri) (string, error) {
	if u.Scheme != "" && !strings.EqualFold(u.Scheme, "sip") && !strings.EqualFold(u.Scheme, "sips") {
		return "", errors.Join(ErrBadAOR, errors.New("registrar: the address of record is not a sip: or sips: URI"))
	}
	user, err := unescapeUser(u.User)
	if err != nil {
		return "", err
	}
	key := sipoauth.UserKey(user)
	if len(a.Domains) == 0 {
		return key, nil
	}
	i := slices.IndexFunc(a.Domains, func(d string) bool { return strings.EqualFold(d, u.Host) })
	if i < 0 {
		return "", ErrDomainNotServed
	}
	return key + "@" + strings.ToLower(a.Domains[i]), nil
}

// ErrDomainNotServed is the error of AORRule.Key for a host that is not
// one of its Domains.
var ErrDomainNotServed = errors.New("registrar: the address of record's domain is not served here")

// unescapeUser returns the user part of a SIP URI with its escapes
// resolved. It must be there, and hold no control character once
// unescaped. It may hold "@" ("rado%40example.com" for a user whose id is
// an e-mail address): a key's domain, when there is one, follows its last
// "@", and domains hold none.
func unescapeUser(user string) (string, error) {
	if user == "" {
		return "", errors.Join(ErrBadAOR, errors.New("registrar: no user in the address of record"))
	}
	u := user
	if strings.Contains(user, "%") {
		var err error
		if u, err = url.PathUnescape(user); err != nil {
			return "", errors.Join(ErrBadAOR, errors.New("registrar: bad escape in the user part"))
		}
	}
	for i := 0; i < len(u); i++ {
		if u[i] < 0x20 || u[i] == 0x7f {
			return "", errors.Join(ErrBadAOR, errors.New("registrar: control character in the user part"))
		}
	}
	return u, nil
}

// AORCheck refuses a REGISTER for an address of record the authenticated
// identity may not register: neither its user's own nor one of its
// device's lines (the package's address-of-record rule). A request with
// no identity is refused: an earlier step must have authenticated it.
type AORCheck struct {
	Rule AORRule
}

// Handle implements Step.
func (s AORCheck) Handle(_ context.Context, r *Request) *sip.Response {
	if r.Identity == nil {
		r.Reason = "unauthenticated"
		return respond(r, 403, "Forbidden")
	}
	if s.Allowed(r.AOR, r.Identity.User, r.Device) {
		return nil
	}
	r.Reason = sipauth.AORNotAllowed
	return respond(r, 403, "Forbidden: address of record not allowed for this device")
}

// Allowed reports whether user, registering device, may register the
// address of record whose key is aor.
func (s AORCheck) Allowed(aor, user string, d Device) bool {
	own, err := s.Rule.keyOfUser(user, aor)
	if err == nil && own == aor {
		return true
	}
	for _, line := range d.Lines {
		var key string
		if strings.ContainsRune(line, ':') {
			var u sip.Uri
			if sip.ParseUri(line, &u) != nil {
				continue
			}
			if key, err = s.Rule.Key(u); err != nil {
				continue
			}
		} else if key, err = s.Rule.keyOfUser(line, aor); err != nil {
			continue
		}
		if key == aor {
			return true
		}
	}
	return false
}

// keyOfUser is the key of a bare user under the domain of aor, which
// the request named: a bare name (a user id, a directory number) stands
// for that user at whichever domain is served.
func (a AORRule) keyOfUser(user, aor string) (string, error) {
	if user == "" {
		return "", ErrBadAOR
	}
	key := sipoauth.UserKey(user)
	if len(a.Domains) == 0 {
		return key, nil
	}
	i := strings.LastIndexByte(aor, '@')
	if i < 0 {
		return "", ErrBadAOR
	}
	return key + aor[i:], nil
}
