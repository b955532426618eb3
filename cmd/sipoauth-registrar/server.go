package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/internal/filekeys"
	"github.com/sipoauth/sdk/internal/logs"
	"github.com/sipoauth/sdk/internal/watch"
	"github.com/sipoauth/sdk/keyfile"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/prommetrics"
	"github.com/sipoauth/sdk/redisstore"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
)

// boundAddr is one listening socket.
type boundAddr struct {
	Setting   string // the flag that asked for it: oauth, edge, legacy, ...
	Transport string // tls, tcp, udp, https, http
	Addr      string // as bound, with the real port
}

// running is a started registrar.
type running struct {
	addrs []boundAddr
	log   *slog.Logger

	sip       *sipserve.Server
	listeners []io.Closer
	limited   []limitedSocket // the SIP sockets, for their siplimit statistics
	udp       []*net.UDPConn  // the UDP sockets under them
	https     []*http.Server
	closers   []func()            // JWKS refresh, Redis client
	redis     *redisstore.Monitor // nil without Redis
	mirrors   []namedMirror       // the shared state copied from Redis
	readiness []readiness         // what else /readyz waits for
	stop      context.CancelFunc
	wg        sync.WaitGroup
	failed    chan error
	started   atomic.Bool // every listener bound and served
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// limitedSocket is a SIP socket bounded by siplimit.
type limitedSocket struct {
	name string
	sock interface{ Limits() siplimit.Limits }
}

// addr returns the address bound for a setting and transport, or "".
func (r *running) addr(setting, transport string) string {
	for _, a := range r.addrs {
		if a.Setting == setting && a.Transport == transport {
			return a.Addr
		}
	}
	return ""
}

// Failed delivers the error of a listener that stopped on its own.
func (r *running) Failed() <-chan error { return r.failed }

// Close stops the node gracefully: /readyz says so at once; the SIP
// listeners close, the SIP requests already read are answered and then
// their connections closed, so that clients register again on another
// node; the HTTP requests in progress finish; all of it until ctx ends,
// when the rest is cut short. Then the file watchers stop and the
// connections to Redis and the key server close.
func (r *running) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.closing.Store(true)
		var errs []error
		if r.sip != nil {
			if err := r.sip.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("SIP requests left unanswered: %w", err))
			}
		}
		// Shutdown closes the listeners of the HTTP servers it serves and
		// waits for their requests; the other listeners close here.
		for _, h := range r.https {
			if err := h.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		for _, l := range r.listeners {
			_ = l.Close() // already closed when its server has stopped
		}
		r.stop()
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("stopping: %w", ctx.Err()))
		}
		for _, c := range slices.Backward(r.closers) {
			c()
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// goRun runs f in the background; Close waits for it. A server that
// returns while the registrar is not closing is reported on Failed.
func (r *running) goRun(name string, f func() error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := f()
		if r.closing.Load() {
			return
		}
		if err == nil {
			err = errors.New("stopped")
		}
		select {
		case r.failed <- fmt.Errorf("%s: %w", name, err):
		default:
		}
	}()
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil || !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(s)) {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(s settings) *slog.Logger {
	out := s.logOut
	if out == nil {
		out = os.Stderr
	}
	lvl, _ := parseLevel(s.LogLevel)
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: lvl}))
}

