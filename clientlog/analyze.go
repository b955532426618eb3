package clientlog

import (
	"bytes"
	"cmp"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/ucm"
)

const (
	maxNodes    = 10   // ccm0 .. ccm9
	maxPending  = 1024 // REGISTERs awaiting a response, challenges awaiting a retry
	maxDeferred = 256  // connections waiting for the nodes or the mode to be known
)

// analyzer holds the state of one analysis. Its memory is bounded by the
// options, not by the size of the log.
type analyzer struct {
	maxMsg, maxEvents int
	rep               *Report
	line              int
	year, month, day  int // date of the last header that had one
	rec               record
	msg               message
	lower             []byte
	in                interner

	modeKnown  bool
	mode       int
	modeLine   int
	nodes      [maxNodes]nodeSlot
	nodesKnown bool
	nodesEvent int // timeline index of the latest nodes event, or -1
	deferred   []connection
	lastConn   *connection
	oauthConn  int // line of the first connection to an OAuth port while the mode was unknown
	registered bool
	sentAny    bool
	sipSeen    bool // a SIP message, complete or not

	pending    map[regKey]pendingRegister
	challenges map[string]challenge
	found      []found
	byKey      map[string]int
}

type nodeSlot struct {
	host       string
	oauth, mra int
}

type connection struct {
	ev        int // timeline index, or -1
	line      int
	transport string
	local     string
	remote    string
	host      string
	port      int
	mode      int // the OAuth mode when the connection was made, -1 unknown

	// Set by classify.
	classified bool
	node       int      // index of the node it goes to, -1 unknown
	slot       nodeSlot // what the log announced for that node
	expected   *bool    // the port is the node's announced OAuth port
	oauth      bool     // the port is an OAuth port, announced or default
}

type regKey struct {
	callID string
	cseq   int
}

type pendingRegister struct {
	line    int
	cseq    int
	callID  string
	token   bool
	expires int // -1 when the request has none
}

type challenge struct {
	line   int
	cseq   int
	status int
	reason string
	header string
	value  string
}

// found is a finding with the number of times it was seen.
type found struct {
	f     diag.Finding
	line  int
	count int
	last  int
}

func newAnalyzer(opts Options) *analyzer {
	a := &analyzer{
		maxMsg:     opts.MaxMessageSize,
		maxEvents:  opts.MaxEvents,
		rep:        &Report{Timeline: []Event{}, Findings: diag.Findings{}},
		nodesEvent: -1,
		pending:    map[regKey]pendingRegister{},
		challenges: map[string]challenge{},
		byKey:      map[string]int{},
		in:         interner{m: map[string]string{}},
	}
	a.maxMsg = defaults.Positive(a.maxMsg, DefaultMaxMessageSize)
	a.maxEvents = defaults.Positive(a.maxEvents, DefaultMaxEvents)
	a.rec.reset()
	return a
}

// event appends e to the timeline and returns its index, or -1 when the
// timeline is full.
func (a *analyzer) event(e Event) int {
	if len(a.rep.Timeline) >= a.maxEvents {
		a.rep.Dropped++
		return -1
	}
	// A long log repeats the same texts: keep one copy of each.
	e.Text = a.in.keep(e.Text)
	for k, v := range e.Headers {
		e.Headers[k] = a.in.keep(v)
	}
	a.rep.Timeline = append(a.rep.Timeline, e)
	return len(a.rep.Timeline) - 1
}

// full reports whether the timeline is full, counting the event that
// will not be kept.
func (a *analyzer) full() bool {
	if len(a.rep.Timeline) >= a.maxEvents {
		a.rep.Dropped++
		return true
	}
	return false
}

// report adds a finding at line. Findings with the same key are counted,
// not repeated: the first one is kept and says how often it was seen.
func (a *analyzer) report(key, code string, sev diag.Severity, line int, msg, fix string) {
	if key == "" {
		key = code
	}
	if i, ok := a.byKey[key]; ok {
		a.found[i].count++
		a.found[i].last = line
		return
	}
	a.byKey[key] = len(a.found)
	a.found = append(a.found, found{
		f:    diag.Finding{Code: code, Severity: sev, Path: "line " + strconv.Itoa(line), Message: msg, Fix: fix},
		line: line, count: 1, last: line,
	})
}

