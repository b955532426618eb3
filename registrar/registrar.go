package registrar

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/deadline"
	"github.com/sipoauth/sdk/internal/defaults"
	"github.com/sipoauth/sdk/internal/sipmsg"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
	"github.com/sipoauth/sdk/ucm"
)

// Role is what a listener is for; a request's role comes from the local
// address of the connection it arrived on.
type Role int

const (
	// RoleLegacy is 5060/5061: digest or certificate registration.
	RoleLegacy Role = iota
	// RoleOAuth is 5090: TLS without a client certificate, a bearer token.
	RoleOAuth
	// RoleEdge is 5091: mutual TLS from an authorized edge proxy.
	RoleEdge
)

var roleNames = [...]string{"legacy", "oauth", "edge"}

// String returns "legacy", "oauth" or "edge".
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// Ports maps local ports to roles; ports not listed are RoleLegacy.
type Ports map[int]Role

// defaultPorts is read only; DefaultPorts hands out copies.
var defaultPorts = DefaultPorts()

// DefaultPorts returns Unified CM's ports: 5060 and 5061 legacy, 5090
// OAuth, 5091 edge.
func DefaultPorts() Ports {
	return Ports{5060: RoleLegacy, 5061: RoleLegacy, 5090: RoleOAuth, 5091: RoleEdge}
}

// Role returns the role of a connection by its local address.
func (p Ports) Role(local net.Addr) Role {
	var port int
	switch a := local.(type) {
	case *net.TCPAddr:
		port = a.Port
	case *net.UDPAddr:
		port = a.Port
	default:
		if local != nil {
			if _, ps, err := net.SplitHostPort(local.String()); err == nil {
				port, _ = strconv.Atoi(ps)
			}
		}
	}
	return p[port]
}

// PeerInfo is what the registrar knows of the connection a request came
// on: the connection's addresses and TLS state, as package sipserve
// gives them.
type PeerInfo = sipserve.Peer

// PeerInfoFunc tells the registrar about a request's connection. The
// default, SipgoPeerInfo, asks sipgo; tests and other stacks supply their own.
type PeerInfoFunc func(req *sip.Request, tx sip.ServerTransaction) PeerInfo

// SipgoPeerInfo finds the connection through sipgo's server transaction
// (Connection() → *sip.TCPConnection → its net.Conn). A connection is TLS
// when it has a ConnectionState method, as *tls.Conn and the connections
// of siplimit's TLS listener do.
func SipgoPeerInfo(req *sip.Request, tx sip.ServerTransaction) PeerInfo {
	var p PeerInfo
	if st, ok := tx.(interface{ Connection() sip.Connection }); ok {
		if conn := st.Connection(); conn != nil {
			p.Local = conn.LocalAddr()
			if tc, ok := conn.(*sip.TCPConnection); ok {
				p.Remote = tc.RemoteAddr()
				if t, ok := tc.Conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
					cs := t.ConnectionState()
					p.TLS = &cs
				}
			}
		}
	}
	if p.Remote == nil {
		if a, err := net.ResolveUDPAddr("udp", req.Source()); err == nil {
			p.Remote = a
		}
	}
	return p
}

// Device is a registered phone or soft client.
type Device struct {
	Name  string `json:"name"`
	Owner string `json:"owner"` // the user who owns it
	// Lines are the addresses of record the device may register besides
	// its owner's own (see AORCheck): directory numbers such as "1001",
	// matched against the To URI's user part, or whole SIP URIs such as
	// "sip:1001@cluster.example.com", matched against the whole AOR.
	Lines []string `json:"lines,omitempty"`
	// OAuth is true when its security profile enables OAuth
	// (Enable OAuth Authentication).
	OAuth bool `json:"oauth"`
	// Digest is the device's SIP Digest secret, with which it may register
	// on the legacy role (DigestAuth); nil for none. Unified CM refuses
	// Digest for OAuth devices, and so does DigestAuth.
	Digest *DigestSecret `json:"digest,omitempty"`
}

// DigestSecret is what a DigestAuth checks a device's Digest response
// against: the password, or the HA1 values precomputed for the realm so
// that the device source need not hold the password itself.
type DigestSecret struct {
	// User is the digest user name the device authenticates as (the
	// Authorization header's username); the device's Owner when empty.
	User string `json:"user,omitempty"`
	// Password is the clear-text password; empty when HA1 values are given.
	Password string `json:"password,omitempty"`
	// HA1MD5 is hex MD5(user ":" realm ":" password), for algorithm MD5.
	HA1MD5 string `json:"ha1-md5,omitempty"`
	// HA1SHA256 is hex SHA-256(user ":" realm ":" password), for
	// algorithm SHA-256 (RFC 8760).
	HA1SHA256 string `json:"ha1-sha256,omitempty"`
}

// Devices finds devices by name. Implementations must be safe for
// concurrent use.
type Devices interface {
	// Device returns the named device, and false when there is none.
	Device(ctx context.Context, name string) (Device, bool, error)
}

// MemoryDevices is a Devices in a map, by name.
type MemoryDevices map[string]Device

// Device implements Devices.
func (m MemoryDevices) Device(_ context.Context, name string) (Device, bool, error) {
	d, ok := m[name]
	return d, ok, nil
}

// Request is a REGISTER on its way through the pipeline.
type Request struct {
	SIP  *sip.Request
	Peer PeerInfo
	Role Role
	// DeviceName is the Contact's +u.sip!devicename.ccm.cisco.com, or the
	// AOR's user part for other clients.
	DeviceName string
	// AOR is the To URI without parameters (sip:user@host).
	AOR      string
	Contacts []*sip.ContactHeader
	Device   Device
	Identity *sipoauth.Identity
	// Reason records why the request was answered as it was, for logs and
	// metrics.
	Reason sipauth.Reason
	// Err is the cause of a refusal that was not the client's fault (a
	// store or token-check backend that failed), for the log.
	Err error

	// Read once by parse, in one pass over the headers.
	authValues []string   // Proxy-Authorization and Authorization values
	expires    sip.Header // the Expires header, if any
	path       []string   // the Path header values, in order
	vias       int
	// sipgoTx: the request came through a sipgo server transaction, whose
	// transport gave it a resolved address that only sipgo's
	// NewResponseFromRequest reads (the destination of a UDP answer).
	sipgoTx bool
}