// start assembles the registrar from checked settings and starts serving.
// Errors caused by a setting (a file that cannot be read, say) are
// *settingError values.
func start(ctx context.Context, s settings) (_ *running, err error) {
	log := newLogger(s)
	wctx, stop := context.WithCancel(context.Background())
	r := &running{log: log, stop: stop, failed: make(chan error, 16)}
	defer func() {
		if err != nil {
			_ = r.Close(context.Background())
		}
	}()
	interval := s.ReloadInterval.duration()

	// TLS: the node certificate, the edge proxies' signers and table.
	var cert *mtlstrust.CertSource
	if s.Cert != "" {
		if cert, err = mtlstrust.LoadCertSource(s.Cert, s.Key); err != nil {
			return nil, badSetting("cert", "%v", err)
		}
		r.watchSource(wctx, interval, "-cert", s.Cert, cert)
	}
	var trust *mtlstrust.TrustStore
	if s.Trust != "" {
		if trust, err = mtlstrust.LoadTrustStore(s.Trust); err != nil {
			return nil, badSetting("trust", "%v", err)
		}
		r.watchSource(wctx, interval, "-trust", s.Trust, trust)
	}

	// Redis, when the state is shared with other nodes: the bindings, the
	// revocations and the SIP OAuth mode, the edge-proxy table and the
	// devices when they are "redis".
	var rdb redis.UniversalClient
	if s.Store != "memory" {
		if rdb, err = r.connectRedis(ctx, wctx, s); err != nil {
			return nil, err
		}
	}
	var table edgetable.Table
	switch s.EdgeTable {
	case "":
	case inRedis:
		t := redisstore.NewEdgeTable(rdb, "")
		if err := r.follow(ctx, wctx, "-edge-table", t, &t.OnError); err != nil {
			return nil, err
		}
		table = t
	default:
		f, err := edgetable.OpenFile(s.EdgeTable)
		if err != nil {
			return nil, badSetting("edge-table", "%v", err)
		}
		r.watchFile(wctx, interval, "-edge-table", s.EdgeTable, f.Reload)
		table = f
	}
	if table != nil && s.Edge != "" {
		if entries, _ := table.List(); len(entries) == 0 {
			log.Warn("the edge-proxy table is empty: no edge proxy can connect until one is added", "edge-table", s.EdgeTable)
		}
	}

	// Tokens: signed ones checked with the keys, or opaque ones asked of
	// the authorization server (introspection).
	var keys sipoauth.KeySource
	var introspection string
	if s.Keys != "" {
		fileKeys := new(filekeys.Source)
		f, err := keyfile.OpenFile(s.Keys, r.logReloads("-keys", s.Keys, fileKeys.Load))
		if err != nil {
			return nil, badSetting("keys", "%v", err)
		}
		r.watchSource(wctx, interval, "-keys", s.Keys, f)
		keys = fileKeys
	} else {
		if s.IssuerURL != "" {
			// The authorization server's metadata: its keys, its issuer.
			dctx, cancel := context.WithTimeout(ctx, sipoauth.DefaultDiscoveryTimeout)
			m, err := sipoauth.Discover(dctx, s.IssuerURL, nil)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("-issuer-url: %w", err)
			}
			s.JWKS, s.Issuers = m.JWKSURI, stringList{m.Issuer}
			if s.RFC8898 && s.AuthzServer == "" {
				s.AuthzServer = m.Issuer
			}
			if s.IntrospectionClient != "" {
				if m.IntrospectionEndpoint == "" {
					return nil, badSetting("introspection-client", "the metadata of %s gives no introspection_endpoint", m.Issuer)
				}
				introspection = m.IntrospectionEndpoint
			}
			log.Info("authorization server discovered", "issuer", m.Issuer, "metadata", m.Source, "jwks", m.JWKSURI, "introspection", introspection)
		}
	}
	if s.Keys == "" && introspection == "" {
		jwks, err := sipoauth.NewJWKSURL(s.JWKS, sipoauth.JWKSOptions{OnError: func(err error) {
			log.Warn("fetching the signing keys failed; the last good set stays", "jwks", s.JWKS, "error", err)
		}})
		if err != nil {
			return nil, badSetting("jwks", "%v", err)
		}
		r.closers = append(r.closers, jwks.Close)
		r.readiness = append(r.readiness, readiness{"the signing keys of -jwks not fetched yet", jwks.Fetched})
		keys = jwks
		if strings.HasPrefix(s.JWKS, "http:") {
			log.Warn("signing keys fetched over plain HTTP: whoever can change them on the way can mint tokens", "jwks", s.JWKS)
		}
	}
	var decryption *sipoauth.SymmetricKeys
	if s.DecryptionKey != "" {
		decryption = new(sipoauth.SymmetricKeys)
		f, err := keyfile.OpenFile(s.DecryptionKey, r.logReloads("-decryption-key", s.DecryptionKey, func(data []byte) error {
			// A key without its kid (raw, hex, base64) is tried for
			// every token, whatever kid it names.
			m, err := keyfile.ParseClusterKeys(data, keyfile.ClusterKeySize)
			if err != nil {
				return err
			}
			return decryption.Set(m)
		}))
		if err != nil {
			return nil, badSetting("decryption-key", "%v", err)
		}
		if st, err := os.Stat(s.DecryptionKey); err == nil && st.Mode().Perm()&0o077 != 0 {
			log.Warn("the decryption key file can be read by other users; chmod 600 it", "decryption-key", s.DecryptionKey)
		}
		r.watchSource(wctx, interval, "-decryption-key", s.DecryptionKey, f)
	}

	// Bindings, and revocations shared with the other nodes.
	var store registrar.Store
	var revocation sipoauth.Revocation
	var flows registrar.FlowRegistry
	if s.Store == "memory" {
		mem := registrar.NewMemoryStore()
		store = mem
		r.goRun("binding sweeper", func() error {
			sweep(wctx, mem)
			return nil
		})
	} else {
		// While the monitor finds Redis away, REGISTERs get their 503 at
		// once.
		store = r.redis.GuardStore(redisstore.NewBindings(rdb, ""))
		revocation = r.redis.GuardRevocation(redisstore.NewRevocations(rdb, ""))
		// Which connections of the clients are open, on which node.
		f := redisstore.NewFlows(rdb, "")
		f.Logger = log
		r.closers = append(r.closers, func() { f.Close() })
		flows = f
	}
	// The cluster-wide SIP OAuth mode: on, unless the cluster's Redis
	// says otherwise.
	oauthEnabled := new(atomic.Bool)
	oauthEnabled.Store(true)
	if rdb != nil {
		sw := redisstore.NewSwitch(rdb, "", oauthEnabled)
		sw.OnChange = func(on, set bool) {
			switch {
			case !on:
				log.Warn("SIP OAuth is disabled for the cluster: REGISTERs on the OAuth and edge ports are answered 403 port mismatch", "key", sw.Key())
			case set:
				log.Info("SIP OAuth is enabled for the cluster", "key", sw.Key())
			default:
				log.Info("SIP OAuth is enabled (the cluster does not set it)", "key", sw.Key())
			}
		}
		if err := r.follow(ctx, wctx, "sip-oauth-mode", sw, &sw.OnError); err != nil {
			return nil, err
		}
	}

	var devices registrar.Devices
	var deviceCount int
	if s.Devices == inRedis {
		d := redisstore.NewDevices(rdb, "")
		// No device at all: a cluster not loaded yet, or a Redis that lost
		// its data. Said when it starts, not at every read.
		var had atomic.Int64
		had.Store(-1)
		d.OnLoad = func(n int) {
			if n == 0 && had.Swap(0) != 0 {
				log.Warn("no device in Redis: every REGISTER is answered 404 until the devices are imported (-import-devices)", "store", redisstore.Redact(s.Store))
			} else if n > 0 {
				had.Store(int64(n))
			}
		}
		if err := r.follow(ctx, wctx, "-devices", d, &d.OnError); err != nil {
			return nil, err
		}
		devices, deviceCount = d, d.Len()
	} else {
		f, err := registrar.OpenFileDevices(s.Devices)
		if err != nil {
			return nil, badSetting("devices", "%v", err)
		}
		r.watchFile(wctx, interval, "-devices", s.Devices, f.Reload)
		devices, deviceCount = f, f.Len()
	}
	claims := sipoauth.ClaimNames{User: s.UserClaim, Device: s.DeviceClaim}
	var validator sipoauth.TokenValidator
	if introspection != "" {
		validator, err = sipoauth.NewIntrospector(sipoauth.IntrospectionConfig{
			Endpoint: introspection, ClientID: s.IntrospectionClient, ClientSecret: s.IntrospectionSecret,
			Issuers: s.Issuers, Audiences: s.Audiences, RequiredScopes: s.Scopes, Claims: claims,
			Revocation: revocation, CacheSize: tokenCacheSize(s.TokenCache, deviceCount),
		})
	} else {
		validator, err = sipoauth.New(sipoauth.Config{
			Keys: keys, DecryptionKeys: decryption, Issuers: s.Issuers, Audiences: s.Audiences, RequiredScopes: s.Scopes,
			Revocation: revocation, MaxLifetime: s.MaxTokenLifetime.duration(), CacheSize: tokenCacheSize(s.TokenCache, deviceCount),
			Claims: claims,
			// The registrar reads only the named claims; the cache holds
			// every device's token.
			DiscardRawClaims: true,
		})
	}
	if err != nil {
		return nil, err
	}

	var promReg *prometheus.Registry
	var metrics *prommetrics.Registrar
	if s.Metrics != "" {
		promReg = prometheus.NewRegistry()
		promReg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		if mon := r.redis; mon != nil {
			promReg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "sipoauth_redis_up",
				Help: "1 while Redis answers the node's pings (every second), 0 while it does not: REGISTERs are then answered 503.",
			}, func() float64 {
				if mon.Up() {
					return 1
				}
				return 0
			}))
		}
		if metrics, err = prommetrics.NewRegistrar(promReg, store); err != nil {
			return nil, err
		}
	}

	// Bind every listener first: the registrar tells roles apart by port.
	ports := registrar.Ports{}
	sipPorts := 0
	var serve []func()
	// The SIP server: REGISTER and OPTIONS answered without a
	// transaction per request, UDP 2xx answers kept for retransmissions. It
	// logs what a parser said of a message it could not read: with
	// credentials withheld, no token reaches the log. A client that
	// hangs up is logged at Debug.
	srv := &sipserve.Server{Keep: sipserve.SuccessfulRegister, RetransmitBytes: s.udpKeptAnswers(), Logger: slog.New(logs.SIPStack(bearer.RedactHandler(log.Handler())))}
	r.sip = srv
	// Every SIP socket is bounded by siplimit: connections in all and per
	// source, handshake, idle and message timeouts, message size, and the
	// UDP requests let through to the SIP stack. A failed handshake is
	// logged with its diagnosis.
	limits := s.limits()
	onHandshake := func(setting string) func(*mtlstrust.HandshakeError) {
		return func(e *mtlstrust.HandshakeError) {
			log.Info("TLS handshake failed", "listener", "-"+setting, "remote", addrString(e.Remote), "error", e.Err,
				"diagnosis", e.Diagnosis.Code)
		}
	}
	limitLog := siplimit.WithLogger(log)
	tlsListener := func(setting, addr string, role registrar.Role, cfg *tls.Config, lim siplimit.Limits, opts ...sipserve.StreamOption) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("-%s: %w", setting, err)
		}
		tl := siplimit.NewTLSListener(ln, cfg, lim, mtlstrust.ListenerOptions{Side: diag.NodeSide, OnError: onHandshake(setting)}, limitLog)
		r.listeners = append(r.listeners, tl)
		r.limited = append(r.limited, limitedSocket{"-" + setting + " tls", tl})
		r.addrs = append(r.addrs, boundAddr{setting, "tls", ln.Addr().String()})
		ports[ln.Addr().(*net.TCPAddr).Port] = role
		sipPorts++
		serve = append(serve, func() { r.goRun("-"+setting, func() error { return srv.ServeStream(tl, opts...) }) })
		return nil
	}
	plainListeners := func(setting, addr string, role registrar.Role, lim siplimit.Limits) error {
		tl, ul, err := listenTCPAndUDP(addr)
		if err != nil {
			return fmt.Errorf("-%s: %w", setting, err)
		}
		// A burst waits in the socket's buffer while the workers are busy:
		// the kernel's default (208 KiB) drops what Kamailio's doubled
		// 256 KiB keeps.
		r.udp = append(r.udp, ul.(*net.UDPConn))
		if err := ul.(*net.UDPConn).SetReadBuffer(s.udpReceiveBuffer()); err != nil {
			log.Warn("the UDP receive buffer could not be set; the system's default stays", "listener", "-"+setting, "error", err)
		}
		ltl, lul := siplimit.NewListener(tl, lim, limitLog), siplimit.NewPacketConn(ul, lim, limitLog)
		r.listeners = append(r.listeners, ltl, lul)
		r.limited = append(r.limited, limitedSocket{"-" + setting + " tcp", ltl}, limitedSocket{"-" + setting + " udp", lul})
		r.addrs = append(r.addrs, boundAddr{setting, "tcp", tl.Addr().String()}, boundAddr{setting, "udp", ul.LocalAddr().String()})
		ports[tl.Addr().(*net.TCPAddr).Port] = role
		sipPorts++
		serve = append(serve, func() {
			r.goRun("-"+setting+" tcp", func() error { return srv.ServeStream(ltl) })
			r.goRun("-"+setting+" udp", func() error { return srv.ServeUDP(lul) })
		})
		return nil
	}
	if s.OAuth != "" {
		if err := tlsListener("oauth", s.OAuth, registrar.RoleOAuth, mtlstrust.OAuthServerConfig(cert), limits); err != nil {
			return nil, err
		}
	}
	if s.Edge != "" {
		// An edge proxy carries its clients on a few connections: the
		// per-source cap holds, as anyone may connect before the handshake.
		// Its connections carry many clients each: sipserve.Shared, so that
		// one slow REGISTER holds up none of the others.
		if err := tlsListener("edge", s.Edge, registrar.RoleEdge, mtlstrust.EdgeServerConfig(cert, trust, edgetable.Authorize(table)), limits, sipserve.Shared()); err != nil {
			return nil, err
		}
	}
	if s.Legacy != "" {
		if err := plainListeners("legacy", s.Legacy, registrar.RoleLegacy, limits); err != nil {
			return nil, err
		}
	}
	if s.PlaintextForLoadTests != "" {
		// A load tool sends thousands of requests a second from one
		// address: no per-source or window limit there.
		loadLimits := limits
		loadLimits.SourceRate, loadLimits.MaxPerWindow, loadLimits.MaxConnsPerSource = -1, -1, -1
		if err := plainListeners("plaintext-for-load-tests", s.PlaintextForLoadTests, registrar.RoleOAuth, loadLimits); err != nil {
			return nil, err
		}
	}
	if len(ports) != sipPorts {
		return nil, errors.New("two SIP listeners were bound to the same port; each role needs its own")
	}
	if promReg != nil {
		promReg.MustRegister(&socketCollector{socks: r.limited})
	}
	eff := limits.Effective()
	log.Info("SIP socket limits", "max-connections", eff.MaxConns, "max-connections-per-source", eff.MaxConnsPerSource,
		"idle-timeout", eff.IdleTimeout, "message-timeout", eff.MessageTimeout, "max-message-size", eff.MaxMessageSize,
		"udp-source-rate", eff.SourceRate, "udp-max-per-window", eff.MaxPerWindow)

	cfg := registrar.Config{
		NodeName:                            s.NodeName,
		Devices:                             devices,
		Validator:                           validator,
		Store:                               store,
		Ports:                               ports,
		Domains:                             s.Domains,
		MaxExpires:                          s.MaxExpires.duration(),
		MinExpires:                          s.MinExpires.duration(),
		MaxBindings:                         s.MaxBindings,
		MaxDeviceBindings:                   s.MaxDeviceBindings,
		PlaintextForLoadTests:               s.PlaintextForLoadTests != "",
		InsecureLegacyWithoutAuthentication: s.LegacyUnauthenticated,
		OAuthEnabled:                        oauthEnabled,
		Logger:                              log,
		FlowRegistry:                        flows,
	}
	if metrics != nil {
		cfg.Observer = metrics
	}
	if s.Legacy != "" && !s.LegacyUnauthenticated {
		// Devices without OAuth authenticate with the digest secret of
		// their -devices entry; OAuth devices never with Digest.
		cfg.Legacy = &registrar.DigestAuth{Realm: s.DigestRealm}
	}
	if table != nil {
		// Asked again on every edge REGISTER: a proxy removed from the
		// table stops registering on the connections it holds.
		cfg.EdgeAuthorizer = edgetable.Authorize(table)
	}
	if s.InsecureAnyAudience {
		log.Warn("-insecure-any-audience: tokens of the issuers are accepted whatever their audience and scope, ID tokens for other applications among them")
	}
	if s.RFC8898 {
		cfg.Mode = sipauth.RFC8898Mode
		cfg.Challenge = bearer.Challenge{Realm: s.Realm, AuthzServer: s.AuthzServer}
	}
	reg, err := registrar.New(cfg)
	if err != nil {
		return nil, err
	}
	if s.Rate > 0 {
		burst := s.RateBurst
		if burst == 0 {
			burst = max(1, int(math.Ceil(2*s.Rate)))
		}
		lim := &registrar.SourceLimiter{Rate: rate.Limit(s.Rate), Burst: burst}
		reg.Admit = func(q *registrar.Request) *sip.Response {
			if q.Role == registrar.RoleEdge {
				// Every remote client comes through its edge proxy's one
				// address: a per-source limit would throttle them together.
				return nil
			}
			return lim.Admit(q)
		}
	}
	// Edge proxies and clients ping with OPTIONS to see the node is up.
	srv.Handler = sipserve.Methods{sip.REGISTER: reg, sip.OPTIONS: sipserve.OK}

	// HTTP: the edge-proxy table API and the metrics.
	if s.TableAPI != "" {
		h := edgetable.NewHandler(table, map[string]string{s.TableUser: s.TablePassword})
		h.Logger = log
		tcfg := mtlstrust.OAuthServerConfig(cert)
		tcfg.NextProtos = []string{"http/1.1"}
		if err := r.httpServer("table-api", "https", s.TableAPI, h, tcfg, &serve); err != nil {
			return nil, err
		}
	}
	if s.Metrics != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(promReg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
		// For load balancers and orchestrators: alive, and fit for traffic.
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintln(w, "ok")
		})
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			if ok, why := r.ready(); !ok {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprintln(w, strings.Join(why, "\n"))
				return
			}
			fmt.Fprintln(w, "ready")
		})
		if s.Pprof {
			// Not /debug/pprof/cmdline: the command line may hold a
			// password (-table-password, -store with credentials).
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		}
		if err := r.httpServer("metrics", "http", s.Metrics, mux, nil, &serve); err != nil {
			return nil, err
		}
	}

	for _, f := range serve {
		f()
	}
	if s.PlaintextForLoadTests != "" {
		log.Warn("!!! -plaintext-for-load-tests: bearer tokens accepted over plain TCP and UDP; never in production !!!", "address", r.addr("plaintext-for-load-tests", "tcp"))
	}
	log.Info("registrar started", "config", s.config, "node", s.NodeName, "store", redisstore.Redact(s.Store), "challenge", map[bool]string{false: "cisco", true: "rfc8898"}[s.RFC8898])
	r.started.Store(true)
	return r, nil
}