// flush analyzes the record gathered so far.
func (a *analyzer) flush(eof bool) {
	r := &a.rec
	if r.kind == recordNone {
		return
	}
	redact(r.text)
	if r.sipAt >= 0 {
		a.sipRecord(eof)
	} else {
		a.logRecord()
	}
	r.reset()
}

// Markers of a log record.
var (
	markConfig  = []byte("retrieved config for ")
	markMode    = []byte("OAuth Mode=")
	markCCM     = []byte("ccm")
	markPort    = []byte("oauth_port_")
	markAnyPort = []byte("_port_")
	markCreate  = []byte("create ")
	markConnect = []byte("connection ")
	markMessage = []byte("] - ")
)

// logRecord looks for the markers of a record that is not a SIP message.
func (a *analyzer) logRecord() {
	r := &a.rec
	t := r.text
	if i := bytes.Index(t, markConfig); i >= 0 {
		dev, _ := nextField(t[i+len(markConfig):])
		if len(dev) > 0 {
			d := cleanString(dev, 64)
			a.event(Event{Kind: EventConfigFetched, Line: r.lineAt(i), Time: r.time, Device: d,
				Text: "configuration fetched for " + d})
		}
	}
	if i := bytes.Index(t, markMode); i >= 0 {
		v := t[i+len(markMode):]
		n := 0
		for n < len(v) && n < 4 && v[n] >= '0' && v[n] <= '9' {
			n++
		}
		if n > 0 {
			a.setMode(atoi(v[:n]), r.lineAt(i))
		}
	}
	if bytes.Contains(t, markCCM) || bytes.Contains(t, markAnyPort) {
		a.nodesRecord(t)
	}
	if i := bytes.Index(t, markConnect); i > 0 && t[i-1] == ' ' {
		a.connectionRecord(t, i-1)
	}
	a.tlsRecord(t)
}

func (a *analyzer) setMode(mode, line int) {
	a.modeKnown, a.mode, a.modeLine = true, mode, line
	text := "SIP OAuth mode " + strconv.Itoa(mode)
	switch mode {
	case 0:
		text += " (disabled)"
	case 1:
		text += " (enabled)"
	default:
		text += " (not a known value)"
	}
	m := mode
	a.event(Event{Kind: EventOAuthMode, Line: line, Time: a.rec.time, OAuthMode: &m, Text: text})
}

// indexes yields the offset of each occurrence of mark in t, left to
// right; occurrences do not overlap.
func indexes(t, mark []byte) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < len(t); {
			j := bytes.Index(t[i:], mark)
			if j < 0 {
				return
			}
			j += i
			i = j + len(mark)
			if !yield(j) {
				return
			}
		}
	}
}

// nodesRecord reads ccmN=host, sip_oauth_port_N=port and
// sip_mar_oauth_port_N=port (or sip_mra_...). A record that names hosts
// is a new announcement of the nodes; one with ports only completes the
// latest.
func (a *analyzer) nodesRecord(t []byte) {
	r := &a.rec
	hosts, ports := false, false
	first := -1
	for j := range indexes(t, markCCM) {
		if j > 0 && (isAlnum(t[j-1]) || t[j-1] == '_') {
			continue
		}
		idx, k, ok := indexEquals(t, j+len(markCCM))
		if !ok {
			continue
		}
		e := k
		for e < len(t) && e-k < 255 && isHostChar(t[e]) {
			e++
		}
		if !hosts {
			for n := range a.nodes {
				a.nodes[n].host = ""
			}
			hosts = true
			first = j
		}
		a.nodes[idx].host = string(t[k:e]) // host characters are ASCII
	}
	for j := range indexes(t, markPort) {
		mra := j >= 8 && (bytes.Equal(t[j-8:j], []byte("sip_mar_")) || bytes.Equal(t[j-8:j], []byte("sip_mra_")))
		if !mra && (j < 4 || !bytes.Equal(t[j-4:j], []byte("sip_"))) {
			continue
		}
		idx, k, ok := indexEquals(t, j+len(markPort))
		if !ok {
			continue
		}
		port, ok := leadingPort(t[k:])
		if !ok {
			continue
		}
		if mra {
			a.nodes[idx].mra = port
		} else {
			a.nodes[idx].oauth = port
		}
		ports = true
		if first < 0 {
			first = j
		}
	}
	if !hosts && !ports {
		return
	}
	a.nodesKnown = true
	list, text := a.nodeList()
	switch {
	case hosts && len(list) > 0:
		a.nodesEvent = a.event(Event{Kind: EventNodes, Line: r.lineAt(first), Time: r.time, Nodes: list, Text: text})
	case !hosts && a.nodesEvent >= 0:
		e := &a.rep.Timeline[a.nodesEvent]
		e.Nodes, e.Text = list, text
	}
}