// Step is one stage of the pipeline: it returns a final response to stop
// the request there, or nil to pass it on.
type Step interface {
	Handle(ctx context.Context, r *Request) *sip.Response
}

// StepFunc adapts a function to Step.
type StepFunc func(ctx context.Context, r *Request) *sip.Response

// Handle implements Step.
func (f StepFunc) Handle(ctx context.Context, r *Request) *sip.Response { return f(ctx, r) }

// RetryAfterUnavailable is the Retry-After, in seconds, of the 503 sent
// when something the registrar depends on (the token check's key server
// or revocation list, the binding store, the device source) failed.
const RetryAfterUnavailable = 5

// unavailable answers a request that could not be served because a
// backend failed: 503 with Retry-After, the cause kept for the log.
func unavailable(r *Request, reason sipauth.Reason, err error) *sip.Response {
	r.Reason, r.Err = reason, err
	return respond(r, 503, "Service Unavailable", sip.NewHeader("Retry-After", strconv.Itoa(RetryAfterUnavailable)))
}

// respond builds a response to r with extra headers: with sipgo's
// NewResponseFromRequest for a request of a sipgo transaction, whose UDP
// answer goes where sipgo's transport resolved, else with less copying.
func respond(r *Request, code int, reason string, headers ...sip.Header) *sip.Response {
	var res *sip.Response
	if r.sipgoTx {
		res = sip.NewResponseFromRequest(r.SIP, code, reason, nil)
	} else {
		res = sipmsg.NewResponse(r.SIP, code, reason)
	}
	for _, h := range headers {
		res.AppendHeader(h)
	}
	return res
}

// ClusterSwitch is Unified CM's ClusterSIPOAuthMode: while it is off, the
// OAuth ports refuse registrations with the port-mismatch answer.
type ClusterSwitch struct {
	Enabled  *atomic.Bool
	Mismatch PortMismatch
}

// Handle implements Step.
func (s ClusterSwitch) Handle(_ context.Context, r *Request) *sip.Response {
	if r.Role != RoleLegacy && (s.Enabled == nil || !s.Enabled.Load()) {
		r.Reason = sipauth.OAuthDisabled
		return s.Mismatch.response(r)
	}
	return nil
}

// DeviceLookup finds the device the REGISTER is for.
type DeviceLookup struct{ Devices Devices }

// Handle implements Step.
func (s DeviceLookup) Handle(ctx context.Context, r *Request) *sip.Response {
	d, ok, err := s.Devices.Device(ctx, r.DeviceName)
	if err != nil {
		return unavailable(r, sipauth.DevicesUnavailable, err)
	}
	if !ok {
		r.Reason = sipauth.UnknownDevice
		return respond(r, 404, "Not Found")
	}
	r.Device = d
	return nil
}

// PortMismatch is Unified CM's answer to a registration on the wrong port
// or over the wrong kind of connection:
//
//	SIP/2.0 403 Forbidden
//	Retry-After: 35
//	Warning: 399 UCM2-PUB "SIP OAuth Registration port Mismatch"
type PortMismatch struct {
	NodeName   string
	RetryAfter int // seconds; ucm.PortMismatchRetryAfter when 0
}

func (m PortMismatch) response(r *Request) *sip.Response {
	ra := m.RetryAfter
	if ra == 0 {
		ra = int(ucm.PortMismatchRetryAfter / time.Second)
	}
	return respond(r, 403, "Forbidden",
		sip.NewHeader("Retry-After", strconv.Itoa(ra)),
		sip.NewHeader("Warning", ucm.PortMismatchWarning(m.NodeName).String()))
}

// PortCheck refuses a device on a port its profile or the connection does
// not allow: an OAuth device off the OAuth ports, a device without OAuth
// on them, mutual TLS or proxied traffic on 5090 (the edge proxy belongs
// on 5091), no verified client certificate on 5091.
type PortCheck struct {
	Mismatch PortMismatch
	// EdgeAuthorizer is asked again on every REGISTER of the edge role,
	// with the connection's verified peer, so that an edge proxy removed
	// from the table stops registering on the connections it already
	// holds, not just on new ones (edgetable.Authorize reads the
	// table at each call). Nil refuses every REGISTER on the edge role.
	EdgeAuthorizer mtlstrust.Authorizer
	// AllowPlaintext accepts OAuth registrations over plain TCP or UDP, for
	// load tests with tools that cannot speak TLS. Never in production:
	// tokens then cross the network in the clear.
	AllowPlaintext bool
}

// Handle implements Step.
func (s PortCheck) Handle(_ context.Context, r *Request) *sip.Response {
	if s.AllowPlaintext && r.Peer.TLS == nil && r.Role == RoleOAuth && r.Device.OAuth {
		return nil
	}
	switch {
	case r.Role != RoleLegacy && !r.Device.OAuth:
		r.Reason = sipauth.ProfileWithoutOAuth
	case r.Role == RoleLegacy && r.Device.OAuth:
		r.Reason = sipauth.OAuthDeviceOnLegacy
	case r.Role != RoleLegacy && r.Peer.TLS == nil:
		r.Reason = sipauth.NotTLS
	case r.Role == RoleOAuth && len(r.Peer.TLS.PeerCertificates) > 0:
		r.Reason = sipauth.MTLSOnOAuthPort
	case r.Role == RoleOAuth && r.vias > 1:
		// A proxied REGISTER: edge-proxy traffic belongs on the MRA port.
		r.Reason = sipauth.ProxiedOnOAuthPort
	case r.Role == RoleEdge && len(r.Peer.TLS.VerifiedChains) == 0:
		r.Reason = sipauth.NoEdgeCertificate
	case r.Role == RoleEdge && s.EdgeAuthorizer == nil:
		r.Reason = sipauth.NoEdgeAuthorizer
		return respond(r, 403, "Forbidden")
	case r.Role == RoleEdge:
		if err := mtlstrust.AuthorizeConnection(s.EdgeAuthorizer, r.Peer.TLS); err != nil {
			r.Reason, r.Err = sipauth.EdgeNotAuthorized, err
			return respond(r, 403, "Forbidden")
		}
		return nil
	default:
		return nil
	}
	return s.Mismatch.response(r)
}

