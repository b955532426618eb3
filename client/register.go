package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/ucm"
)

// Registration is the outcome of one registration sequence, with what a
// transcript of it needs. It never holds a token.
type Registration struct {
	// Target is where the sequence ended.
	Target Target
	// Status and Reason are the final response's, e.g. 200 OK; 0 when no
	// response came.
	Status int
	Reason string
	// Expires is the time granted: the 200 OK's contact expires parameter,
	// else its Expires header, else what was asked for. 0 after an
	// unregistration.
	Expires time.Duration
	// Requested is the Expires the client asked for.
	Requested time.Duration
	// NewRegistration is true when the registrar marked the contact
	// ;x-cisco-newreg: the binding did not exist before.
	NewRegistration bool
	// FirstStatus and FirstReason are the first response's, e.g. 407
	// Proxy Authentication Required.
	FirstStatus int
	FirstReason string
	// Challenge is the first bearer challenge received, e.g.
	// `Bearer realm="ccmsipline"`, and ChallengeHeader the header that
	// carried it (Proxy-Authenticate or WWW-Authenticate).
	Challenge       string
	ChallengeHeader string
	// Exchanges are the REGISTER requests sent and their answers, in order.
	Exchanges []Exchange
	// Contact is the Contact header value sent.
	Contact string
	// LocalAddr and RemoteAddr are the connection's addresses.
	LocalAddr, RemoteAddr string
	// Response is the final response, for headers not summarized here.
	Response *sip.Response
	// At is when the final request was sent: the granted time runs from
	// then.
	At time.Time
}

// Exchange is one REGISTER and its final answer.
type Exchange struct {
	CSeq   uint32
	Branch string
	// Credentials is the header that carried the token
	// (Proxy-Authorization or Authorization), empty when none did.
	Credentials string
	// CredentialsForm is the form of the token's header when one was sent.
	CredentialsForm bearer.Form
	Expires         time.Duration
	// Status and Reason are the answer's; 0 when none came.
	Status int
	Reason string
	// Challenge is the bearer challenge of a 401 or 407.
	Challenge string
	// Warning and RetryAfter are the answer's headers, if any.
	Warning    string
	RetryAfter time.Duration
}

// dialog is the registration state towards one node: RFC 3261 §10.2 keeps
// Call-ID and From tag across refreshes and increments CSeq.
type dialog struct {
	target     Target
	node       string // the target's NodeAddr and Addr
	callID     string
	tag        string
	cseq       uint32
	authHeader string // Proxy-Authorization or Authorization, once challenged
	registered bool   // a binding exists
	contact    string
}

func newDialog(t Target, local net.IP) *dialog {
	var b [4]byte
	rand.Read(b[:])
	return &dialog{
		target: t,
		node:   dialogKey(t),
		callID: randomHex(16) + "@" + local.String(),
		tag:    randomHex(8),
		// A random start below 2^15, as sipgo and Jabber do.
		cseq: 1 + binary.BigEndian.Uint32(b[:])%0x7fff,
	}
}