// indexEquals reads "N=" at t[i:], N a node index, and returns the index
// and the offset after '='.
func indexEquals(t []byte, i int) (idx, next int, ok bool) {
	if i+1 >= len(t) || t[i] < '0' || t[i] > '9' || t[i+1] != '=' {
		return 0, 0, false
	}
	return int(t[i] - '0'), i + 2, true
}

// leadingPort reads a port number, 1-65535, at the start of b.
func leadingPort(b []byte) (int, bool) {
	n := 0
	for n < len(b) && n < 6 && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || n == 6 {
		return 0, false
	}
	p := atoi(b[:n])
	return p, p >= 1 && p <= 65535
}

func isHostChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '-' || c == ':' || c == '_' || c == '[' || c == ']' || c == '%'
}

// nodeList returns the nodes with a host, and their summary.
func (a *analyzer) nodeList() ([]Node, string) {
	var list []Node
	var b strings.Builder
	for i, n := range a.nodes {
		if n.host == "" {
			continue
		}
		list = append(list, Node{Index: i, Host: n.host, OAuthPort: n.oauth, MRAPort: n.mra})
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString("ccm" + strconv.Itoa(i) + "=" + n.host)
		if n.oauth > 0 {
			b.WriteString(":" + strconv.Itoa(n.oauth))
		}
		if n.mra > 0 {
			b.WriteString(" (MRA " + strconv.Itoa(n.mra) + ")")
		}
	}
	return list, b.String()
}

// connectionRecord reads "create TLS connection local-----remote"; i is
// the offset of " connection ".
func (a *analyzer) connectionRecord(t []byte, i int) {
	c := bytes.LastIndex(t[:i], markCreate)
	if c < 0 {
		return
	}
	transport := bytes.TrimSpace(t[c+len(markCreate) : i])
	if len(transport) == 0 || len(transport) > 8 || bytes.IndexByte(transport, ' ') >= 0 {
		return
	}
	addrs, _ := nextField(t[i+1+len(markConnect):])
	d := bytes.Index(addrs, []byte("---"))
	if d <= 0 {
		return
	}
	local := addrs[:d]
	remote := bytes.TrimLeft(addrs[d:], "-")
	remote = bytes.TrimRight(remote, ".,;")
	host, port := splitHostPort(remote)
	if host == "" {
		return
	}
	r := &a.rec
	conn := connection{
		line: r.lineAt(c), transport: cleanString(transport, 8),
		local: cleanString(local, 128), remote: cleanString(remote, 128),
		host: host, port: port, mode: -1, node: -1,
	}
	if a.modeKnown {
		conn.mode = a.mode
	}
	conn.ev = a.event(Event{Kind: EventConnection, Line: conn.line, Time: r.time, Local: conn.local, Remote: conn.remote,
		Text: conn.transport + " connection " + conn.local + " → " + conn.remote})
	if a.nodesKnown {
		a.classify(&conn)
	}
	if a.deferred == nil {
		a.deferred = make([]connection, 0, maxDeferred) // never reallocated: lastConn may point into it
	}
	if (!a.nodesKnown || !a.modeKnown) && len(a.deferred) < maxDeferred {
		// Judged at the end, with the nodes and the mode the log gave later.
		a.deferred = append(a.deferred, conn)
		a.lastConn = &a.deferred[len(a.deferred)-1]
		return
	}
	a.classify(&conn)
	a.judge(&conn)
	a.lastConn = &conn
}