// Authenticator authenticates a REGISTER. It returns the identity, or a
// final response: a challenge, or a refusal.
type Authenticator interface {
	Authenticate(ctx context.Context, r *Request) (*sipoauth.Identity, *sip.Response)
}

// BearerAuth is the Authenticator of the OAuth and edge roles: the shared
// bearer step (sipauth.Bearer) on the request's credentials, for the
// device it names and its From user. Its Reason and, for a failed check,
// the validator's error are recorded on the Request.
type BearerAuth struct {
	*sipauth.Bearer
}

// Authenticate implements Authenticator.
func (a BearerAuth) Authenticate(ctx context.Context, r *Request) (*sipoauth.Identity, *sip.Response) {
	v := a.Bearer.Authenticate(ctx, r.authValues, sipoauth.Request{Device: r.DeviceName, FromUser: fromUser(r.SIP)})
	if v.Accepted() {
		return v.Identity, nil
	}
	r.Reason, r.Err = v.Reason, v.Err
	return nil, v.Complete(respond(r, v.Status, v.Phrase))
}

func fromUser(req *sip.Request) string {
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}

// Authenticate is the authentication step: the Authenticator for the
// request's role (OAuth and edge ports use Bearer; the legacy port
// DigestAuth, or nothing). It fails closed: a role without an
// Authenticator refuses every REGISTER with 403, and so does an
// Authenticator that returns neither an identity nor a response.
type Authenticate struct {
	ByRole map[Role]Authenticator
}

// Handle implements Step.
func (s Authenticate) Handle(ctx context.Context, r *Request) *sip.Response {
	a, ok := s.ByRole[r.Role]
	if !ok || a == nil {
		r.Reason = sipauth.NoAuthenticator
		return respond(r, 403, "Forbidden: no authentication on this port")
	}
	id, res := a.Authenticate(ctx, r)
	if res != nil {
		return res
	}
	if id == nil {
		r.Reason = sipauth.Unauthenticated
		return respond(r, 403, "Forbidden")
	}
	r.Identity = id
	return nil
}

// InsecureNoAuthentication is an Authenticator that authenticates nobody
// and lets everybody in: every REGISTER is taken as coming from the owner
// of the device it names. Anyone who can reach the port can then take
// over any device's registrations. It exists for labs that have no
// credentials for their legacy devices; never give it a port reachable
// from a network you do not control.
type InsecureNoAuthentication struct{}

// Authenticate implements Authenticator.
func (InsecureNoAuthentication) Authenticate(_ context.Context, r *Request) (*sipoauth.Identity, *sip.Response) {
	return &sipoauth.Identity{User: r.Device.Owner}, nil
}

// OwnerBinding refuses a request whose authenticated user does not own
// the device (sipoauth.SameUser), or that no earlier step authenticated.
type OwnerBinding struct{}

// Handle implements Step.
func (OwnerBinding) Handle(_ context.Context, r *Request) *sip.Response {
	if r.Identity != nil && sipoauth.SameUser(r.Identity.User, r.Device.Owner) {
		return nil
	}
	r.Reason = sipauth.NotOwner
	return respond(r, 403, "Forbidden")
}

// Registrar handles REGISTER requests for a sipgo server: parse, then the
// pipeline, then the answer.
type Registrar struct {
	Pipeline []Step
	Ports    Ports
	PeerInfo PeerInfoFunc
	Logger   *slog.Logger
	// Observer, if set, is told the outcome of each REGISTER (metrics),
	// just before the answer is sent.
	Observer Observer
	// Admit, if set, may refuse a request before any work (rate limits);
	// it returns a response to send instead.
	Admit func(r *Request) *sip.Response
	// AOR turns the To URI into the key of the bindings (Request.AOR).
	AOR AORRule
	// Timeout bounds the work on one REGISTER in HandleRegister: a store
	// or token-check backend that hangs gets the request a 503 within it,
	// not a silence the client's transaction times out on (Timer F,
	// 32 s). DefaultTimeout when 0.
	Timeout time.Duration
	// Store holds the bindings, for Lookup (New sets it to the Bind
	// step's).
	Store Store
	// Flows are the connections this node's bindings came on, for Lookup
	// and Send (New sets it; Bind records them).
	Flows *Flows

	outages outages
}

// outages are the failures of the services a registrar depends on (a
// store, a device source, a key source) that it logged: an outage is
// logged once when it starts and once when a REGISTER succeeds again,
// with how many were refused meanwhile, not once per REGISTER.
type outages struct {
	any     atomic.Bool
	mu      sync.Mutex
	refused map[sipauth.Reason]int
}

// failed logs the first failure of r's kind since the last success.
func (o *outages) failed(log *slog.Logger, r *Request, status int) {
	o.mu.Lock()
	if o.refused == nil {
		o.refused = map[sipauth.Reason]int{}
	}
	n, logged := o.refused[r.Reason]
	o.refused[r.Reason] = n + 1
	o.any.Store(true)
	o.mu.Unlock()
	if !logged {
		log.Warn("register: a service the registrar depends on failed; its next failures are counted, not logged, until a REGISTER succeeds",
			"status", status, "reason", r.Reason, "error", r.Err, "device", r.DeviceName, "source", addrString(r.Peer.Remote))
	}
}

// succeeded ends the outages logged: a REGISTER got past every service.
func (o *outages) succeeded(log *slog.Logger) {
	if !o.any.Load() {
		return
	}
	o.mu.Lock()
	refused := o.refused
	o.refused = nil
	o.any.Store(false)
	o.mu.Unlock()
	for reason, n := range refused {
		log.Warn("register: registrations succeed again", "reason", reason, "refused", n)
	}
}