func dialogKey(t Target) string { return t.NodeAddr() + "|" + t.Addr }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hostURI writes a host for a SIP URI: IPv6 addresses in brackets.
func hostURI(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// exchange runs one REGISTER sequence on the current connection: the
// request, the challenge if any, the retry with a token, and the token's
// renewal if the registrar refuses it. expires 0 unregisters.
func (c *Client) exchange(ctx context.Context, expires time.Duration) (Registration, error) {
	conn, d, t := c.conn, c.dlg, c.dlg.target
	reg := Registration{
		Target: t, Requested: expires,
		LocalAddr: conn.local.String(), RemoteAddr: conn.tls.RemoteAddr().String(),
	}
	reg.Contact = d.contact

	var tok string
	if d.authHeader != "" {
		var err error
		if tok, err = c.token(ctx); err != nil {
			return reg, &RejectedError{Target: t, Description: "no token to send", Err: err}
		}
	}
	renewed, briefRetried := false, false
	for range 6 {
		d.cseq++
		req, branch := c.request(t, d, expires, tok)
		ex := Exchange{CSeq: d.cseq, Branch: branch, Expires: expires}
		if tok != "" {
			ex.Credentials, ex.CredentialsForm = d.authHeader, c.s.Form
		}
		reg.At = time.Now()
		res, err := conn.do(ctx, req, c.s.RequestTimeout)
		if err != nil {
			reg.Exchanges = append(reg.Exchanges, ex)
			if ctx.Err() != nil {
				return reg, ctx.Err()
			}
			conn.close(err)
			return reg, &TargetError{Target: t, Op: "request", Err: err}
		}
		ex.Status, ex.Reason = res.StatusCode, res.Reason
		ex.Warning = strings.Join(headerValues(res, "Warning"), ", ")
		if h := res.GetHeader("Retry-After"); h != nil {
			ex.RetryAfter, _ = ucm.ParseRetryAfter(h.Value())
		}
		if reg.FirstStatus == 0 {
			reg.FirstStatus, reg.FirstReason = res.StatusCode, res.Reason
		}
		reg.Status, reg.Reason, reg.Response = res.StatusCode, res.Reason, res
		c.log.Debug("client: REGISTER answered", "target", t.String(), "cseq", d.cseq, "status", res.StatusCode,
			"credentials", ex.Credentials != "", "expires", int(expires/time.Second))

		switch code := res.StatusCode; {
		case code >= 200 && code < 300:
			reg.Exchanges = append(reg.Exchanges, ex)
			reg.Expires, reg.NewRegistration = c.granted(res, conn, expires)
			d.registered = expires > 0
			return reg, nil

		case code == 401 || code == 407:
			chName, credName := "Proxy-Authenticate", "Proxy-Authorization"
			if code == 401 {
				chName, credName = "WWW-Authenticate", "Authorization"
			}
			values := headerValues(res, chName)
			chs, _, perr := bearer.ParseChallenges(values)
			if len(values) > 0 {
				ex.Challenge = values[0]
			}
			reg.Exchanges = append(reg.Exchanges, ex)
			if reg.Challenge == "" && len(values) > 0 {
				reg.Challenge, reg.ChallengeHeader = values[0], chName
			}
			if len(chs) == 0 {
				err := perr
				if err == nil {
					err = errors.New("no Bearer challenge in " + chName)
				}
				return reg, &RejectedError{Target: t, Status: code, Reason: res.Reason, Description: "cannot answer the challenge", Err: err}
			}
			ch := chs[0]
			d.authHeader = credName
			if ch.Error == bearer.InsufficientScope || ch.Error == bearer.InvalidRequest || ch.Error == bearer.InvalidScope {
				return reg, &RejectedError{Target: t, Status: code, Reason: res.Reason, ChallengeError: ch.Error, Description: ch.ErrorDescription}
			}
			if tok == "" {
				if tok, err = c.token(ctx); err != nil {
					return reg, &RejectedError{Target: t, Status: code, Reason: res.Reason, Description: "no token to send", Err: err}
				}
				continue
			}
			// The token sent was refused: it is never sent again.
			c.refuse(tok)
			c.log.Info("client: token refused", "target", t.String(), "status", code, "error", string(ch.Error))
			if renewed {
				return reg, &RejectedError{Target: t, Status: code, Reason: res.Reason, ChallengeError: ch.Error,
					Description: ch.ErrorDescription, Err: fmt.Errorf("%w: the renewed token was refused too", ErrTokenRefused)}
			}
			renewed = true
			if tok, err = c.token(ctx); err != nil {
				return reg, &RejectedError{Target: t, Status: code, Reason: res.Reason, ChallengeError: ch.Error,
					Description: ch.ErrorDescription, Err: err}
			}

		case code == 423 && !briefRetried:
			reg.Exchanges = append(reg.Exchanges, ex)
			h := res.GetHeader("Min-Expires")
			n, err := 0, error(nil)
			if h != nil {
				n, err = strconv.Atoi(strings.TrimSpace(h.Value()))
			}
			if h == nil || err != nil || n <= 0 || time.Duration(n)*time.Second <= expires {
				return reg, &RejectedError{Target: t, Status: code, Reason: res.Reason, Description: "no usable Min-Expires"}
			}
			briefRetried, expires = true, time.Duration(n)*time.Second
			reg.Requested = expires

		case code == 403 && ucm.IsPortMismatch(ex.Warning):
			reg.Exchanges = append(reg.Exchanges, ex)
			e := &PortMismatchError{Target: t, Warning: ex.Warning, RetryAfter: ex.RetryAfter, ClientCertificate: conn.sentCert}
			e.Node, _ = ucm.PortMismatchNode(ex.Warning)
			d.registered = false
			return reg, e

		case code == 408 || code == 480 || code >= 500:
			reg.Exchanges = append(reg.Exchanges, ex)
			return reg, &TargetError{Target: t, Op: "response", Status: code, RetryAfter: ex.RetryAfter, Err: errors.New(strconv.Itoa(code) + " " + res.Reason)}

		default:
			reg.Exchanges = append(reg.Exchanges, ex)
			if code == 403 || code == 404 {
				d.registered = false
			}
			desc := ""
			if ex.Warning != "" {
				desc = "Warning: " + ex.Warning
			}
			return reg, &RejectedError{Target: t, Status: code, Reason: res.Reason, Description: desc}
		}
	}
	return reg, &RejectedError{Target: t, Status: reg.Status, Reason: reg.Reason, Description: "too many challenges"}
}

// contact is the Contact header value for a connection, Jabber's:
//
//	<sip:rado@10.10.10.10:62162;transport=tls>;+sip.instance="<urn:uuid:...>";
//	+u.sip!devicename.ccm.cisco.com="CSFrado";+u.sip!model.ccm.cisco.com="503"
func (c *Client) contact(conn *sipConn) string {
	return "<sip:" + c.user + "@" + net.JoinHostPort(conn.local.IP.String(), strconv.Itoa(conn.local.Port)) + ";transport=tls>" +
		`;+sip.instance="<` + c.s.instance + `>"` +
		`;` + ucm.DeviceParam + `="` + c.s.DeviceName + `"` +
		`;` + ucm.ModelParam + `="` + c.s.model + `"`
}

// request builds a REGISTER as Jabber sends it.
func (c *Client) request(t Target, d *dialog, expires time.Duration, tok string) (*sip.Request, string) {
	ruri := sip.Uri{Scheme: "sip", Host: t.Host}
	if t.Edge {
		// Through the edge proxy, the Request-URI names the node and its
		// MRA port, where the proxy is to forward it.
		ruri.Port = t.Port
	}
	req := sip.NewRequest(sip.REGISTER, ruri)
	req.SetTransport("TLS")
	branch := sip.RFC3261BranchMagicCookie + randomHex(8)
	via := &sip.ViaHeader{
		ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS",
		Host: c.conn.local.IP.String(), Port: c.conn.local.Port, Params: sip.NewParams(),
	}
	via.Params.Add("branch", branch)
	aor := "<sip:" + c.user + "@" + hostURI(t.Host) + ">"
	callID := sip.CallIDHeader(d.callID)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(via)
	req.AppendHeader(sip.NewHeader("From", aor+";tag="+d.tag))
	req.AppendHeader(sip.NewHeader("To", aor))
	req.AppendHeader(&callID)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sip.NewHeader("Date", time.Now().UTC().Format(http.TimeFormat)))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: sip.REGISTER})
	req.AppendHeader(sip.NewHeader("User-Agent", c.s.userAgent))
	req.AppendHeader(sip.NewHeader("Contact", d.contact))
	if tok != "" {
		req.AppendHeader(sip.NewHeader(d.authHeader, bearer.Credentials{Token: tok, Form: c.s.Form}.String()))
	}
	req.AppendHeader(sip.NewHeader("Expires", strconv.FormatInt(int64(expires/time.Second), 10)))
	req.SetBody(nil)
	return req, branch
}

