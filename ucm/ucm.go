package ucm

import "time"

// Contact parameters of a Cisco REGISTER, e.g.
//
//	Contact: <sip:...>;+u.sip!devicename.ccm.cisco.com="CSFrado";+u.sip!model.ccm.cisco.com="503"
//
// Parameter names compare case-insensitively (RFC 3261 §7.3.1).
const (
	// DeviceParam names the device (and its configuration file,
	// <DEVICE>.cnf.xml); a token may be bound to it.
	DeviceParam = "+u.sip!devicename.ccm.cisco.com"
	// ModelParam carries the device's model number ("503" for Jabber).
	ModelParam = "+u.sip!model.ccm.cisco.com"
	// NewRegParam marks, in a 200 OK, a Contact whose binding did not
	// exist before the REGISTER.
	NewRegParam = "x-cisco-newreg"
)

// The port mismatch: Unified CM's answer to a REGISTER on the wrong port,
// over the wrong kind of connection, or from a device whose profile does
// not allow it:
//
//	SIP/2.0 403 Forbidden
//	Retry-After: 35
//	Warning: 399 UCM2-PUB "SIP OAuth Registration port Mismatch"
const (
	// WarnCode is the warn-code of Unified CM's warnings: RFC 3261's
	// 399, "miscellaneous warning".
	WarnCode = 399
	// PortMismatchText is the port mismatch's warn-text.
	PortMismatchText = "SIP OAuth Registration port Mismatch"
	// PortMismatchRetryAfter is the port mismatch's Retry-After when the
	// registrar is not told otherwise.
	PortMismatchRetryAfter = 35 * time.Second
)
