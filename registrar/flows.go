package registrar

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/internal/chans"
	"github.com/sipoauth/sdk/sipserve"
)

// FlowRegistry tells the nodes of a cluster which flows are up: a node
// records the flows its bindings came on, and any node can tell whether
// the flow of a binding is still open, whichever holds it
// (redisstore.Flows). Implementations must be safe for concurrent use.
type FlowRegistry interface {
	// Up records that the flow id is open on this node.
	Up(ctx context.Context, id string) error
	// Down records that it has closed.
	Down(ctx context.Context, id string) error
	// Alive reports, for each id, whether its flow is open on some node.
	Alive(ctx context.Context, ids []string) (map[string]bool, error)
}

// Flows are the flows (the connections, RFC 5626) that this node's
// bindings came on: requests to a registered client go back over them.
// With a Registry, the other nodes of the cluster learn which are open.
type Flows struct {
	// Registry, if set, is told of each flow that opens and closes; nil
	// keeps what only this node can tell.
	Registry FlowRegistry
	// Logger reports a Registry that failed; slog.Default when nil.
	Logger *slog.Logger

	local sync.Map // id -> *localFlow, while open
	// hops are the flows from each edge proxy, by the first hop of the
	// Path it adds (host:port of its URI): a binding made over an edge
	// proxy's earlier connection is reached over its later one, since the
	// proxy routes by its flow token, whichever connection carries it. A
	// hop belongs to the certificate that named it first, so that another
	// proxy of the table cannot take the requests for its clients, and at
	// most maxHops are kept.
	hopsMu sync.Mutex
	hops   map[string]*hopEntry

	pendingMu sync.Mutex
	pending   map[string]int // requests sent and not answered, by flow and contact
}

// timeout bounds a Registry call made for a flow that closed, with no
// caller's context.
const flowRegistryTimeout = 5 * time.Second

// add keeps f, the flow a binding came on, until it closes, and records
// it in the Registry; a Registry that failed is asked again at the next
// REGISTER on the flow. edgePath is the REGISTER's first Path value on
// the edge role (empty elsewhere), and peer the edge proxy's certificate.
func (fl *Flows) add(ctx context.Context, f *sipserve.Flow, edgePath string, peer *x509.Certificate) {
	var lf *localFlow
	if v, ok := fl.local.Load(f.ID()); ok {
		lf = v.(*localFlow) // the flow's later REGISTERs: nothing to allocate
	} else {
		v, had := fl.local.LoadOrStore(f.ID(), &localFlow{flow: f})
		lf = v.(*localFlow)
		if !had && !f.AfterClose(func() { fl.closed(f.ID()) }) {
			fl.local.Delete(f.ID())
			return
		}
	}
	if edgePath != "" && peer != nil && !lf.hopped.Swap(true) {
		fl.addHop(firstHop(edgePath), peer, f)
	}
	if fl.Registry == nil || lf.shared.Load() {
		return
	}
	if err := fl.Registry.Up(ctx, f.ID()); err != nil {
		fl.logger().Warn("registrar: recording a flow failed", "flow", f.ID(), "error", err)
		return
	}
	lf.shared.Store(true)
	if chans.Closed(f.Done()) {
		// Closed while it was recorded: its Down may have come first.
		fl.closed(f.ID())
	}
}

// localFlow is a flow this node holds, whether the Registry knows it,
// and whether its edge proxy's hop is noted.
type localFlow struct {
	flow   *sipserve.Flow
	shared atomic.Bool
	hopped atomic.Bool
}

// maxHops bounds the hops noted: one per edge proxy.
const maxHops = 4096

// hopEntry is an edge proxy's hop: the certificate that named it, and its
// open flow (nil while it has none).
type hopEntry struct {
	peer [sha256.Size]byte
	flow *sipserve.Flow
}

// addHop notes f as the flow from the proxy whose Path starts with hop,
// unless another certificate named that hop first.
func (fl *Flows) addHop(hop string, peer *x509.Certificate, f *sipserve.Flow) {
	if hop == "" {
		return
	}
	id := sha256.Sum256(peer.Raw)
	fl.hopsMu.Lock()
	defer fl.hopsMu.Unlock()
	e := fl.hops[hop]
	switch {
	case e == nil && len(fl.hops) >= maxHops:
		return
	case e == nil:
		if fl.hops == nil {
			fl.hops = map[string]*hopEntry{}
		}
		fl.hops[hop] = &hopEntry{peer: id, flow: f}
	case e.peer == id:
		e.flow = f
	}
}

// hop returns an open flow from the proxy that added path, if any.
func (fl *Flows) hop(path []string) (*sipserve.Flow, bool) {
	if len(path) == 0 {
		return nil, false
	}
	hop := firstHop(path[0])
	fl.hopsMu.Lock()
	defer fl.hopsMu.Unlock()
	e := fl.hops[hop]
	if e == nil || e.flow == nil || chans.Closed(e.flow.Done()) {
		return nil, false
	}
	return e.flow, true
}