// Observer is told what the registrar did, for metrics: package
// prommetrics has one for Prometheus, or plug in your own. It is called
// from the goroutine that answers, before the answer leaves, and must
// not block.
type Observer interface {
	// ObserveRegister is told the outcome of a REGISTER: the request with
	// its Reason, the status answered, and the time the registrar took.
	ObserveRegister(r *Request, status int, elapsed time.Duration)
}

// ValidationObserver is an Observer that also wants the time of each
// token validation; New gives it to the bearer step.
type ValidationObserver interface {
	Observer
	ObserveValidation(elapsed time.Duration)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(r *Request, status int, elapsed time.Duration)

// ObserveRegister implements Observer.
func (f ObserverFunc) ObserveRegister(r *Request, status int, elapsed time.Duration) {
	f(r, status, elapsed)
}

// DefaultTimeout is Registrar.Timeout when none is set: well within a
// SIP client's 32 s transaction timeout, and long enough for a Redis or
// key server round trip on a slow day.
const DefaultTimeout = 5 * time.Second

// HandleRegister is a sipgo RequestHandler: srv.OnRegister(reg.HandleRegister).
// It finds the request's connection with PeerInfo (SipgoPeerInfo when
// nil) and answers as ServeSIP does.
func (g *Registrar) HandleRegister(req *sip.Request, tx sip.ServerTransaction) {
	res := g.serveSIP(context.Background(), req, g.peerInfo(req, tx), true)
	if err := tx.Respond(res); err != nil && g.Logger != nil {
		g.Logger.Warn("register: respond", "error", err)
	}
}

// ServeSIP answers a REGISTER that came over the connection peer
// describes: a sipserve.Handler, for a sipserve.Server's REGISTER
// method. The work is bounded by Timeout, within ctx; the Observer is
// told the outcome, and the Logger gets a line at Info (and one at Warn
// when a backend failed). Its answers share the request's headers and
// have the request's source as their destination, as sipserve sends
// them; a request of a sipgo server transaction goes to HandleRegister
// or Serve, whose answers are sipgo's (over UDP, to the Via's port).
func (g *Registrar) ServeSIP(ctx context.Context, req *sip.Request, peer PeerInfo) *sip.Response {
	return g.serveSIP(ctx, req, peer, false)
}

// serveSIP is ServeSIP, for a request of a sipgo transaction when sipgoTx
// is true.
func (g *Registrar) serveSIP(ctx context.Context, req *sip.Request, peer PeerInfo, sipgoTx bool) *sip.Response {
	start := time.Now()
	// A timer only if a step waits on the context (a backend's round
	// trip): most REGISTERs do not.
	dctx := deadline.New(ctx, defaults.Positive(g.Timeout, DefaultTimeout))
	res, r := g.serve(dctx, req, peer, sipgoTx)
	dctx.Release()
	// Observed before the answer leaves: a client that has its answer
	// finds it counted.
	if g.Observer != nil {
		g.Observer.ObserveRegister(r, res.StatusCode, time.Since(start))
	}
	if g.Logger != nil {
		switch {
		case r.Err != nil && res.StatusCode >= 500:
			g.outages.failed(g.Logger, r, res.StatusCode)
		case res.StatusCode >= 200 && res.StatusCode < 300:
			g.outages.succeeded(g.Logger)
		}
		if g.Logger.Enabled(ctx, slog.LevelInfo) {
			g.Logger.Info("register", "status", res.StatusCode, "reason", r.Reason, "role", r.Role.String(),
				"device", r.DeviceName, "aor", r.AOR, "user", userOf(r), "source", addrString(r.Peer.Remote))
		}
	}
	return res
}

func userOf(r *Request) string {
	if r.Identity != nil {
		return r.Identity.User
	}
	return ""
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// Serve runs a REGISTER through the pipeline and returns the answer; it
// finds the request's connection as HandleRegister does.
func (g *Registrar) Serve(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) (*sip.Response, *Request) {
	return g.serve(ctx, req, g.peerInfo(req, tx), true)
}

// peerInfo finds a request's connection through PeerInfo.
func (g *Registrar) peerInfo(req *sip.Request, tx sip.ServerTransaction) PeerInfo {
	if g.PeerInfo == nil {
		return SipgoPeerInfo(req, tx)
	}
	return g.PeerInfo(req, tx)
}

func (g *Registrar) serve(ctx context.Context, req *sip.Request, peer PeerInfo, sipgoTx bool) (*sip.Response, *Request) {
	r := &Request{SIP: req, Peer: peer, sipgoTx: sipgoTx}
	if g.Ports != nil {
		r.Role = g.Ports.Role(r.Peer.Local)
	} else {
		r.Role = defaultPorts.Role(r.Peer.Local)
	}
	if g.Admit != nil {
		if res := g.Admit(r); res != nil {
			return res, r
		}
	}
	if res := parse(r, g.AOR); res != nil {
		return res, r
	}
	for _, s := range g.Pipeline {
		if res := s.Handle(ctx, r); res != nil {
			return res, r
		}
	}
	r.Reason = sipauth.Internal
	return respond(r, 500, "Server Internal Error: no step answered"), r
}

// Limits of a REGISTER the registrar accepts.
const (
	maxContacts    = 32
	maxHeaderBytes = 8 << 10
	// maxPath and maxPathBytes bound the Path headers, kept with each
	// binding: one per proxy between the client and the node, an edge
	// proxy and perhaps an SBC, some 100 bytes each.
	maxPath      = 8
	maxPathBytes = 2 << 10
)

// parse reads what the pipeline needs, refusing malformed REGISTERs with
// a 400-class answer.
func parse(r *Request, rule AORRule) *sip.Response {
	req := r.SIP
	// One pass over the headers: sipgo's lookups by name lower-case the
	// name on every call. The raw headers the pipeline reads are bounded
	// here, contacts when their binding is made; others only pass through
	// sipgo, whose parser bounds the message.
	// Over UDP, the bytes an answer copies from the request, counted as
	// the headers write themselves: sipgo builds a parsed header's value
	// anew at each Value.
	udp := r.overUDP()
	var echo byteCount // the header lines written as they are, without a string
	pathBytes := 0
	for _, h := range req.Headers() {
		name := h.Name()
		switch {
		case strings.EqualFold(name, "Via"), strings.EqualFold(name, "v"):
			r.vias++
			if udp {
				h.StringWrite(&echo)
				echo += 2
			}
			continue
		case udp && isEchoed(name):
			h.StringWrite(&echo)
			echo += 2
			continue
		case strings.EqualFold(name, "Contact"), strings.EqualFold(name, "m"):
			c, ok := h.(*sip.ContactHeader)
			if !ok {
				r.Reason = sipauth.BadContact
				return respond(r, 400, "Bad Request: bad Contact")
			}
			r.Contacts = append(r.Contacts, c)
			continue // bounded when its binding is made
		case strings.EqualFold(name, "Proxy-Authorization"), strings.EqualFold(name, "Authorization"):
			r.authValues = append(r.authValues, h.Value())
			continue // bounded below, as the bearer step bounds them
		case strings.EqualFold(name, "Expires"):
			if r.expires != nil {
				r.Reason = sipauth.BadExpires
				return respond(r, 400, "Bad Request: more than one Expires")
			}
			r.expires = h
		case strings.EqualFold(name, "Path"):
			if udp {
				h.StringWrite(&echo) // echoed in the 200 OK
				echo += 2
			}
			r.path = append(r.path, h.Value())
			pathBytes += len(h.Value())
			if len(r.path) > maxPath || pathBytes > maxPathBytes {
				r.Reason = sipauth.OversizedHeader
				return respond(r, 400, "Bad Request: Path too long")
			}
			continue
		default:
			continue
		}
		if len(h.Value()) > maxHeaderBytes {
			r.Reason = sipauth.OversizedHeader
			return respond(r, 400, "Bad Request: header "+name+" too long")
		}
	}
	if v, ok := sipauth.CheckSize(r.authValues, 0); !ok {
		r.Reason = v.Reason
		return v.Complete(respond(r, v.Status, v.Phrase))
	}
	// Path (RFC 3327) is a proxy's: taken where one stands between the
	// client and the node (the edge role; the legacy role when a proxy's
	// Via is on the request), refused where the client connected by itself
	// (the OAuth role, or one Via), for there a Path could only be the
	// client's own making, routing the node's requests wherever it likes.
	if len(r.path) > 0 && (r.Role == RoleOAuth || (r.Role == RoleLegacy && r.vias < 2)) {
		r.Reason = sipauth.PathNotAllowed
		return respond(r, 403, "Forbidden: Path on a port clients reach directly")
	}
	// Every answer echoes Via, From, To, Call-ID and CSeq: over UDP, a
	// request whose echo leaves no room for a challenge or the contacts in
	// MaxUDPResponse could not learn its outcome, so it changes nothing.
	// (RFC 3261 §18.1.1 sends such requests over TCP.)
	if int(echo) > MaxUDPResponse-udpHeadroom {
		r.Reason = sipauth.UDPAnswerTooLarge
		return respond(r, 513, "Message Too Large")
	}
	to := req.To()
	if to == nil || to.Address.Host == "" {
		r.Reason = sipauth.BadTo
		return respond(r, 400, "Bad Request: missing or bad To")
	}
	if req.From() == nil {
		r.Reason = sipauth.BadFrom
		return respond(r, 400, "Bad Request: missing or bad From")
	}
	cseq := req.CSeq()
	if req.CallID() == nil || cseq == nil {
		r.Reason = sipauth.BadCallIDOrCSeq
		return respond(r, 400, "Bad Request: missing Call-ID or CSeq")
	}
	// RFC 3261 §8.1.1.5: the sequence number is below 2**31, the method
	// the request's own.
	if cseq.MethodName != sip.REGISTER || cseq.SeqNo >= 1<<31 {
		r.Reason = sipauth.BadCSeq
		return respond(r, 400, "Bad Request: bad CSeq")
	}
	aor, err := rule.Key(to.Address)
	switch {
	case errors.Is(err, ErrDomainNotServed):
		r.Reason = sipauth.DomainNotServed
		return respond(r, 403, "Forbidden: domain not served here")
	case err != nil:
		r.Reason = sipauth.BadTo
		return respond(r, 400, "Bad Request: bad address of record in To")
	}
	r.AOR = aor
	if len(r.Contacts) > maxContacts {
		r.Reason = sipauth.TooManyContacts
		return respond(r, 400, "Bad Request: too many contacts")
	}
	if len(r.Contacts) == 0 && r.expires == nil {
		// A query (RFC 3261 §10.2.3) is answered with the bindings; a
		// REGISTER that neither queries nor changes anything is refused.
		r.DeviceName = to.Address.User
		return nil
	}
	name, ok := sipauth.DeviceName(r.Contacts, to.Address.User)
	if !ok {
		r.Reason = sipauth.SeveralDevices
		return respond(r, 400, "Bad Request: contacts name different devices")
	}
	r.DeviceName = name
	return nil
}

// Bind is the final step: RFC 3261 §10.3 on the Store, and the 200 OK.
type Bind struct {
	Store Store
	// DefaultExpires applies when the request names none; 3600 when 0.
	DefaultExpires time.Duration
	// MaxExpires caps what clients ask for; Unified CM grants 120 s to a
	// request for 3600. 120 s when 0.
	MaxExpires time.Duration
	// MinExpires refuses shorter requests with 423 Interval Too Brief;
	// 60 s when 0.
	MinExpires time.Duration
	// MaxBindings is the most contacts one address of record may hold;
	// DefaultMaxBindings when 0. MaxDeviceBindings is the most one device
	// may hold in it; DefaultMaxDeviceBindings when 0. A REGISTER that
	// would add one more is refused as Kamailio refuses it: 503 Service
	// Unavailable, with Retry-After until the first binding counted
	// expires and Warning: 399 <node> "Too many registered contacts".
	MaxBindings, MaxDeviceBindings int
	// NodeName names the node in the Warning of that refusal.
	NodeName string
	Now      func() time.Time
	// Flows, if set, keeps the connection of each registration that came
	// over TCP or TLS, for requests back to the client.
	Flows *Flows
}

// Bind's limits of contacts when none are set. A soft client holds one
// binding per device, two for a moment when it moves to a new connection;
// a line shared by a few devices needs a few. Three per device keeps one
// device of a shared line from taking all ten places.
const (
	DefaultMaxBindings       = 10
	DefaultMaxDeviceBindings = 3
)

// MaxUDPResponse is the largest answer sent over UDP, in bytes: RFC 3261
// §18.1.1's 1300 bytes for an unknown path MTU, which is also what sipgo
// will write in one datagram. A 200 OK that lists more bindings than fit
// lists the request's own first and leaves out the rest; a request whose
// echoed headers alone leave less than udpHeadroom is refused unchanged.
const MaxUDPResponse = 1300

// udpHeadroom is the room a UDP answer keeps beyond the headers it echoes:
// enough for two Digest challenges, or a Warning and a Retry-After.
const udpHeadroom = 400

// byteCount counts the bytes written to it: the size of a message or
// header without making its string.
type byteCount int

// WriteString implements io.StringWriter.
func (c *byteCount) WriteString(s string) (int, error) {
	*c += byteCount(len(s))
	return len(s), nil
}

// isEchoed reports whether a header named name is copied into every
// answer, besides Via (RFC 3261 §8.2.6.2): From, To, Call-ID, CSeq, in
// their full or compact forms.
func isEchoed(name string) bool {
	for _, n := range [...]string{"From", "f", "To", "t", "Call-ID", "i", "CSeq"} {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// overUDP reports whether r came over UDP, so that its answer must fit in
// a datagram.
func (r *Request) overUDP() bool {
	_, udp := r.Peer.Remote.(*net.UDPAddr)
	return udp && r.Peer.TLS == nil
}

// Handle implements Step.
func (s Bind) Handle(ctx context.Context, r *Request) *sip.Response {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	def, maxE, minE := defaults.Positive(s.DefaultExpires, time.Hour), defaults.Positive(s.MaxExpires, 120*time.Second), defaults.Positive(s.MinExpires, 60*time.Second)
	headerExpires := time.Duration(-1)
	if h := r.expires; h != nil {
		n, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			r.Reason = sipauth.BadExpires
			return respond(r, 400, "Bad Request: bad Expires")
		}
		headerExpires = time.Duration(n) * time.Second
	}
	maxB, maxD := defaults.Positive(s.MaxBindings, DefaultMaxBindings), defaults.Positive(s.MaxDeviceBindings, DefaultMaxDeviceBindings)
	if len(r.path) > 0 {
		// One copy for every binding of the request, kept apart from the
		// request's memory.
		p := make([]string, len(r.path))
		for i, v := range r.path {
			p[i] = strings.Clone(v)
		}
		r.path = p
	}
	u := Update{Now: now, CallID: r.SIP.CallID().Value(), CSeq: r.SIP.CSeq().SeqNo, Device: r.DeviceName,
		MaxBindings: maxB, MaxDeviceBindings: maxD}
	u.Branch, _ = sipmsg.Branch(r.SIP)
	if len(r.Contacts) == 0 {
		bs, err := s.Store.Lookup(ctx, r.AOR)
		if err != nil {
			return unavailable(r, sipauth.StoreUnavailable, err)
		}
		return s.ok(r, Result{Bindings: bs}, now, -1)
	}
	granted := time.Duration(-1)
	for _, c := range r.Contacts {
		if c.Address.Wildcard {
			if len(r.Contacts) != 1 || headerExpires != 0 {
				r.Reason = sipauth.BadWildcard
				return respond(r, 400, "Bad Request: Contact * needs Expires: 0 and no other contact")
			}
			u.RemoveAll = true
			break
		}
		exp := headerExpires
		if v, ok := param(c.Params, "expires"); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				r.Reason = sipauth.BadExpires
				return respond(r, 400, "Bad Request: bad expires parameter")
			}
			exp = time.Duration(n) * time.Second
		}
		if exp < 0 {
			exp = def
		}
		if exp > 0 && exp < minE {
			r.Reason = sipauth.IntervalTooBrief
			return respond(r, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.Itoa(int(minE/time.Second))))
		}
		exp = min(exp, maxE)
		if granted < 0 {
			granted = exp
		}
		b := bindingOf(r, c)
		if len(b.Contact)+len(b.Params) > maxHeaderBytes {
			r.Reason = sipauth.OversizedHeader
			return respond(r, 400, "Bad Request: header Contact too long")
		}
		u.Changes = append(u.Changes, Change{Binding: b, Expires: exp})
	}
	res, err := s.Store.Update(ctx, r.AOR, u)
	var tooMany *TooManyBindingsError
	switch {
	case errors.Is(err, ErrOutOfOrder):
		r.Reason = sipauth.OutOfOrder
		return respond(r, 500, "Server Internal Error: out of order")
	case errors.As(err, &tooMany):
		r.Reason = sipauth.TooManyBindings
		ra := max(1, int((tooMany.RetryAfter+time.Second-1)/time.Second))
		return respond(r, 503, "Service Unavailable", sip.NewHeader("Retry-After", strconv.Itoa(ra)),
			sip.NewHeader("Warning", ucm.Warning{Code: ucm.WarnCode, Agent: s.NodeName, Text: "Too many registered contacts"}.String()))
	case err != nil:
		return unavailable(r, sipauth.StoreUnavailable, err)
	}
	r.Reason = sipauth.Registered
	if u.RemoveAll || granted == 0 {
		r.Reason = sipauth.Unregistered
	} else if s.Flows != nil && r.Peer.Flow != nil {
		edgePath, peer := "", (*x509.Certificate)(nil)
		if r.Role == RoleEdge && len(r.path) > 0 && r.Peer.TLS != nil && len(r.Peer.TLS.PeerCertificates) > 0 {
			edgePath, peer = r.path[0], r.Peer.TLS.PeerCertificates[0]
		}
		s.Flows.add(ctx, r.Peer.Flow, edgePath, peer)
	}
	return s.ok(r, res, now, granted)
}