// tokenCacheSize is the validator's CacheSize for -token-cache: as set,
// none when negative, and when 0 two tokens for every device of the
// -devices file as it was at start (one in use, one refreshed before it
// expires), at least sipoauth.DefaultCacheSize. A cache smaller than the
// devices that register is a miss for most of them: each REGISTER would
// verify its token's signature (and decrypt it) again.
func tokenCacheSize(setting, devices int) int {
	if setting != 0 {
		return setting
	}
	return max(sipoauth.DefaultCacheSize, 2*devices)
}

// udpReceiveBuffer is -udp-receive-buffer, sipserve's recommended
// buffer when 0.
func (s settings) udpReceiveBuffer() int {
	if s.UDPReceiveBuffer > 0 {
		return s.UDPReceiveBuffer
	}
	return sipserve.DefaultUDPReceiveBuffer
}

// httpServer binds an HTTP server, over TLS when cfg is set.
func (r *running) httpServer(setting, transport, addr string, h http.Handler, cfg *tls.Config, serve *[]func()) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-%s: %w", setting, err)
	}
	r.listeners = append(r.listeners, ln)
	r.addrs = append(r.addrs, boundAddr{setting, transport, ln.Addr().String()})
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
	r.https = append(r.https, hs)
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	*serve = append(*serve, func() {
		r.goRun("-"+setting, func() error {
			if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	})
	return nil
}

// listenTCPAndUDP binds TCP and UDP on the same port, as SIP serves both
// on 5060. With port 0 the system picks the TCP port, which may be taken
// in UDP: then it tries again.
func listenTCPAndUDP(addr string) (net.Listener, net.PacketConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for attempt := 1; ; attempt++ {
		tl, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, err
		}
		p := strconv.Itoa(tl.Addr().(*net.TCPAddr).Port)
		ul, err := net.ListenPacket("udp", net.JoinHostPort(host, p))
		if err == nil {
			return tl, ul, nil
		}
		tl.Close()
		if port != "0" || attempt == 5 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
}

// sweep drops expired bindings from memory every half minute, so that the
// bindings gauge counts live ones and abandoned addresses do not pile up.
func sweep(ctx context.Context, m *registrar.MemoryStore) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.Sweep(now)
		}
	}
}