// firstHop is the host:port of the first URI of a Path value, in lower
// case; empty when it cannot be read.
func firstHop(path string) string {
	first, _, _ := strings.Cut(path, ",")
	var u sip.Uri
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(strings.TrimSpace(first), &u, &params); err != nil || u.Host == "" {
		return ""
	}
	hop := strings.ToLower(u.Host)
	if u.Port > 0 {
		hop += ":" + strconv.Itoa(u.Port)
	}
	return hop
}

func (fl *Flows) closed(id string) {
	fl.local.Delete(id)
	fl.hopsMu.Lock()
	for _, e := range fl.hops {
		if e.flow != nil && e.flow.ID() == id {
			e.flow = nil // the hop stays its certificate's
		}
	}
	fl.hopsMu.Unlock()
	if fl.Registry == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), flowRegistryTimeout)
	defer cancel()
	if err := fl.Registry.Down(ctx, id); err != nil {
		fl.logger().Warn("registrar: recording a closed flow failed", "flow", id, "error", err)
	}
}

func (fl *Flows) logger() *slog.Logger {
	if fl.Logger != nil {
		return fl.Logger
	}
	return slog.Default()
}

// Local returns the flow id when this node holds it open.
func (fl *Flows) Local(id string) (*sipserve.Flow, bool) {
	v, ok := fl.local.Load(id)
	if !ok {
		return nil, false
	}
	return v.(*localFlow).flow, true
}