// splitHostPort splits "host:port" or "[v6]:port"; port is 0 when absent.
func splitHostPort(b []byte) (string, int) {
	s := cleanString(b, 128)
	if strings.HasPrefix(s, "[") {
		if e := strings.IndexByte(s, ']'); e > 0 {
			port := 0
			if strings.HasPrefix(s[e+1:], ":") {
				port, _ = leadingPort([]byte(s[e+2:]))
			}
			return s[1:e], port
		}
		return "", 0
	}
	if c := strings.LastIndexByte(s, ':'); c >= 0 && strings.Count(s, ":") == 1 {
		port, _ := leadingPort([]byte(s[c+1:]))
		return s[:c], port
	}
	return s, 0
}

// hostOf returns the host of "host:port".
func hostOf(addr string) string {
	h, _ := splitHostPort([]byte(addr))
	return h
}

// classify finds the node a connection goes to, and whether its port is
// the OAuth port the log announced for that node.
func (a *analyzer) classify(c *connection) {
	if c.classified {
		return
	}
	c.classified = true
	for i, n := range a.nodes {
		if n.host != "" && strings.EqualFold(n.host, c.host) {
			c.node, c.slot = i, n
			break
		}
	}
	if c.node >= 0 && c.slot.oauth > 0 {
		v := c.port == c.slot.oauth
		c.expected = &v
	}
	c.oauth = c.expected != nil && *c.expected ||
		c.node >= 0 && c.slot.mra > 0 && c.port == c.slot.mra ||
		(c.node < 0 || c.slot.oauth == 0) && (c.port == 5090 || c.port == 5091)
	note := ""
	switch {
	case c.expected != nil && *c.expected:
		note = " (the OAuth port announced for ccm" + strconv.Itoa(c.node) + ")"
	case c.expected != nil:
		note = " (not the OAuth port announced for ccm" + strconv.Itoa(c.node) + ", " + strconv.Itoa(c.slot.oauth) + ")"
	}
	if c.ev >= 0 {
		e := &a.rep.Timeline[c.ev]
		e.ExpectedPort = c.expected
		e.Text += note
	}
}

// judge reports what does not fit the OAuth mode in a classified
// connection: the mode when it was made, else the last one the log gave.
func (a *analyzer) judge(c *connection) {
	mode := c.mode
	if mode < 0 && a.modeKnown {
		mode = a.mode
	}
	legacy := c.port == 5060 || c.port == 5061
	name, slot, unexpected := "ccm"+strconv.Itoa(c.node), c.slot, c.expected != nil && !*c.expected
	modeAt := "the log says SIP OAuth mode " + strconv.Itoa(mode) + " (line " + strconv.Itoa(a.modeLine) + ")"
	switch {
	case mode == 1 && legacy:
		a.report(CodeOAuthModeOff+"|legacy", CodeOAuthModeOff, diag.Error, c.line,
			modeAt+" but the client connects to "+c.remote+", a legacy SIP port (5060 non-secure, 5061 secure), not an OAuth port",
			"in SIP OAuth mode the client connects to the node's sipOAuthPort (5090 by default) over TLS: check that it supports SIP OAuth (Jabber 12.5 or later), that the configuration file lists sipOAuthPort for each node, and reset the device")
	case mode == 0 && c.oauth:
		a.report(CodeOAuthModeOff+"|off", CodeOAuthModeOff, diag.Error, c.line,
			modeAt+" while the client connects to "+c.remote+", an OAuth port: the node refuses OAuth registrations from a device that is not in OAuth mode",
			"enable SIP OAuth cluster-wide (utils sipOAuth-mode enable, ClusterSIPOAuthMode 1) and Enable OAuth Authentication in the device's phone security profile, then reset the device so that its configuration file carries sipOAuthMode 1")
	case unexpected && slot.mra == c.port:
		a.report(CodeUnexpectedPort+"|mra", CodeUnexpectedPort, diag.Error, c.line,
			"the connection goes to "+c.remote+", the MRA OAuth port of "+name+", which takes only mutual TLS from a registered Expressway-C; a client on premises uses sip_oauth_port_"+strconv.Itoa(c.node)+"="+strconv.Itoa(slot.oauth),
			"on premises, connect to sipOAuthPort ("+strconv.Itoa(slot.oauth)+") without a client certificate; only an Expressway-C connects to sipMRAOAuthPort, with its certificate")
	case unexpected && !(mode == 0 && legacy):
		a.report(CodeUnexpectedPort, CodeUnexpectedPort, diag.Error, c.line,
			"the client connects to "+c.remote+", but the log announced sip_oauth_port_"+strconv.Itoa(c.node)+"="+strconv.Itoa(slot.oauth)+" for "+name+" ("+slot.host+")",
			"the client takes the port from sipOAuthPort in the configuration file: make the node listen on the announced port (System > Cisco Unified CM > SIP OAuth Port; check with show open ports regexp "+strconv.Itoa(slot.oauth)+"), or correct the configuration and reset the device")
	}
	if c.oauth && mode < 0 && a.oauthConn == 0 {
		a.oauthConn = c.line
	}
}

