package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Client registers one device with a SIP OAuth registrar and keeps it
// registered. Its methods are safe for concurrent use; registrations are
// made one at a time. Close releases its connection and goroutines.
type Client struct {
	s   settings
	log *slog.Logger

	// closeCtx ends with Close, interrupting Run and Register.
	closeCtx    context.Context
	closeCancel context.CancelFunc
	closeOnce   sync.Once
	closeErr    error
	runMu       sync.Mutex
	runDone     chan struct{} // closed when Run returns; nil while none runs

	mu            sync.Mutex // one registration sequence at a time; guards below
	loaded        bool
	user          string
	expires       time.Duration
	delta         time.Duration
	targets       []Target
	conn          *sipConn
	dlg           *dialog
	refusedTokens [][32]byte
	last          Registration // the binding's last registration, while it holds
	// passedOver holds, by dialogKey, when each target that failed may be
	// tried again before the others.
	passedOver map[string]time.Time
	// notBefore holds when each target that answered with a Retry-After
	// may be asked again at all.
	notBefore map[string]time.Time

	evMu     sync.Mutex
	evClosed bool
	events   chan Event
	evDone   chan struct{}
	dropped  atomic.Int64
}

func newClient(s settings) *Client {
	c := &Client{s: s, log: s.Logger, events: make(chan Event, s.EventBuffer), evDone: make(chan struct{})}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	go c.dispatch()
	return c
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventRegistered: a new binding at a target (the first registration,
	// or one after a failover or a reconnection).
	EventRegistered EventKind = iota + 1
	// EventRefreshed: an existing binding was registered again before it
	// expired.
	EventRefreshed
	// EventUnregistered: the binding was removed (Close).
	EventUnregistered
	// EventFailed: a registration failed; Err says why.
	EventFailed
	// EventPortMismatch: the registrar answered with the port-mismatch
	// 403; Err is a *PortMismatchError with the Retry-After and the causes.
	EventPortMismatch
	// EventTargetSwitched: the client moves on to Target after the
	// previous target failed with Err.
	EventTargetSwitched
)

var eventNames = [...]string{"", "registered", "refreshed", "unregistered", "failed", "port-mismatch", "target-switched"}

// String returns the kind's name, e.g. "registered".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event reports a change of the registration.
type Event struct {
	Kind EventKind
	Time time.Time
	// Target is where it happened.
	Target Target
	// Status is the final response's status, if there was one.
	Status int
	// Expires is the time granted, for EventRegistered and EventRefreshed.
	Expires time.Duration
	// Err is the failure, for EventFailed, EventPortMismatch and
	// EventTargetSwitched.
	Err error
}

// emit queues an event without ever blocking.
func (c *Client) emit(e Event) {
	if c.s.OnEvent == nil {
		return
	}
	e.Time = time.Now()
	c.evMu.Lock()
	defer c.evMu.Unlock()
	if c.evClosed {
		return
	}
	select {
	case c.events <- e:
	default:
		n := c.dropped.Add(1)
		c.log.Warn("client: event dropped: OnEvent is too slow", "kind", e.Kind.String(), "dropped", n)
	}
}

// dispatch calls OnEvent with each queued event.
func (c *Client) dispatch() {
	defer close(c.evDone)
	for e := range c.events {
		if c.s.OnEvent != nil {
			c.s.OnEvent(e)
		}
	}
}

// ctxWithClose returns ctx, also canceled by Close.
func (c *Client) ctxWithClose(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.closeCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

// load fetches or reads the configuration once, and derives the targets,
// the user and the timers.
func (c *Client) load(ctx context.Context) error {
	if c.loaded {
		return nil
	}
	var dc *DeviceConfig
	if c.s.Device != nil {
		dc = &DeviceConfig{Config: c.s.Device, Timers: ParseStackTimers(c.s.Device.Bytes())}
	} else {
		fctx, cancel := context.WithTimeout(ctx, c.s.ConfigTimeout)
		defer cancel()
		var err error
		if dc, err = FetchConfig(fctx, c.s.HTTPClient, c.s.configURL(), c.s.MaxConfigSize); err != nil {
			return err
		}
	}
	if dc.SIPOAuthMode != 1 {
		return fmt.Errorf("%w: the configuration has sipOAuthMode %d", ErrOAuthDisabled, dc.SIPOAuthMode)
	}
	user := c.s.User
	if user == "" {
		user = dc.UserID
	}
	if !validUser(user) {
		return fmt.Errorf("client: no usable user: Config.User is empty and the file's userId is %q", user)
	}
	targets := c.s.targets(dc.Config)
	if len(targets) == 0 {
		return ErrNoTargets
	}
	c.expires = c.s.Expires
	if c.expires == 0 && dc.Timers.RegisterExpires > 0 {
		c.expires = time.Duration(dc.Timers.RegisterExpires) * time.Second
	}
	if c.expires == 0 {
		c.expires = DefaultExpires
	}
	c.delta = c.s.RegisterDelta
	if c.delta == 0 && dc.Timers.RegisterDelta > 0 {
		c.delta = time.Duration(dc.Timers.RegisterDelta) * time.Second
	}
	if c.delta == 0 {
		c.delta = DefaultRegisterDelta
	}
	c.user, c.targets, c.loaded = user, targets, true
	tl := make([]string, len(targets))
	for i, t := range targets {
		tl[i] = t.String()
	}
	c.log.Info("client: configuration loaded", "device", c.s.DeviceName, "user", user,
		"deployment", c.s.Deployment.String(), "targets", tl, "expires", c.expires, "delta", c.delta)
	return nil
}

// Targets returns the targets in the order they are tried, fetching the
// configuration first if needed.
func (c *Client) Targets(ctx context.Context) ([]Target, error) {
	ctx, cancel := c.ctxWithClose(ctx)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	return append([]Target(nil), c.targets...), nil
}

// Register makes one registration sequence: it fetches the configuration
// if needed, connects to the current target (or the first one), sends
// REGISTER, answers the bearer challenge with a token, and fails over to
// the next target when a target cannot be reached, its certificate does
// not verify, or it answers 408, 480 or 5xx. It stops at the first
// target that answers otherwise: a 200 OK, a port mismatch
// (*PortMismatchError) or a refusal (*RejectedError). When every target
// failed, the error is an *AllTargetsFailedError.
func (c *Client) Register(ctx context.Context) (Registration, error) {
	if c.closeCtx.Err() != nil {
		return Registration{}, ErrClosed
	}
	ctx, cancel := c.ctxWithClose(ctx)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	reg, err := c.register(ctx)
	if err != nil && c.closeCtx.Err() != nil {
		err = ErrClosed
	}
	return reg, err
}

// register is Register with c.mu held.
func (c *Client) register(ctx context.Context) (Registration, error) {
	if err := c.load(ctx); err != nil {
		c.emit(Event{Kind: EventFailed, Err: err})
		return Registration{}, err
	}
	order := c.order(time.Now())
	if c.dlg != nil && len(order) > 0 && dialogKey(order[0]) != c.dlg.node && c.dlg.registered {
		c.log.Info("client: trying a target of higher priority again", "target", order[0].String(), "registered_on", c.dlg.target.String())
	}
	c.last = Registration{}
	var errs []error
	for i, t := range order {
		if i > 0 {
			prev := errs[len(errs)-1]
			c.log.Warn("client: switching target", "from", order[i-1].String(), "to", t.String(), "error", prev)
			c.emit(Event{Kind: EventTargetSwitched, Target: t, Err: prev})
		}
		reg, refreshed, err := c.registerOn(ctx, t)
		c.noteOutcome(t, err)
		if err == nil {
			kind := EventRegistered
			if refreshed && !reg.NewRegistration {
				kind = EventRefreshed
			}
			c.last = reg
			c.log.Info("client: registered", "target", t.String(), "expires", reg.Expires, "new", reg.NewRegistration, "event", kind.String())
			c.emit(Event{Kind: kind, Target: t, Status: reg.Status, Expires: reg.Expires})
			return reg, nil
		}
		if ctx.Err() != nil {
			return reg, ctx.Err()
		}
		var te *TargetError
		if !errors.As(err, &te) {
			c.report(t, reg, err)
			return reg, err
		}
		c.log.Warn("client: target failed", "target", t.String(), "op", te.Op, "error", te.Err)
		errs = append(errs, err)
	}
	err := &AllTargetsFailedError{Errs: errs}
	c.emit(Event{Kind: EventFailed, Err: err})
	return Registration{}, err
}

// report logs and emits a refusal.
func (c *Client) report(t Target, reg Registration, err error) {
	var pm *PortMismatchError
	if errors.As(err, &pm) {
		causes := pm.Causes()
		c.log.Warn("client: port mismatch", "target", t.String(), "node", pm.Node, "retry_after", pm.RetryAfter, "likely_cause", causes[0].Code)
		c.emit(Event{Kind: EventPortMismatch, Target: t, Status: reg.Status, Err: err})
		return
	}
	c.log.Warn("client: registration refused", "target", t.String(), "status", reg.Status, "error", err)
	c.emit(Event{Kind: EventFailed, Target: t, Status: reg.Status, Err: err})
}

// registerOn registers on t, reusing the connection and the dialog when
// they are t's. refreshed is true when the binding existed before.
func (c *Client) registerOn(ctx context.Context, t Target) (reg Registration, refreshed bool, err error) {
	if c.conn != nil && (!c.conn.alive() || c.conn.target.Addr != t.Addr || c.conn.target.ServerName != t.ServerName) {
		c.conn.close(errors.New("client: target changed"))
		c.conn = nil
	}
	if c.conn == nil {
		conn, err := dial(ctx, &c.s, t)
		if err != nil {
			return Registration{Target: t}, false, err
		}
		c.log.Debug("client: connected", "target", t.String(), "local", conn.local.String())
		c.conn = conn
	}
	c.conn.target = t
	if c.dlg == nil || c.dlg.node != dialogKey(t) {
		c.dlg = newDialog(t, c.conn.local.IP)
	}
	c.dlg.target = t
	contact := c.contact(c.conn)
	refreshed = c.dlg.registered && c.dlg.contact == contact
	c.dlg.contact = contact
	reg, err = c.exchange(ctx, c.expires)
	return reg, refreshed, err
}