// granted reads the time granted to the client's contact and whether it
// is new: the contact's expires parameter, else the Expires header, else
// what was asked for (RFC 3261 §10.2.4).
func (c *Client) granted(res *sip.Response, conn *sipConn, asked time.Duration) (time.Duration, bool) {
	g := time.Duration(-1)
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32); err == nil {
			g = time.Duration(n) * time.Second
		}
	}
	newreg := false
	for _, h := range res.GetHeaders("Contact") {
		ch, ok := h.(*sip.ContactHeader)
		if !ok || ch.Address.User != c.user || ch.Address.Port != conn.local.Port ||
			!net.ParseIP(strings.Trim(ch.Address.Host, "[]")).Equal(conn.local.IP) {
			continue
		}
		for _, p := range ch.Params {
			switch {
			case strings.EqualFold(p.K, "expires"):
				if n, err := strconv.ParseUint(p.V, 10, 32); err == nil {
					g = time.Duration(n) * time.Second
				}
			case strings.EqualFold(p.K, ucm.NewRegParam):
				newreg = true
			}
		}
	}
	if g < 0 {
		g = asked
	}
	return g, newreg
}

func headerValues(res *sip.Response, name string) []string {
	hs := res.GetHeaders(name)
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.Value())
	}
	return out
}

// token asks the source for a token that was not refused before and can
// be written in a header.
func (c *Client) token(ctx context.Context) (string, error) {
	for attempt := 0; ; attempt++ {
		t, err := c.s.Tokens.Token(ctx)
		if err != nil {
			return "", fmt.Errorf("client: token source: %w", err)
		}
		if t == nil || t.AccessToken == "" {
			return "", ErrNoToken
		}
		if !c.refused(t.AccessToken) {
			if err := (bearer.Credentials{Token: t.AccessToken, Form: c.s.Form}).Validate(); err != nil {
				return "", fmt.Errorf("client: the access token cannot be sent: %w", err)
			}
			return t.AccessToken, nil
		}
		inv, ok := c.s.Tokens.(Invalidator)
		if !ok || attempt > 0 {
			return "", fmt.Errorf("%w: the token source has no other token", ErrTokenRefused)
		}
		inv.Invalidate(t.AccessToken)
	}
}

// maxRefused is how many refused tokens the client remembers.
const maxRefused = 8

// refuse remembers a refused token by its hash, and tells the source.
func (c *Client) refuse(tok string) {
	sum := sha256.Sum256([]byte(tok))
	if !c.refused(tok) {
		if len(c.refusedTokens) == maxRefused {
			c.refusedTokens = c.refusedTokens[1:]
		}
		c.refusedTokens = append(c.refusedTokens, sum)
	}
	if inv, ok := c.s.Tokens.(Invalidator); ok {
		inv.Invalidate(tok)
	}
}

func (c *Client) refused(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	for _, r := range c.refusedTokens {
		if r == sum {
			return true
		}
	}
	return false
}