// bindingOf makes the binding of one Contact, keeping its parameters
// (but expires) to echo them.
func bindingOf(r *Request, c *sip.ContactHeader) Binding {
	b := Binding{Contact: canonicalContact(c.Address), Device: r.DeviceName, Source: addrString(r.Peer.Remote), Path: r.path}
	if r.Peer.Flow != nil {
		b.Flow = r.Peer.Flow.ID()
	}
	if r.Identity != nil {
		b.User = r.Identity.User
	}
	var params []string
	for _, kv := range c.Params {
		switch strings.ToLower(kv.K) {
		case "expires", ucm.NewRegParam:
			continue
		case "+sip.instance":
			b.Instance = kv.V
		case "reg-id":
			b.RegID, _ = strconv.Atoi(kv.V)
		}
		if kv.V == "" {
			params = append(params, kv.K)
		} else {
			params = append(params, kv.K+"="+kv.V)
		}
	}
	b.Params = strings.Join(params, ";")
	return b
}

// param returns the value of the header or URI parameter name, whose
// names compare case-insensitively (RFC 3261 §7.3.1).
func param(ps sip.HeaderParams, name string) (string, bool) {
	for _, kv := range ps {
		if strings.EqualFold(kv.K, name) {
			return kv.V, true
		}
	}
	return "", false
}

