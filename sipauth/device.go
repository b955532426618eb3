package sipauth

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/ucm"
)

// DeviceName is the device a REGISTER is for, the one a token may be
// bound to: the ucm.DeviceParam of its contacts (the parameter's name
// compared without case, as Unified CM reads it; the value unquoted), or
// toUser, the To URI's user part, when no contact names one (RFC 8898
// clients, Contact: *). ok is false when the contacts name different
// devices: every contact of a REGISTER is bound for the one device it
// authenticates as.
func DeviceName(contacts []*sip.ContactHeader, toUser string) (name string, ok bool) {
	for _, c := range contacts {
		for _, kv := range c.Params {
			if !strings.EqualFold(kv.K, ucm.DeviceParam) {
				continue
			}
			v := strings.Trim(kv.V, `"`)
			switch {
			case v == "":
			case name == "":
				name = v
			case v != name:
				return "", false
			}
		}
	}
	if name == "" {
		name = toUser
	}
	return name, true
}