// sipRecord analyzes a record that holds a SIP message.
func (a *analyzer) sipRecord(eof bool) {
	r := &a.rec
	m := &a.msg
	parseMessage(r.text[r.sipAt:], m, &a.in)
	a.sipSeen = true
	at := r.sipAt
	if r.kind == recordLog {
		at -= markerLen
	}
	line := r.lineAt(at)
	if !m.startOK {
		a.report(CodeTruncatedMessage, CodeTruncatedMessage, diag.Warning, line,
			"the SIP message at line "+strconv.Itoa(line)+" is cut before its start line is complete",
			"collect the log again, whole: the client's log files rotate, and a message cut by the rotation or by a copy cannot be read")
		return
	}
	a.rep.Messages++
	why := ""
	switch {
	case r.cut:
		why = "is longer than " + strconv.Itoa(a.maxMsg) + " bytes (Options.MaxMessageSize) and was cut"
	case !m.hasCSeq:
		why = "has no CSeq header: the log cut it"
	case eof && !m.ended:
		why = "is cut: the log ends inside it"
	}
	if why != "" {
		a.report(CodeTruncatedMessage, CodeTruncatedMessage, diag.Warning, line,
			"the SIP message at line "+strconv.Itoa(line)+" "+why,
			"collect the log again, whole, or raise the bound on a message's size")
	}
	switch {
	case m.request && r.sent && m.method == "REGISTER":
		a.sentRegister(line, m)
	case !m.request && !r.sent && (!m.hasCSeq || m.cseqMeth == "REGISTER"):
		a.response(line, m)
	}
}

func (a *analyzer) sentRegister(line int, m *message) {
	a.sentAny = true
	expires := -1
	if m.hasExp {
		expires = m.expires
	}
	if !a.full() {
		ev := Event{Kind: EventSent, Line: line, Time: a.rec.time, Method: m.method, CSeq: m.cseq, CallID: m.callID, Token: m.token}
		if m.hasExp {
			ev.Headers = map[string]string{"Expires": strconv.Itoa(m.expires)}
		}
		cs := "no CSeq"
		if m.hasCSeq {
			cs = "CSeq " + strconv.Itoa(m.cseq)
		}
		tok := "no token"
		if m.token {
			tok = "token"
		}
		ev.Text = "REGISTER " + m.uri + " (" + cs + ", " + tok + ")"
		a.event(ev)
	}
	if len(a.pending) >= maxPending {
		a.expirePending()
	}
	if !m.hasCSeq {
		return // a response cannot be told to answer it
	}
	a.pending[regKey{m.callID, m.cseq}] = pendingRegister{line: line, cseq: m.cseq, callID: m.callID, token: m.token, expires: expires}
	if ch, ok := a.challenges[m.callID]; ok && m.token && m.cseq > ch.cseq {
		delete(a.challenges, m.callID)
	}
}