// canonicalContact writes a contact URI so that the spellings RFC 3261
// §19.1.4 calls equal are one binding: the scheme, the host and the
// parameter names in lower case, and the values of the parameters
// compared case-insensitively (transport, user, method, maddr) too. The
// user part stays as written: it is case-sensitive.
func canonicalContact(u sip.Uri) string {
	if isCanonical(u) {
		return u.String()
	}
	c := u
	c.Scheme = strings.ToLower(c.Scheme)
	c.Host = strings.ToLower(c.Host)
	if len(u.UriParams) > 0 {
		c.UriParams = make(sip.HeaderParams, len(u.UriParams))
		for i, kv := range u.UriParams {
			k := strings.ToLower(kv.K)
			v := kv.V
			switch k {
			case "transport", "user", "method", "maddr":
				v = strings.ToLower(v)
			}
			c.UriParams[i] = sip.HeaderKV{K: k, V: v}
		}
	}
	return c.String()
}

// isCanonical reports whether canonicalContact would leave u as it is, as
// clients mostly write their contacts.
func isCanonical(u sip.Uri) bool {
	lower := func(s string) bool { return strings.ToLower(s) == s }
	if !lower(u.Scheme) || !lower(u.Host) {
		return false
	}
	for _, kv := range u.UriParams {
		switch {
		case !lower(kv.K):
			return false
		case kv.K == "transport" || kv.K == "user" || kv.K == "method" || kv.K == "maddr":
			if !lower(kv.V) {
				return false
			}
		}
	}
	return true
}