// reloadFailed logs a reload that failed: the previous content stays.
func (r *running) reloadFailed(setting, path string) func(error) {
	return func(err error) {
		r.log.Error("reload failed; the previous content stays in use", "setting", setting, "file", path, "error", err)
	}
}

// source is a loaded file that reloads itself when its content changes:
// a key file, the node certificate, a trust store.
type source interface {
	Watch(ctx context.Context, interval time.Duration, onError func(error))
}

// watchSource runs src's Watch, which checks path, the file of setting,
// every interval; a change that fails to load is reported once.
func (r *running) watchSource(ctx context.Context, interval time.Duration, setting, path string, src source) {
	r.goRun(setting+" watcher", func() error {
		src.Watch(ctx, interval, r.reloadFailed(setting, path))
		return nil
	})
}

// logReloads logs every load of a key file after the first, as watchFile
// logs the reloads of the other files. A keyfile.File loads one at a time.
func (r *running) logReloads(setting, path string, load func([]byte) error) func([]byte) error {
	first := true
	return func(data []byte) error {
		if err := load(data); err != nil {
			return err
		}
		if !first {
			r.log.Info("reloaded", "setting", setting, "file", path)
		}
		first = false
		return nil
	}
}

// watchFile calls reload whenever the file changes (another file in its
// place, another size or modification time: watch.Stat), checking every
// interval. A change that fails to load is reported once.
func (r *running) watchFile(ctx context.Context, interval time.Duration, setting, path string, reload func() error) {
	loaded := watch.Stat(path) // read by the watcher's goroutine only
	r.goRun(setting+" watcher", func() error {
		watch.Poll(ctx, interval, func() [32]byte { return watch.Stat(path) }, func() *[32]byte { return &loaded },
			func() error {
				cur := watch.Stat(path)
				if err := reload(); err != nil {
					return err
				}
				loaded = cur
				r.log.Info("reloaded", "setting", setting, "file", path)
				return nil
			}, r.reloadFailed(setting, path))
		return nil
	})
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// DefaultUDPKeptAnswers is the memory for the answers kept for UDP
// retransmissions when -udp-kept-answers is 0.
const DefaultUDPKeptAnswers = 2 << 20

// udpKeptAnswers is -udp-kept-answers as sipserve.Server.RetransmitBytes.
func (s settings) udpKeptAnswers() int {
	if s.UDPKeptAnswers == 0 {
		return DefaultUDPKeptAnswers
	}
	return s.UDPKeptAnswers
}

// mirror is a part of the shared state that a node keeps a copy of,
// read from Redis and kept fresh (redisstore's EdgeTable, Switch and
// Devices).
type mirror interface {
	Load(ctx context.Context) error
	Run(ctx context.Context) error
	Ready() bool
	Err() error
}

type namedMirror struct {
	name string
	m    mirror
}

// connectRedis connects to -store and checks that it answers; a Monitor
// then logs each change of its state once and feeds /readyz.
func (r *running) connectRedis(ctx, wctx context.Context, s settings) (redis.UniversalClient, error) {
	// go-redis's own lines (failed dials, pool events) as the
	// registrar's records, at Warn.
	// Its failed dials are the outage the monitor logs once; its other
	// lines too while Redis is away.
	redis.SetLogger(logs.Redis{Logger: r.log, Quiet: func(msg string) bool {
		return r.redis != nil && (strings.Contains(msg, "failed to dial") || !r.redis.Up())
	}})
	tlsConfig, err := s.storeTLS()
	if err != nil {
		return nil, err
	}
	// A Redis that hangs must not hold a REGISTER past the registrar's
	// Timeout: the client honours the request's deadline.
	c, err := redisstore.NewClient(s.Store, tlsConfig)
	if err != nil {
		return nil, badSetting("store", "%v", err)
	}
	r.closers = append(r.closers, func() { _ = c.Close() })
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = c.Ping(pctx).Err()
	cancel()
	if err != nil {
		return nil, fmt.Errorf("-store %s: %w", redisstore.Redact(s.Store), storeHint(s.Store, err))
	}
	store := redisstore.Redact(s.Store)
	mon := redisstore.NewMonitor(c)
	wasDown := false // OnChange is called by one goroutine at a time
	mon.OnChange = func(up bool, err error) {
		switch {
		case !up:
			wasDown = true
			r.log.Error("Redis unreachable: REGISTERs are answered 503 with Retry-After until it answers again", "store", store, "error", err)
		case wasDown:
			wasDown = false
			r.log.Warn("Redis reachable again", "store", store)
		default:
			r.log.Info("Redis reachable", "store", store)
		}
	}
	r.redis = mon
	mon.Check(ctx)
	r.goRun("the Redis monitor", func() error { return mon.Run(wctx) })
	return c, nil
}

// storeTLS is the TLS configuration of -store-ca, -store-cert and
// -store-key; nil when none is set.
func (s settings) storeTLS() (*tls.Config, error) {
	if s.StoreCA == "" && s.StoreCert == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.StoreCA != "" {
		data, err := os.ReadFile(s.StoreCA)
		if err != nil {
			return nil, badSetting("store-ca", "%v", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(data) {
			return nil, badSetting("store-ca", "%s: no PEM certificate", s.StoreCA)
		}
	}
	if s.StoreCert != "" {
		pair, err := tls.LoadX509KeyPair(s.StoreCert, s.StoreKey)
		if err != nil {
			return nil, badSetting("store-cert", "%v", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// follow reads a part of the shared state from Redis, then keeps it
// fresh in the background; its failures are logged when they start and
// when they end (at Debug while Redis is down: the monitor says so).
func (r *running) follow(ctx, wctx context.Context, name string, m mirror, onError *func(error)) error {
	// A failure while Redis is away is the outage the monitor reports
	// once; asked at once (a ping), so that the mirror's own failure,
	// often seen first, adds no line of its own. Only a failure with
	// Redis answering (a value that does not parse, say) is a warning.
	warned := false // onError is called by the mirror's one goroutine
	*onError = func(err error) {
		switch {
		case err == nil && warned:
			warned = false
			r.log.Warn("reading the shared state from Redis works again", "state", name)
		case err == nil:
		case r.redis != nil && !r.redis.Check(wctx):
			r.log.Debug("reading the shared state from Redis failed", "state", name, "error", err)
		default:
			warned = true
			r.log.Warn("reading the shared state from Redis failed; the copy read last stays in use", "state", name, "error", err)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := m.Load(lctx)
	cancel()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r.mirrors = append(r.mirrors, namedMirror{name, m})
	r.goRun(name, func() error { return m.Run(wctx) })
	return nil
}

// ready reports whether the node should be sent traffic, and why not:
// started and not stopping, Redis answering, every copy of the shared
// state read.
func (r *running) ready() (bool, []string) {
	var why []string
	switch {
	case r.closing.Load():
		why = append(why, "stopping")
	case !r.started.Load():
		why = append(why, "starting")
	}
	if r.redis != nil && !r.redis.Up() {
		why = append(why, "Redis unreachable")
	}
	for _, m := range r.mirrors {
		if !m.m.Ready() {
			why = append(why, m.name+" not read from Redis yet")
		}
	}
	for _, c := range r.readiness {
		if !c.ok() {
			why = append(why, c.why)
		}
	}
	return len(why) == 0, why
}

// readiness is a condition of /readyz, and why the node is not ready
// while it does not hold.
type readiness struct {
	why string
	ok  func() bool
}

// clusterAction does what -import-devices, -sip-oauth-mode and
// -revoke-user ask in -store's Redis, where every node of the cluster
// sees it within moments, and says what it did on out.
func clusterAction(ctx context.Context, s settings, out io.Writer) error {
	redis.SetLogger(logs.Redis{Logger: newLogger(s)})
	tlsConfig, err := s.storeTLS()
	if err != nil {
		return err
	}
	c, err := redisstore.NewClient(s.Store, tlsConfig)
	if err != nil {
		return err
	}
	defer c.Close()
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	err = c.Ping(pctx).Err()
	pcancel()
	if err != nil {
		return fmt.Errorf("-store %s: %w", redisstore.Redact(s.Store), storeHint(s.Store, err))
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	store := redisstore.Redact(s.Store)
	if s.ImportDevices != "" {
		list, err := registrar.ReadDevicesFile(s.ImportDevices)
		if err != nil {
			return badSetting("import-devices", "%v", err)
		}
		if len(list) == 0 {
			return badSetting("import-devices", "%s lists no device: importing it would leave every node with none", s.ImportDevices)
		}
		if err := redisstore.NewDevices(c, "").Replace(ctx, list); err != nil {
			return fmt.Errorf("-import-devices: %w", err)
		}
		fmt.Fprintf(out, "%d devices are the cluster's in %s\n", len(list), store)
	}
	if s.SIPOAuthMode != "" {
		on := s.SIPOAuthMode == "enable"
		if err := redisstore.NewSwitch(c, "", new(atomic.Bool)).Set(ctx, on); err != nil {
			return fmt.Errorf("-sip-oauth-mode: %w", err)
		}
		fmt.Fprintf(out, "SIP OAuth %sd on every node of %s\n", s.SIPOAuthMode, store)
	}
	if s.RevokeUser != "" {
		// From the next second on: a token issued in the current one may
		// be the one revoked (iat has a resolution of a second).
		before := time.Now().Truncate(time.Second).Add(time.Second)
		if err := redisstore.NewRevocations(c, "").RevokeUser(ctx, s.RevokeUser, before); err != nil {
			return fmt.Errorf("-revoke-user: %w", err)
		}
		fmt.Fprintf(out, "the tokens of %s issued before %s are revoked in %s\n", s.RevokeUser, before.UTC().Format(time.RFC3339), store)
	}
	return nil
}

// storeHint adds to a failed first contact with a rediss:// store that
// timed out what it most often means: the server does not speak TLS there.
func storeHint(store string, err error) error {
	if strings.HasPrefix(store, "rediss") && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (no TLS handshake within the time: does Redis take TLS on that port?)", err)
	}
	return err
}