func (a *analyzer) response(line int, m *message) {
	if !a.full() {
		ev := Event{Kind: EventReceived, Line: line, Time: a.rec.time, Status: m.status, Reason: m.reason, CSeq: m.cseq, CallID: m.callID}
		h := map[string]string{}
		if m.hasExp {
			h["Expires"] = strconv.Itoa(m.expires)
		}
		if m.warning != "" {
			h["Warning"] = m.warning
		}
		if m.retry != "" {
			h["Retry-After"] = m.retry
		}
		if m.challenge != "" {
			h[m.chName] = m.challenge
		}
		if len(h) > 0 {
			ev.Headers = h
		}
		ev.Text = strconv.Itoa(m.status)
		if m.reason != "" {
			ev.Text += " " + m.reason
		}
		if m.hasCSeq {
			ev.Text += " (CSeq " + strconv.Itoa(m.cseq) + ")"
		}
		a.event(ev)
	}
	if m.status < 200 {
		return
	}
	key := regKey{m.callID, m.cseq}
	req, known := a.pending[key]
	delete(a.pending, key)
	what := "REGISTER"
	if m.hasCSeq {
		what += " CSeq " + strconv.Itoa(m.cseq)
	}
	status := strconv.Itoa(m.status) + " " + m.reason
	switch {
	case m.status < 300:
		delete(a.challenges, m.callID)
		if known && req.expires == 0 {
			return // an unregistration
		}
		a.registered = true
		msg := what + " answered " + status + ": registered"
		switch {
		case m.hasExp:
			msg += " for " + strconv.Itoa(m.expires) + " s"
		case m.hasConEx:
			msg += " for " + strconv.Itoa(m.contactEx) + " s"
		}
		if known && req.expires > 0 {
			msg += " (the client asked for " + strconv.Itoa(req.expires) + " s)"
		}
		a.report(CodeRegistered, CodeRegistered, diag.Info, line, msg, "")
	case m.status == 401 || m.status == 407:
		a.challenged(line, m, what, status, known && req.token)
	case m.status == 403 && isPortMismatch(m.warning):
		a.portMismatch(line, m, what)
	default:
		msg := what + " refused: " + status
		if m.warning != "" {
			msg += ", Warning: " + m.warning
		}
		fix := "read the status and the Warning: the node refuses this registration for a reason other than the OAuth port or the token"
		switch {
		case m.status == 404:
			fix = "the node does not know the device or the user: check that the device (e.g. CSF<user>) exists in Unified CM with this user as its owner, and that the client uses its name"
		case m.status == 503:
			fix = "the node or the edge proxy is unavailable: check the CallManager service and, over MRA, the hop from Expressway-C to the node's MRA OAuth port (troubleshooting scenarios 2 and 3)"
		}
		a.report(CodeRegisterRejected+"|"+strconv.Itoa(m.status), CodeRegisterRejected, diag.Error, line, msg, fix)
	}
}