// ok is the 200 OK: every current binding with its remaining time, the new
// ones marked ;x-cisco-newreg, and Expires with what this request got.
// Over UDP the answer stays within MaxUDPResponse: the request's own
// device's bindings come first, and those that no longer fit are left out.
func (s Bind) ok(r *Request, res Result, now time.Time, granted time.Duration) *sip.Response {
	resp := respond(r, 200, "OK")
	// RFC 3327 §5.3: the Path values as received, in order.
	for _, p := range r.path {
		resp.AppendHeader(sip.NewHeader("Path", p))
	}
	resp.AppendHeader(supportedPath)
	if granted >= 0 {
		resp.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(granted/time.Second))))
	}
	contact := func(b Binding) string {
		var v strings.Builder
		v.WriteString("<" + b.Contact + ">")
		if b.Params != "" {
			v.WriteString(";" + b.Params)
		}
		fmt.Fprintf(&v, ";expires=%d", int(b.Expires.Sub(now).Round(time.Second)/time.Second))
		if res.New[b.Contact] && b.Device == r.DeviceName {
			v.WriteString(";" + ucm.NewRegParam)
		}
		return v.String()
	}
	if !r.overUDP() {
		for _, b := range res.Bindings {
			resp.AppendHeader(sip.NewHeader("Contact", contact(b)))
		}
		return resp
	}
	var size byteCount
	resp.StringWrite(&size)
	room := MaxUDPResponse - int(size)
	for _, own := range [...]bool{true, false} {
		for _, b := range res.Bindings {
			if (b.Device == r.DeviceName) != own {
				continue
			}
			v := contact(b)
			if n := len("Contact: ") + len(v) + len("\r\n"); n <= room {
				resp.AppendHeader(sip.NewHeader("Contact", v))
				room -= n
			}
		}
	}
	return resp
}

// supportedPath advertises RFC 3327 in each 200 OK.
var supportedPath = sip.NewHeader("Supported", "path")

