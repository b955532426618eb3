// Package client is the soft-client side of SIP OAuth mode: what Cisco
// Jabber does to register with Unified CM using an OAuth access token
// instead of a client certificate, for any Go softphone.
//
// A Client reads the device's configuration file (fetched from
// http://<node>:6970/<DEVICE>.cnf.xml, bounded in size and time, or given
// already parsed), derives the ordered targets with cnfxml.Targets, and
// connects over TLS to the first one, verifying the node's certificate
// against the caller's trust pool. Over Mobile and Remote Access it
// connects to the edge proxy instead, while the Request-URI names the node
// and its sipMRAOAuthPort. It registers as Jabber does:
//
//	REGISTER sip:10.10.10.1 SIP/2.0
//	Contact: <sip:rado@10.10.10.10:62162;transport=tls>;+sip.instance="<urn:uuid:...>";
//	  +u.sip!devicename.ccm.cisco.com="CSFrado";+u.sip!model.ccm.cisco.com="503"
//	Expires: 3600
//	User-Agent: Cisco-CSF
//	                          <- 407 Proxy-Authenticate: Bearer realm="ccmsipline"
//	REGISTER (CSeq+1, new branch)
//	Proxy-Authorization: Bearer token="eyJ..."
//	                          <- 200 OK, Expires: 120, Contact ...;x-cisco-newreg
//
// and answers RFC 8898's 401 with `Authorization: Bearer ...` alike. The
// credentials' form (Cisco's or RFC 6750's) is configurable.
//
// Tokens come from a TokenSource, in the manner of golang.org/x/oauth2: a
// static token, a RefreshTokenSource that uses the refresh_token grant
// and renews the token before it expires, or a signin.Session, a user
// signed in at an OAuth 2.0 / OpenID Connect server. A token the registrar refuses
// with error="invalid_token" is never sent again: the client asks the
// source for a new one, and reports ErrTokenRefused if that is refused too.
//
// Run keeps the registration alive: it registers again timerRegisterDelta
// seconds before the granted time ends, waits out the Retry-After of
// Unified CM's "SIP OAuth Registration port Mismatch" (reported as a
// *PortMismatchError with the three possible causes and their fixes),
// fails over to the next node when one cannot be reached, and backs off
// exponentially after failures. Close unregisters. Changes are reported
// as Events to Config.OnEvent, which never holds up registration, and
// logged with log/slog; tokens are never logged.
//
// Requests that come back over the registration's connection (the node's
// MESSAGE or NOTIFY, through the edge proxy for MRA) go to
// Config.OnRequest; OPTIONS, the keep-alive probe, is answered 200.
//
// The SIP messages are built and parsed with github.com/emiago/sipgo/sip
// over a TLS connection the client owns.
package client