// challenged handles a 401 or 407 to a REGISTER.
func (a *analyzer) challenged(line int, m *message, what, status string, tokenSent bool) {
	errCode := param(m.challenge, "error")
	desc := param(m.challenge, "error_description")
	detail := ""
	if desc != "" {
		detail = " (" + desc + ")"
	}
	refusedFix := "the token is expired, revoked, signed with a key the node does not have, or issued for another user or device: sign in again or refresh the access token with the refresh token, check the clocks of the client and the node, and check that the node has the authorization server's current keys"
	switch {
	case errCode == "invalid_token":
		delete(a.challenges, m.callID)
		a.report(CodeInvalidToken, CodeInvalidToken, diag.Error, line,
			"the node refused the token of "+what+": "+status+" with error=\"invalid_token\""+detail, refusedFix)
		return
	case errCode != "":
		delete(a.challenges, m.callID)
		fix := refusedFix
		if errCode == "insufficient_scope" {
			fix = "the token lacks a scope the node requires: request a token with the scope named in the challenge"
		}
		variant := "other" // the error comes from the log: a bounded set of keys
		if errCode == "insufficient_scope" || errCode == "invalid_request" {
			variant = errCode
		}
		a.report(CodeTokenRefused+"|"+variant, CodeTokenRefused, diag.Error, line,
			"the node refused the token of "+what+": "+status+" with error=\""+errCode+"\""+detail, fix)
		return
	case tokenSent:
		delete(a.challenges, m.callID)
		a.report(CodeTokenRefused+"|again", CodeTokenRefused, diag.Error, line,
			"the node challenged again "+what+", which carried a bearer token: it refused the token", refusedFix)
		return
	}
	if len(a.challenges) >= maxPending {
		a.expireChallenges()
	}
	a.challenges[m.callID] = challenge{line: line, cseq: m.cseq, status: m.status, reason: m.reason, header: m.chName, value: m.challenge}
}

// portMismatchLower is the port mismatch's text as a lower-case log line
// carries it.
var portMismatchLower = strings.ToLower(ucm.PortMismatchText)

// isPortMismatch reports whether a Warning value from a log is the port
// mismatch: read by ucm, or, for a line cut short or run together with the
// next, its text anywhere in it.
func isPortMismatch(warning string) bool {
	return ucm.IsPortMismatch(warning) || strings.Contains(strings.ToLower(warning), portMismatchLower)
}

// portMismatch reports troubleshooting scenario 1.
func (a *analyzer) portMismatch(line int, m *message, what string) {
	node, ok := ucm.PortMismatchNode(m.warning)
	if _, rest := nextField([]byte(m.warning)); !ok && len(rest) > 0 {
		f, _ := nextField(rest)
		node = string(f)
	}
	msg := "the node"
	if node != "" {
		msg += " " + node
	}
	msg += " refused " + what + " with 403 " + m.reason + ", Warning: " + m.warning
	if m.retry != "" {
		msg += ", Retry-After: " + m.retry
	}
	msg += " (troubleshooting scenario 1). The node takes a registration on an OAuth port only when (1) SIP OAuth is enabled cluster-wide, " +
		"(2) the device's phone security profile enables OAuth, and (3) the request comes over the right kind of connection: " +
		"TLS without a client certificate on the OAuth port (5090), mutual TLS from a registered Expressway-C on the MRA OAuth port (5091)"
	if c := a.lastConn; c != nil && c.oauth && c.node >= 0 && a.nodes[c.node].oauth == c.port && m.viaHost != "" &&
		strings.EqualFold(hostOf(c.local), hostOf(m.viaHost)) {
		msg += ". The client connected to " + c.remote + ", the OAuth port announced for ccm" + strconv.Itoa(c.node) + ", so (1) and (2) are the likely causes"
	}
	a.report(CodePortMismatch, CodePortMismatch, diag.Error, line, msg,
		"(1) enable SIP OAuth cluster-wide: System > Enterprise Parameters > SIP OAuth Mode, or `utils sipOAuth-mode enable` on the publisher (ClusterSIPOAuthMode 1); "+
			"(2) in System > Security > Phone Security Profile, check Enable OAuth Authentication on the device's profile, save and reset the device; "+
			"(3) connect on premises to sipOAuthPort over TLS without a client certificate, and over MRA through Expressway-C to sipMRAOAuthPort")
}

// byLine returns the values of m, things seen each on its own line of the
// log, in the order of their lines.
func byLine[K comparable, V any](m map[K]V, line func(V) int) []V {
	vs := make([]V, 0, len(m))
	for _, v := range m {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, func(x, y V) int { return cmp.Compare(line(x), line(y)) })
	return vs
}