// Config builds the default pipeline.
type Config struct {
	// NodeName is this node's name in the port-mismatch Warning, e.g. "UCM2-PUB".
	NodeName string
	// OAuthEnabled is the cluster switch; nil means on.
	OAuthEnabled *atomic.Bool
	Devices      Devices
	// Validator checks the bearer tokens of the OAuth and edge roles
	// (a *sipoauth.Validator, or your own).
	Validator sipoauth.TokenValidator
	Store     Store // NewMemoryStore() when nil
	// Mode and Challenge: the bearer challenge's dialect, and the
	// challenge (see sipauth.Bearer).
	Mode      sipauth.ChallengeMode
	Challenge bearer.Challenge
	// Ports gives each local port its role: RoleOAuth for the port
	// clients reach with a token (5090), RoleEdge for the edge proxies'
	// (5091); a port not listed is RoleLegacy. DefaultPorts() when nil,
	// so a listener on another port (an ephemeral one, in a test) must be
	// listed, or its OAuth REGISTERs get the port mismatch.
	Ports Ports
	// EdgeAuthorizer decides, on every REGISTER of the edge role, whether
	// the edge proxy at the other end of the connection is still allowed:
	// give it the authorizer of the edge port's TLS configuration
	// (edgetable.Authorize(table)), so that removing a proxy from the
	// table also stops the connections it holds. Nil refuses every
	// REGISTER on the edge role.
	EdgeAuthorizer mtlstrust.Authorizer
	// Legacy authenticates the legacy role (5060/5061), for devices
	// without OAuth: a *DigestAuth, or an Authenticator of your own. Nil
	// refuses every REGISTER on the legacy role with 403.
	Legacy Authenticator
	// InsecureLegacyWithoutAuthentication lets devices without OAuth
	// register on the legacy role with no credentials at all
	// (InsecureNoAuthentication), for labs only: anyone who reaches the
	// port can then take over their registrations. New logs a loud
	// warning. It is refused together with Legacy.
	InsecureLegacyWithoutAuthentication bool
	// Domains are the domains this registrar serves; see AORRule.
	Domains []string
	// MaxExpires, MinExpires, DefaultExpires, MaxBindings: see Bind.
	MaxExpires, MinExpires, DefaultExpires time.Duration
	MaxBindings, MaxDeviceBindings         int
	// Timeout: see Registrar.Timeout.
	Timeout time.Duration
	// MaxValidations bounds concurrent token validations; 0 is unbounded.
	MaxValidations int
	// PlaintextForLoadTests lets the OAuth role accept plain TCP and UDP
	// (give the plaintext port RoleOAuth in Ports), for SIPp, which speaks
	// no TLS. New logs a loud warning: tokens cross the network in clear.
	PlaintextForLoadTests bool
	Logger                *slog.Logger
	PeerInfo              PeerInfoFunc
	// Observer, if set, is told the outcome of every REGISTER and, if it
	// is a ValidationObserver, the time of every token validation
	// (prommetrics.NewRegistrar counts them for Prometheus).
	Observer Observer
	// FlowRegistry, if set, shares which flows are open with the other
	// nodes of a cluster (redisstore.Flows), so that Lookup on any node
	// tells whether a contact can be reached.
	FlowRegistry FlowRegistry
}

// New returns a Registrar with the default pipeline: cluster switch,
// device lookup, port check, authentication (bearer on the OAuth and edge
// roles, Config.Legacy on the legacy role, refused where there is none),
// owner binding, the address-of-record check, store.
func New(cfg Config) (*Registrar, error) {
	if cfg.Devices == nil || cfg.Validator == nil {
		return nil, errors.New("registrar: Config needs Devices and Validator")
	}
	if cfg.Legacy != nil && cfg.InsecureLegacyWithoutAuthentication {
		return nil, errors.New("registrar: Config.Legacy and InsecureLegacyWithoutAuthentication both set")
	}
	for _, d := range cfg.Domains {
		if d == "" || strings.ContainsAny(d, "@:;<> \t") {
			return nil, fmt.Errorf("registrar: domain %q is not a host name", d)
		}
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.OAuthEnabled == nil {
		cfg.OAuthEnabled = new(atomic.Bool)
		cfg.OAuthEnabled.Store(true)
	}
	l := cfg.Logger
	if l == nil {
		l = slog.Default()
	}
	mm := PortMismatch{NodeName: cfg.NodeName}
	if cfg.PlaintextForLoadTests {
		l.Warn("!!! registrar: OAuth registrations accepted WITHOUT TLS: bearer tokens travel in clear text. For load tests only, never in production !!!")
	}
	auth := BearerAuth{&sipauth.Bearer{Validator: cfg.Validator, Mode: cfg.Mode, Challenge: cfg.Challenge, RetryAfter: RetryAfterUnavailable}}
	if cfg.MaxValidations > 0 {
		auth.Limit = make(chan struct{}, cfg.MaxValidations)
	}
	byRole := map[Role]Authenticator{RoleOAuth: auth, RoleEdge: auth}
	switch {
	case cfg.Legacy != nil:
		byRole[RoleLegacy] = cfg.Legacy
	case cfg.InsecureLegacyWithoutAuthentication:
		l.Warn("!!! registrar: devices without OAuth register on the legacy role WITHOUT ANY AUTHENTICATION: anyone can take over their registrations. For labs only, never in production !!!")
		byRole[RoleLegacy] = InsecureNoAuthentication{}
	}
	if vo, ok := cfg.Observer.(ValidationObserver); ok {
		auth.OnValidate = vo.ObserveValidation
	}
	rule := AORRule{Domains: slices.Clone(cfg.Domains)}
	flows := &Flows{Registry: cfg.FlowRegistry, Logger: cfg.Logger}
	return &Registrar{
		Store:    cfg.Store,
		Flows:    flows,
		Observer: cfg.Observer,
		Ports:    cfg.Ports,
		PeerInfo: cfg.PeerInfo,
		Logger:   cfg.Logger,
		AOR:      rule,
		Timeout:  cfg.Timeout,
		Pipeline: []Step{
			ClusterSwitch{Enabled: cfg.OAuthEnabled, Mismatch: mm},
			DeviceLookup{Devices: cfg.Devices},
			PortCheck{Mismatch: mm, AllowPlaintext: cfg.PlaintextForLoadTests, EdgeAuthorizer: cfg.EdgeAuthorizer},
			Authenticate{ByRole: byRole},
			OwnerBinding{},
			AORCheck{Rule: rule},
			Bind{Store: cfg.Store, MaxExpires: cfg.MaxExpires, MinExpires: cfg.MinExpires, DefaultExpires: cfg.DefaultExpires,
				MaxBindings: cfg.MaxBindings, MaxDeviceBindings: cfg.MaxDeviceBindings, NodeName: cfg.NodeName, Flows: flows},
		},
	}, nil
}