// alive tells which of ids are open: this node's from memory, the others
// from the Registry.
func (fl *Flows) alive(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	var ask []string
	for _, id := range ids {
		if _, ok := fl.local.Load(id); ok {
			out[id] = true
		} else if fl.Registry != nil {
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	up, err := fl.Registry.Alive(ctx, ask)
	if err != nil {
		// What this node knows still holds: the others read as gone.
		fl.logger().Warn("registrar: reading the flows of the other nodes failed", "flows", len(ask), "error", err)
		return out, nil
	}
	for _, id := range ask {
		out[id] = up[id]
	}
	return out, nil
}

// Contact is a registered contact as a proxy or B2BUA routes a request to
// it: its binding, with whether the flow it registered on is open.
type Contact struct {
	// AOR is the address of record it is registered for.
	AOR string
	Binding
	// FlowUp is true while the connection of Binding.Flow is open, on this
	// node or (with a FlowRegistry) another; a contact without a flow
	// (registered over UDP) has it false.
	FlowUp bool
	// Local is true when this node holds the flow: Send can use it.
	Local bool
}

// Lookup returns the live contacts of aor (the key of Request.AOR:
// "rado", or "rado@example.com" with Domains) with their route set
// (Binding.Path, as the REGISTER carried it), instance, device, flow and
// expiry, from the Store. When the FlowRegistry cannot be read, the flows
// held by other nodes read as gone (and it is logged).
func (g *Registrar) Lookup(ctx context.Context, aor string) ([]Contact, error) {
	if g.Store == nil {
		return nil, errors.New("registrar: Lookup needs the Registrar's Store")
	}
	bs, err := g.Store.Lookup(ctx, aor)
	if err != nil {
		return nil, err
	}
	out := make([]Contact, len(bs))
	var ids []string
	for i, b := range bs {
		out[i] = Contact{AOR: aor, Binding: b}
		if b.Flow != "" {
			ids = append(ids, b.Flow)
		}
	}
	if len(ids) == 0 || g.Flows == nil {
		return out, nil
	}
	up, err := g.Flows.alive(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("registrar: the flows' state: %w", err)
	}
	for i := range out {
		if id := out[i].Flow; id != "" {
			_, out[i].Local = g.Flows.Local(id)
			out[i].FlowUp = up[id]
			if !out[i].FlowUp {
				// The edge proxy it came through holds another flow here.
				_, out[i].FlowUp = g.Flows.hop(out[i].Path)
				out[i].Local = out[i].FlowUp
			}
		}
	}
	return out, nil
}

// Errors of Send.
var (
	// ErrNoFlow: the contact registered over UDP, or through a server
	// that keeps no flows: there is no connection to reach it by.
	ErrNoFlow = errors.New("registrar: the contact has no flow to reach it by")
	// ErrFlowGone: its connection has closed; the client is unreachable
	// until it registers again (RFC 5626's 430 Flow Failed).
	ErrFlowGone = errors.New("registrar: the contact's flow has closed")
	// ErrFlowElsewhere: another node of the cluster holds its connection.
	ErrFlowElsewhere = errors.New("registrar: another node holds the contact's flow")
	// ErrContactBusy: MaxPendingPerContact requests to the contact wait
	// for their answers already.
	ErrContactBusy = errors.New("registrar: too many requests to the contact wait for their answers")
	// ErrMethod: Send carries non-INVITE requests only.
	ErrMethod = errors.New("registrar: Send carries non-INVITE requests (MESSAGE, NOTIFY, OPTIONS, INFO...); an INVITE needs a dialog")
)

// MaxPendingPerContact bounds the requests Send has sent to one contact
// and not had answered, so that a client that does not answer holds up
// no other on the same flow (an edge proxy's carries all its clients').
const MaxPendingPerContact = 8

// DefaultSendTimeout bounds Send when its context has no deadline: Timer
// F, 64*T1.
const DefaultSendTimeout = 32 * time.Second

// NewRequest returns a request of method for c, from the URI from: the
// Request-URI is the contact's URI, To the AOR (sip:<key>, with the
// contact's host when the key has no domain), and the route set c's Path
// (one Route per Path value, in order, RFC 3327 §5.4). Add a body and
// headers, then Send it.
func (c Contact) NewRequest(method sip.RequestMethod, from sip.Uri) (*sip.Request, error) {
	var target, to sip.Uri
	if err := sip.ParseUri(c.Contact, &target); err != nil {
		return nil, fmt.Errorf("registrar: contact %q: %w", c.Contact, err)
	}
	// The AOR is a key (AORRule): "rado", or "rado@example.com" with
	// Domains. Without a domain, To names the contact's host, as Jabber's
	// To names the node.
	aor := c.AOR
	if !strings.HasPrefix(aor, "sip:") && !strings.HasPrefix(aor, "sips:") {
		if !strings.Contains(aor, "@") {
			aor += "@" + target.Host
		}
		aor = "sip:" + aor
	}
	if err := sip.ParseUri(aor, &to); err != nil {
		return nil, fmt.Errorf("registrar: AOR %q: %w", c.AOR, err)
	}
	req := sip.NewRequest(method, target)
	for _, p := range c.Path {
		req.AppendHeader(sip.NewHeader("Route", p))
	}
	params := sip.NewParams()
	params.Add("tag", random(8))
	req.AppendHeader(&sip.FromHeader{Address: from, Params: params})
	req.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
	callID := sip.CallIDHeader(random(16))
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	return req, nil
}

// Send sends req, a non-INVITE request, to the registered contact c over
// the flow it registered on, which this node must hold (Contact.Local):
// directly to a client that registered on the OAuth port, or to the edge
// proxy whose Path the route set names, which relays it over the client's
// own connection. It adds this node's Via (with a new branch) on top of
// req, and Content-Length when it has none, and returns the final
// response; the wait ends with ctx, or DefaultSendTimeout. It must not be
// called from a Handler for the flow its own request came on.
func (g *Registrar) Send(ctx context.Context, c Contact, req *sip.Request) (*sip.Response, error) {
	switch {
	case req.IsInvite() || req.IsAck() || req.IsCancel():
		return nil, ErrMethod
	case c.Flow == "":
		return nil, ErrNoFlow
	}
	var f *sipserve.Flow
	if g.Flows != nil {
		f, _ = g.Flows.Local(c.Flow)
		if f == nil {
			f, _ = g.Flows.hop(c.Path)
		}
	}
	if f == nil {
		if c.FlowUp {
			return nil, ErrFlowElsewhere
		}
		return nil, ErrFlowGone
	}
	if !g.Flows.takePending(c) {
		return nil, ErrContactBusy
	}
	defer g.Flows.releasePending(c)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultSendTimeout)
		defer cancel()
	}
	if req.ContentLength() == nil {
		// A stream frames messages by it (RFC 3261 §18.3).
		req.SetBody(req.Body())
	}
	req.PrependHeader(viaOn(f))
	res, err := f.Request(ctx, req)
	if errors.Is(err, sipserve.ErrFlowClosed) {
		return nil, ErrFlowGone
	}
	return res, err
}

func pendingKey(c Contact) string { return c.Flow + "\x00" + c.Contact }

func (fl *Flows) takePending(c Contact) bool {
	fl.pendingMu.Lock()
	defer fl.pendingMu.Unlock()
	if fl.pending == nil {
		fl.pending = map[string]int{}
	}
	k := pendingKey(c)
	if fl.pending[k] >= MaxPendingPerContact {
		return false
	}
	fl.pending[k]++
	return true
}

func (fl *Flows) releasePending(c Contact) {
	fl.pendingMu.Lock()
	defer fl.pendingMu.Unlock()
	k := pendingKey(c)
	if fl.pending[k]--; fl.pending[k] <= 0 {
		delete(fl.pending, k)
	}
}

// viaOn is this node's Via for a request sent on f.
func viaOn(f *sipserve.Flow) *sip.ViaHeader {
	host, port := "127.0.0.1", 0
	if h, p, err := net.SplitHostPort(f.LocalAddr().String()); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	params := sip.NewParams()
	params.Add("branch", sip.RFC3261BranchMagicCookie+random(12))
	return &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: f.Transport(), Host: host, Port: port, Params: params}
}

// random returns n random bytes in hex.
func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