// expirePending reports the REGISTERs still waiting for a response.
func (a *analyzer) expirePending() {
	for _, p := range byLine(a.pending, func(p pendingRegister) int { return p.line }) {
		a.report(CodeNoResponse, CodeNoResponse, diag.Warning, p.line,
			"REGISTER CSeq "+strconv.Itoa(p.cseq)+" (line "+strconv.Itoa(p.line)+") got no final response in the log",
			"check that the node listens on the port the client connected to (show open ports regexp 5090), that nothing between drops the connection, and that the log covers enough time after the REGISTER")
	}
	clear(a.pending)
}

// expireChallenges reports the challenges never answered with a token.
func (a *analyzer) expireChallenges() {
	for _, c := range byLine(a.challenges, func(c challenge) int { return c.line }) {
		what := strconv.Itoa(c.status) + " " + c.reason + " (CSeq " + strconv.Itoa(c.cseq) + ")"
		if c.value != "" {
			what += ", " + c.header + ": " + c.value
		}
		scheme, _ := nextField([]byte(c.value))
		if len(scheme) > 0 && !bytes.EqualFold(scheme, []byte("bearer")) {
			a.report(CodeNoTokenRetry+"|scheme", CodeNoTokenRetry, diag.Error, c.line,
				"the node challenged the REGISTER with "+what+", not with Bearer: it does not treat this device as an OAuth device, and the client sent no bearer token",
				"check Enable OAuth Authentication in the device's phone security profile and SIP OAuth cluster-wide, then reset the device; or give the device digest credentials if it is not meant to use OAuth")
			continue
		}
		a.report(CodeNoTokenRetry, CodeNoTokenRetry, diag.Error, c.line,
			"the node challenged the REGISTER with "+what+", and the client never sent a REGISTER with a bearer token after it",
			"the client must answer with Proxy-Authorization: Bearer token=\"…\" (Authorization: Bearer … to a 401): check that it signed in with OAuth and holds an access token (on Unified CM: OAuth with Refresh Login Flow enabled, and the user signed in again since)")
	}
	clear(a.challenges)
}

// tlsFailed returns the line of the first TLS failure found.
func (a *analyzer) tlsFailed() (int, bool) {
	for _, f := range a.found {
		if f.f.Code == CodeTLSFailure {
			return f.line, true
		}
	}
	return 0, false
}

// finish flushes the last record and completes the diagnosis.
func (a *analyzer) finish(eof bool) {
	a.flush(eof)
	for i := range a.deferred {
		a.classify(&a.deferred[i])
		a.judge(&a.deferred[i])
	}
	a.expirePending()
	a.expireChallenges()
	if !a.modeKnown && a.oauthConn > 0 && a.sentAny && !a.registered {
		a.report(CodeOAuthModeOff+"|absent", CodeOAuthModeOff, diag.Warning, a.oauthConn,
			"the log does not say that SIP OAuth mode is on (no \"sip OAuth Mode=1\" line) while the client registers on an OAuth port, and no registration succeeded",
			"check that the device's configuration file carries sipOAuthMode 1 (SIP OAuth enabled cluster-wide and in the device's phone security profile), and collect a log that covers the configuration fetch")
	}
	if _, tlsFailed := a.tlsFailed(); !a.sipSeen && !tlsFailed {
		msg := "the log holds no SIP message (no sipio-sent or sipio-recv line, no SIP start line) in its " + strconv.Itoa(a.line) + " lines"
		if len(a.rep.Timeline) > 0 {
			msg += ": the client did not get as far as registering, or its SIP logging is off"
		}
		a.report(CodeNoSIP, CodeNoSIP, diag.Warning, 1, msg,
			"collect the log with detailed logging on, from sign-in until the phone service connects or fails; if the client never sends a REGISTER, check the configuration fetch, the SIP OAuth mode and the TLS connection to the node")
	}
	slices.SortStableFunc(a.found, func(x, y found) int { return cmp.Compare(x.line, y.line) })
	for _, f := range a.found {
		if f.count > 1 {
			f.f.Message += " (seen " + strconv.Itoa(f.count) + " times; the last at line " + strconv.Itoa(f.last) + ")"
		}
		a.rep.Findings = append(a.rep.Findings, f.f)
	}
	a.rep.Lines = a.line
}
