package sipmsg

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// MagicCookie starts every branch of an RFC 3261 client (§8.1.1.7); a
// branch without it is of an RFC 2543 client, and does not name a
// transaction on its own.
const MagicCookie = "z9hG4bK"

// Branch returns the branch of req's top Via when it names the request's
// transaction (RFC 3261 §17.2.3: it starts with MagicCookie); false when
// there is no Via or its branch is of an RFC 2543 client.
func Branch(req *sip.Request) (string, bool) {
	via := req.Via()
	if via == nil {
		return "", false
	}
	b, _ := via.Params.Get("branch")
	if !strings.HasPrefix(b, MagicCookie) {
		return "", false
	}
	return b, true
}
