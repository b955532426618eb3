package clientlog

import (
	"io"
	"time"

	"github.com/sipoauth/sdk/diag"
)

// Options bound the analysis.
type Options struct {
	// MaxMessageSize bounds one SIP message gathered from the log, in
	// bytes; DefaultMaxMessageSize when 0. Longer messages are cut and
	// reported.
	MaxMessageSize int
	// MaxEvents bounds the timeline; DefaultMaxEvents when 0. Later events
	// are counted, not kept.
	MaxEvents int
}

// Default bounds.
const (
	DefaultMaxMessageSize = 64 << 10
	DefaultMaxEvents      = 10000
)

// EventKind says what a timeline Event is.
type EventKind string

// Event kinds.
const (
	EventConfigFetched EventKind = "config-fetched" // fetchDeviceConfig() retrieved config for <device>
	EventOAuthMode     EventKind = "oauth-mode"     // sip OAuth Mode=<n>
	EventNodes         EventKind = "nodes"          // ccm0=… sip_oauth_port_0=… sip_mar_oauth_port_0=…
	EventConnection    EventKind = "connection"     // create TLS connection A-----B
	EventSent          EventKind = "sent"           // sipio-sent---> <SIP request>
	EventReceived      EventKind = "received"       // sipio-recv<--- <SIP response>
)

// Event is one step of the client's story, in log order.
type Event struct {
	Kind EventKind `json:"kind"`
	// Line is the 1-based line of the log where the event starts.
	Line int `json:"line"`
	// Time is the log's timestamp of the event, when it has one.
	Time time.Time `json:"time,omitzero"`
	// Text is a one-line summary, e.g. "REGISTER sip:10.10.10.1 (CSeq 2271, token)".
	Text string `json:"text"`

	// Fields by kind; empty when not relevant.
	Device    string `json:"device,omitempty"`    // config-fetched
	OAuthMode *int   `json:"oauthMode,omitempty"` // oauth-mode
	Nodes     []Node `json:"nodes,omitempty"`     // nodes
	Local     string `json:"local,omitempty"`     // connection: the client's address
	Remote    string `json:"remote,omitempty"`    // connection: the node's address
	// ExpectedPort is true when the connection goes to an OAuth port the
	// log announced for that node (connection events, when known).
	ExpectedPort *bool  `json:"expectedPort,omitempty"`
	Method       string `json:"method,omitempty"` // sent: e.g. REGISTER
	CSeq         int    `json:"cseq,omitempty"`
	CallID       string `json:"callId,omitempty"`
	Status       int    `json:"status,omitempty"` // received
	Reason       string `json:"reason,omitempty"` // received
	// Token is true when a sent request carries bearer credentials.
	Token bool `json:"token,omitempty"`
	// Headers worth showing: Expires, Warning, Retry-After,
	// Proxy-Authenticate / WWW-Authenticate (challenge), never a token.
	Headers map[string]string `json:"headers,omitempty"`
}

// Node is a call manager the log lists.
type Node struct {
	Index     int    `json:"index"`
	Host      string `json:"host"`
	OAuthPort int    `json:"oauthPort,omitempty"`
	MRAPort   int    `json:"mraPort,omitempty"`
}

// Report is the result of an analysis.
type Report struct {
	Timeline []Event       `json:"timeline"`
	Findings diag.Findings `json:"findings"`
	// Lines is the number of lines read, Bytes the number of bytes.
	Lines int   `json:"lines"`
	Bytes int64 `json:"bytes"`
	// Dropped counts events beyond MaxEvents.
	Dropped int `json:"dropped,omitempty"`
	// Messages is the number of SIP messages found, of any method.
	Messages int `json:"messages"`
}

// Analyze reads a soft client's log from r, in bounded memory whatever
// its size, and returns its timeline and diagnosis.
//
// The report is complete up to the first read error, which is returned
// with it, wrapped. Tokens are never copied into the report: a request
// with bearer credentials has Token set, and any bearer token or
// JWT-shaped string in the log is masked before the log is parsed.
func Analyze(r io.Reader, opts Options) (*Report, error) {
	a := newAnalyzer(opts)
	err := a.read(r)
	a.finish(err == nil)
	return a.rep, err
}
