package sipmsg

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Branch returns the branch of m's top Via when it names the request's
// transaction (RFC 3261 §17.2.3: it starts with the magic cookie,
// sip.RFC3261BranchMagicCookie); false when there is no Via or its branch
// is of an RFC 2543 client.
func Branch(m interface{ Via() *sip.ViaHeader }) (string, bool) {
	via := m.Via()
	if via == nil {
		return "", false
	}
	b, _ := via.Params.Get("branch")
	if !strings.HasPrefix(b, sip.RFC3261BranchMagicCookie) {
		return "", false
	}
	return b, true
}
