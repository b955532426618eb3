package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/internal/bounded"
	"github.com/sipoauth/sdk/redisstore"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/siplimit"
	"github.com/sipoauth/sdk/sipoauth"
	"github.com/sipoauth/sdk/sipserve"
	"github.com/sipoauth/sdk/ucm"
)

// settings is the registrar's configuration. The JSON names are the flag
// names: a config file says {"oauth": "0.0.0.0:5090", "cert": "node.pem"}
// where the command line says -oauth 0.0.0.0:5090 -cert node.pem.
type settings struct {
	// Listeners. An empty address turns the listener off.
	OAuth                 string `json:"oauth"`
	Edge                  string `json:"edge"`
	Legacy                string `json:"legacy"`
	DigestRealm           string `json:"digest-realm"`
	LegacyUnauthenticated bool   `json:"legacy-unauthenticated"`
	PlaintextForLoadTests string `json:"plaintext-for-load-tests"`

	// TLS.
	Cert          string `json:"cert"`
	Key           string `json:"key"`
	Trust         string `json:"trust"`
	EdgeTable     string `json:"edge-table"`
	TableAPI      string `json:"table-api"`
	TableUser     string `json:"table-user"`
	TablePassword string `json:"table-password"`

	// Tokens.
	Keys      string `json:"keys"`
	JWKS      string `json:"jwks"`
	IssuerURL string `json:"issuer-url"`
	UserClaim string `json:"user-claim"`
	// IntrospectionClient and IntrospectionSecret turn token
	// introspection on (RFC 7662).
	IntrospectionClient string     `json:"introspection-client"`
	IntrospectionSecret string     `json:"introspection-secret"`
	DeviceClaim         string     `json:"device-claim"`
	DecryptionKey       string     `json:"decryption-key"`
	Issuers             stringList `json:"issuer"`
	Audiences           stringList `json:"audience"`
	Scopes              stringList `json:"scope"`
	// InsecureAnyAudience accepts tokens whatever their audience and
	// scope: any token of the issuers, ID tokens for other applications
	// among them.
	InsecureAnyAudience bool    `json:"insecure-any-audience"`
	MaxTokenLifetime    seconds `json:"max-token-lifetime"`

	// Registrations.
	Devices           string     `json:"devices"`
	Store             string     `json:"store"`
	StoreCA           string     `json:"store-ca"`
	StoreCert         string     `json:"store-cert"`
	StoreKey          string     `json:"store-key"`
	NodeName          string     `json:"node-name"`
	Domains           stringList `json:"domain"`
	MaxExpires        seconds    `json:"max-expires"`
	MinExpires        seconds    `json:"min-expires"`
	MaxBindings       int        `json:"max-bindings"`
	MaxDeviceBindings int        `json:"max-device-bindings"`
	RFC8898           bool       `json:"rfc8898"`
	Realm             string     `json:"realm"`
	AuthzServer       string     `json:"authz-server"`
	Rate              float64    `json:"rate"`
	RateBurst         int        `json:"rate-burst"`

	// Bounds of the SIP sockets (package siplimit); 0 is its default.
	MaxConnections          int     `json:"max-connections"`
	MaxConnectionsPerSource int     `json:"max-connections-per-source"`
	IdleTimeout             seconds `json:"idle-timeout"`
	MessageTimeout          seconds `json:"message-timeout"`
	MaxMessageSize          int     `json:"max-message-size"`
	TokenCache              int     `json:"token-cache"`
	UDPSourceRate           float64 `json:"udp-source-rate"`
	UDPMaxPerWindow         int     `json:"udp-max-per-window"`
	UDPReceiveBuffer        int     `json:"udp-receive-buffer"`
	UDPKeptAnswers          int     `json:"udp-kept-answers"`

	// Operations.
	Metrics         string  `json:"metrics"`
	Pprof           bool    `json:"pprof"`
	LogLevel        string  `json:"log-level"`
	ReloadInterval  seconds `json:"reload-interval"`
	ShutdownTimeout seconds `json:"shutdown-timeout"`

	// Cluster actions: done in -store's Redis, then the command exits.
	ImportDevices string `json:"-"`
	SIPOAuthMode  string `json:"-"`
	RevokeUser    string `json:"-"`

	// config is the -config file the settings were read from, if any.
	config string
	// logOut receives the log; standard error when nil.
	logOut io.Writer
}

// defaults returns the settings before any file or flag.
// inRedis is the value of -edge-table and -devices that keeps them in
// -store's Redis, shared by the nodes of a cluster.
const inRedis = "redis"

// clusterAction reports whether the command is to act on the cluster's
// Redis and exit rather than serve.
func (s settings) clusterAction() bool {
	return s.ImportDevices != "" || s.SIPOAuthMode != "" || s.RevokeUser != ""
}

// DefaultShutdownTimeout is -shutdown-timeout when 0.
const DefaultShutdownTimeout = 10 * time.Second

// shutdownTimeout is -shutdown-timeout, its default when 0.
func (s settings) shutdownTimeout() time.Duration {
	if s.ShutdownTimeout > 0 {
		return s.ShutdownTimeout.duration()
	}
	return DefaultShutdownTimeout
}

func defaults() settings {
	node, _ := os.Hostname()
	if i := strings.IndexByte(node, '.'); i > 0 {
		node = node[:i]
	}
	return settings{
		OAuth:             "0.0.0.0:5090",
		Edge:              "0.0.0.0:5091",
		Store:             "memory",
		NodeName:          node,
		MaxExpires:        120,
		MinExpires:        60,
		MaxBindings:       registrar.DefaultMaxBindings,
		MaxDeviceBindings: registrar.DefaultMaxDeviceBindings,
		MaxTokenLifetime:  24 * 60 * 60,
		Realm:             bearer.CiscoRealm,
		DigestRealm:       registrar.DefaultDigestRealm,
		LogLevel:          "info",
		ReloadInterval:    5,
	}
}

// settingError is a configuration error: it names the setting at fault.
// The command exits with status 2 on one.
type settingError struct {
	name string // the flag name, without the dash
	err  error
}

func (e *settingError) Error() string { return "-" + e.name + ": " + e.err.Error() }
func (e *settingError) Unwrap() error { return e.err }

func badSetting(name, format string, args ...any) error {
	return &settingError{name: name, err: fmt.Errorf(format, args...)}
}

// stringList is a setting given several times on the command line
// (-issuer a -issuer b), as a comma-separated list, or in a file as a
// string or an array of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = splitList(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or an array of strings")
	}
	*l = nil
	for _, s := range many {
		*l = append(*l, splitList(s)...)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// listFlag is the flag.Value of a stringList. Its first use replaces
// what the config file said; later uses add to it.
type listFlag struct {
	p   *stringList
	set bool
}

func (f *listFlag) String() string {
	if f.p == nil {
		return ""
	}
	return strings.Join(*f.p, ",")
}

func (f *listFlag) Set(v string) error {
	if !f.set {
		*f.p, f.set = nil, true
	}
	*f.p = append(*f.p, splitList(v)...)
	return nil
}

// seconds is a time in whole seconds, as SIP counts Expires: 120 or
// "2m" on the command line, 120 or "2m" in a file.
type seconds int

func parseSeconds(v string) (seconds, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		return seconds(n), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a number of seconds nor a duration such as 2m", v)
	}
	if d%time.Second != 0 {
		return 0, fmt.Errorf("%q is not a whole number of seconds", v)
	}
	return seconds(d / time.Second), nil
}

func (s *seconds) UnmarshalJSON(b []byte) error {
	var n int
	if json.Unmarshal(b, &n) == nil {
		*s = seconds(n)
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("want a number of seconds or a duration string such as \"2m\"")
	}
	p, err := parseSeconds(v)
	if err == nil {
		*s = p
	}
	return err
}

func (s seconds) duration() time.Duration { return time.Duration(s) * time.Second }

type secondsFlag struct{ p *seconds }

func (f secondsFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.Itoa(int(*f.p))
}

func (f secondsFlag) Set(v string) error {
	n, err := parseSeconds(v)
	if err == nil {
		*f.p = n
	}
	return err
}

// flagSet declares the flags over s: each flag's default is what s holds.
func flagSet(s *settings, config *string) *flag.FlagSet {
	fs := flag.NewFlagSet("registrar", flag.ContinueOnError)
	fs.StringVar(config, "config", "", "JSON `file` of settings, named as the flags; flags given too override it")

	fs.StringVar(&s.OAuth, "oauth", s.OAuth, "`address` of the OAuth port: TLS, server certificate only, clients send a bearer token (empty: off)")
	fs.StringVar(&s.Edge, "edge", s.Edge, "`address` of the edge port: mutual TLS from edge proxies listed in -edge-table (empty: off)")
	fs.StringVar(&s.Legacy, "legacy", s.Legacy, "`address` of the legacy port, plain TCP and UDP (e.g. 0.0.0.0:5060): OAuth devices get 403 \""+ucm.PortMismatchText+"\"")
	fs.StringVar(&s.DigestRealm, "digest-realm", s.DigestRealm, "`realm` of the SIP Digest challenge on -legacy, where devices without OAuth authenticate with the digest secret of their -devices entry")
	fs.BoolVar(&s.LegacyUnauthenticated, "legacy-unauthenticated", s.LegacyUnauthenticated, "let devices without OAuth register on -legacy with no authentication at all, instead of SIP Digest (labs only)")
	fs.StringVar(&s.PlaintextForLoadTests, "plaintext-for-load-tests", s.PlaintextForLoadTests, "`address` where OAuth registrations are taken over plain TCP and UDP, for load tools without TLS; tokens travel in clear, NEVER in production")

	fs.StringVar(&s.Cert, "cert", s.Cert, "PEM `file` of the node certificate, leaf first then its chain (reloaded when it changes)")
	fs.StringVar(&s.Key, "key", s.Key, "PEM `file` of the node certificate's private key")
	fs.StringVar(&s.Trust, "trust", s.Trust, "trust store of the edge proxies' signers: a PEM, DER or PKCS#12 `file`, or a directory of them (reloaded when it changes)")
	fs.StringVar(&s.EdgeTable, "edge-table", s.EdgeTable, "JSON `file` of the edge proxies allowed on -edge: {\"entries\":[{\"hostNameOrIp\":...,\"names\":[...]}]} (created when missing); \"redis\": in -store's Redis, shared by the nodes")
	fs.StringVar(&s.TableAPI, "table-api", s.TableAPI, "`address` of the HTTPS API through which edge proxies push their entry to -edge-table (empty: off)")
	fs.StringVar(&s.TableUser, "table-user", s.TableUser, "user `name` of -table-api (HTTP Basic)")
	fs.StringVar(&s.TablePassword, "table-password", s.TablePassword, "`password` of -table-user (better in the config file: command lines are visible to other users)")

	fs.StringVar(&s.Keys, "keys", s.Keys, "`file` of the token signing keys: PEM public keys or certificates, or a JWKS document (reloaded when it changes)")
	fs.StringVar(&s.JWKS, "jwks", s.JWKS, "`URL` of the token signing keys as a JWKS, fetched now, hourly and on an unknown key id")
	fs.StringVar(&s.UserClaim, "user-claim", s.UserClaim, "token `claim` naming the user, compared with the device's owner case-insensitively and nothing else (sub, preferred_username, upn, email, ...; default sub)")
	fs.StringVar(&s.DeviceClaim, "device-claim", s.DeviceClaim, "token `claim` naming the device the token is bound to, if it names one (default device)")
	fs.StringVar(&s.IntrospectionClient, "introspection-client", s.IntrospectionClient, "client `id` of the registrar at the -issuer-url server: tokens are then opaque and checked at its introspection endpoint (RFC 7662), the answers kept a minute at most")
	fs.StringVar(&s.IntrospectionSecret, "introspection-secret", s.IntrospectionSecret, "client `secret` of -introspection-client (better in the config file: command lines are visible to other users)")
	fs.StringVar(&s.IssuerURL, "issuer-url", s.IssuerURL, "issuer `URL` of an OAuth 2.0 / OpenID Connect authorization server: its metadata (OpenID Connect Discovery or RFC 8414) gives the signing keys (jwks_uri, as -jwks), pins the issuer (as -issuer) and is the RFC 8898 challenge's authz_server")
	fs.StringVar(&s.DecryptionKey, "decryption-key", s.DecryptionKey, "`file` of the keys that decrypt Unified CM's nested tokens, by kid: JSON {\"<kid>\": \"<base64 or hex of 32 bytes>\"}, a JWK or a JWK set; or one key alone (raw 32 bytes, hex or base64), tried whatever kid a token names (reloaded when it changes)")
	fs.Var(&listFlag{p: &s.Issuers}, "issuer", "accepted token `issuer` (iss); repeat or separate with commas; any when unset")
	fs.Var(&listFlag{p: &s.Audiences}, "audience", "accepted token `audience` (aud); repeat or separate with commas; -audience or -scope is required")
	fs.Var(&listFlag{p: &s.Scopes}, "scope", "`scope` every token must carry; repeat or separate with commas; -audience or -scope is required")
	fs.BoolVar(&s.InsecureAnyAudience, "insecure-any-audience", s.InsecureAnyAudience, "accept tokens of the issuers whatever their audience and scope, ID tokens for other applications among them (not for production)")
	fs.Var(secondsFlag{&s.MaxTokenLifetime}, "max-token-lifetime", "refuse access tokens valid for longer than this (exp - iat), in `seconds` or as a duration; Unified CM's longest is 24h")

	fs.StringVar(&s.Devices, "devices", s.Devices, "JSON `file` of the devices: [{\"name\":\"CSFrado\",\"owner\":\"rado\",\"oauth\":true}, ...] (reloaded when it changes); \"redis\": in -store's Redis, shared by the nodes")
	fs.StringVar(&s.Store, "store", s.Store, "where bindings live: memory, or Redis shared by several nodes with the token revocations and the SIP OAuth mode: redis://[user:password@]host:port[/db] (rediss:// for TLS), with ?master_name=NAME[&addr=host:port...] for Sentinel, redis+cluster://host:port[?addr=host:port...] for Redis Cluster")
	fs.StringVar(&s.StoreCA, "store-ca", s.StoreCA, "PEM `file` of the CA that signed Redis's certificate, for rediss:// (default: the system's)")
	fs.StringVar(&s.StoreCert, "store-cert", s.StoreCert, "PEM `file` of the client certificate given to Redis over rediss:// (Redis asks for one by default), with -store-key")
	fs.StringVar(&s.StoreKey, "store-key", s.StoreKey, "PEM `file` of -store-cert's private key")
	fs.StringVar(&s.NodeName, "node-name", s.NodeName, "this node's `name` in the Warning of the port-mismatch 403")
	fs.Var(&listFlag{p: &s.Domains}, "domain", "`domain` served: the To host of a REGISTER must be one of them and is part of the address of record; repeat or separate with commas; any host, not part of the address, when unset")
	fs.IntVar(&s.MaxBindings, "max-bindings", s.MaxBindings, "most contacts one address of record may hold; beyond: 503 \"Too many registered contacts\"")
	fs.IntVar(&s.MaxDeviceBindings, "max-device-bindings", s.MaxDeviceBindings, "most contacts one device may hold in an address of record, so that one device of a shared line cannot take all its places")
	fs.Var(secondsFlag{&s.MaxExpires}, "max-expires", "longest registration granted, in `seconds` or as a duration")
	fs.Var(secondsFlag{&s.MinExpires}, "min-expires", "shortest registration accepted (423 Interval Too Brief below), in `seconds` or as a duration")
	fs.BoolVar(&s.RFC8898, "rfc8898", s.RFC8898, "challenge in RFC 8898's form (401, WWW-Authenticate) instead of Unified CM's (407, Proxy-Authenticate)")
	fs.StringVar(&s.Realm, "realm", s.Realm, "`realm` of the RFC 8898 challenge")
	fs.StringVar(&s.AuthzServer, "authz-server", s.AuthzServer, "https `URL` of the authorization server, in the RFC 8898 challenge")
	fs.Float64Var(&s.Rate, "rate", s.Rate, "REGISTERs per second allowed from one source address on the OAuth, legacy and plaintext ports (0: no limit); edge proxies are not limited")
	fs.IntVar(&s.RateBurst, "rate-burst", s.RateBurst, "REGISTERs one source may send at once (0: twice -rate)")

	fs.IntVar(&s.MaxConnections, "max-connections", s.MaxConnections, "TCP and TLS connections each SIP port holds at most (0: a quarter of the open-file limit, at most 4096)")
	fs.IntVar(&s.MaxConnectionsPerSource, "max-connections-per-source", s.MaxConnectionsPerSource, "connections one IP address may hold on -oauth and -legacy (0: 512, at most half of -max-connections); -edge takes -max-connections from one address")
	fs.Var(secondsFlag{&s.IdleTimeout}, "idle-timeout", "close a SIP connection silent this long between messages, in `seconds` or as a duration (0: 5m)")
	fs.Var(secondsFlag{&s.MessageTimeout}, "message-timeout", "close a SIP connection whose message is not complete this long after its first byte, in `seconds` or as a duration (0: 20s)")
	fs.IntVar(&s.MaxMessageSize, "max-message-size", s.MaxMessageSize, "largest SIP message taken, in `bytes`, answered 513 beyond (0: 32768; at most 65535)")
	fs.IntVar(&s.TokenCache, "token-cache", s.TokenCache, fmt.Sprintf("validated tokens remembered, so that a refresh REGISTER costs no signature check (0: twice the devices of -devices at start, at least %d; -1: none)", sipoauth.DefaultCacheSize))
	fs.Float64Var(&s.UDPSourceRate, "udp-source-rate", s.UDPSourceRate, "UDP requests per second one IP address may send to -legacy (0: 50); the excess is dropped before the SIP stack")
	fs.IntVar(&s.UDPMaxPerWindow, "udp-max-per-window", s.UDPMaxPerWindow, "UDP requests passed to the SIP stack per 32 s (0: 16384)")
	fs.IntVar(&s.UDPReceiveBuffer, "udp-receive-buffer", s.UDPReceiveBuffer, fmt.Sprintf("receive buffer asked for each UDP socket, in `bytes` (the kernel doubles it, within net.core.rmem_max; 0: %d)", sipserve.DefaultUDPReceiveBuffer))
	fs.IntVar(&s.UDPKeptAnswers, "udp-kept-answers", s.UDPKeptAnswers, fmt.Sprintf("memory for the 200 OKs kept to resend to retransmitted REGISTERs over UDP, in `bytes`, oldest let go first (0: %d; -1: none); a retransmission whose answer has gone is answered again from the bindings", DefaultUDPKeptAnswers))
	fs.StringVar(&s.Metrics, "metrics", s.Metrics, "`address` serving Prometheus metrics on /metrics over HTTP (empty: off)")
	fs.BoolVar(&s.Pprof, "pprof", s.Pprof, "also serve Go's profiles (net/http/pprof, without the command line) on /debug/pprof/ at -metrics, for measuring the registrar under load; they show the process's internals and a profile costs CPU while it is taken, so keep -metrics on a private address")
	fs.StringVar(&s.LogLevel, "log-level", s.LogLevel, "debug, info (one line per REGISTER), warn or error")
	fs.StringVar(&s.ImportDevices, "import-devices", "", "make the devices of this JSON `file` (as -devices reads) the cluster's, in -store's Redis (for -devices redis), then exit")
	fs.StringVar(&s.SIPOAuthMode, "sip-oauth-mode", "", "`enable` or disable SIP OAuth on every node of the cluster, in -store's Redis (Unified CM's utils sipOAuth-mode), then exit")
	fs.StringVar(&s.RevokeUser, "revoke-user", "", "revoke every token of this `user` issued until now, on every node sharing -store's Redis, then exit")
	fs.Var(secondsFlag{&s.ShutdownTimeout}, "shutdown-timeout", "on SIGTERM, how long the requests already read may take to be answered before the connections are closed anyway, in `seconds` or as a duration (0: 10s)")
	fs.Var(secondsFlag{&s.ReloadInterval}, "reload-interval", "how often files are checked for changes, in `seconds` or as a duration")
	fs.Bool("version", false, "print the version (module version and VCS revision) and exit")
	return fs
}

// loadConfig reads the settings: defaults, then the -config file, then
// the other flags. It checks them all before returning.
func loadConfig(args []string) (settings, error) {
	// First pass: find -config, and report bad flags.
	var config string
	scratch := defaults()
	fs := flagSet(&scratch, &config)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	if fs.NArg() > 0 {
		return settings{}, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	s := defaults()
	if config != "" {
		if err := readConfigFile(config, &s); err != nil {
			return settings{}, err
		}
	}
	// Second pass: the flags given override the file.
	fs = flagSet(&s, &config)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	s.config = config
	return s, s.check()
}

// maxConfigFile bounds the config file.
const maxConfigFile = 1 << 20

// readConfigFile reads a JSON config file over s. Unknown names are
// errors, so that a misspelt setting is not silently ignored. Relative
// paths in it are relative to the file's directory.
func readConfigFile(path string, s *settings) error {
	data, err := bounded.ReadFile(path, maxConfigFile)
	if err != nil {
		return badSetting("config", "%v", err)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return badSetting("config", "%s: not a JSON object of settings: %v", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badSetting("config", "%s: unexpected data after the JSON object", path)
	}
	fields := settingFields(s)
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		f, ok := fields[name]
		if !ok {
			errs = append(errs, badSetting("config", "%s: unknown setting %q", path, name))
			continue
		}
		if err := json.Unmarshal(raw[name], f); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				err = fmt.Errorf("want a JSON %s, not %s", te.Type, te.Value)
			}
			errs = append(errs, badSetting(name, "in %s: %v", path, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&s.Cert, &s.Key, &s.Trust, &s.EdgeTable, &s.Keys, &s.DecryptionKey, &s.Devices, &s.StoreCA, &s.StoreCert, &s.StoreKey} {
		if *p != "" && *p != inRedis && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return nil
}

// settingFields maps the JSON names of the settings to their fields.
func settingFields(s *settings) map[string]any {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	m := make(map[string]any, t.NumField())
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("json"); name != "" && name != "-" {
			m[name] = v.Field(i).Addr().Interface()
		}
	}
	return m
}

// sipListeners are the SIP listener settings, by flag name.
func (s *settings) sipListeners() []struct{ name, addr string } {
	return []struct{ name, addr string }{
		{"oauth", s.OAuth}, {"edge", s.Edge}, {"legacy", s.Legacy}, {"plaintext-for-load-tests", s.PlaintextForLoadTests},
	}
}

// check validates the settings that can be checked without touching
// files or the network; start reports the rest.
func (s *settings) check() error {
	var errs []error
	bad := func(name, format string, args ...any) { errs = append(errs, badSetting(name, format, args...)) }
	if s.clusterAction() {
		// An action in Redis needs the store alone, not a whole node.
		s.checkStore(bad)
		return errors.Join(errs...)
	}

	ports := map[int]string{}
	for _, l := range s.sipListeners() {
		if l.addr == "" {
			continue
		}
		port, err := checkAddr(l.addr)
		if err != nil {
			bad(l.name, "%v", err)
			continue
		}
		// The registrar tells roles apart by the local port.
		if other, dup := ports[port]; dup && port != 0 {
			bad(l.name, "port %d is already the port of -%s: each role needs its own port", port, other)
		}
		ports[port] = l.name
	}
	if s.OAuth == "" && s.Edge == "" && s.PlaintextForLoadTests == "" {
		bad("oauth", "no OAuth listener: set -oauth, -edge or -plaintext-for-load-tests")
	}
	for _, l := range []struct{ name, addr string }{{"table-api", s.TableAPI}, {"metrics", s.Metrics}} {
		if l.addr != "" {
			if _, err := checkAddr(l.addr); err != nil {
				bad(l.name, "%v", err)
			}
		}
	}
	if s.LegacyUnauthenticated && s.Legacy == "" {
		bad("legacy-unauthenticated", "has no effect without -legacy")
	}
	if s.DigestRealm == "" || !printableASCII(strings.ReplaceAll(s.DigestRealm, " ", "_")) || strings.ContainsAny(s.DigestRealm, `"\`) {
		bad("digest-realm", "%q: want printable characters without quotes", s.DigestRealm)
	}

	needCert := s.OAuth != "" || s.Edge != "" || s.TableAPI != ""
	switch {
	case needCert && s.Cert == "":
		bad("cert", "missing: -oauth, -edge and -table-api present the node certificate")
	case s.Cert != "" && s.Key == "":
		bad("key", "missing: the private key of -cert")
	case s.Cert == "" && s.Key != "":
		bad("cert", "missing: -key is given without its certificate")
	}
	if s.Edge != "" {
		if s.Trust == "" {
			bad("trust", "missing: -edge verifies the edge proxies' certificates against it (set -edge \"\" to serve no edge proxy)")
		}
		if s.EdgeTable == "" {
			bad("edge-table", "missing: -edge accepts only the edge proxies listed in it (set -edge \"\" to serve no edge proxy)")
		}
	}
	if s.TableAPI != "" {
		if s.EdgeTable == "" {
			bad("table-api", "needs -edge-table, the table it writes")
		}
		if s.TableUser == "" {
			bad("table-user", "missing: -table-api lets in this user only")
		}
		if s.TablePassword == "" {
			bad("table-password", "missing: -table-api needs a password")
		}
	} else if s.TableUser != "" || s.TablePassword != "" {
		bad("table-api", "missing: -table-user and -table-password are for it")
	}
	if s.Pprof && s.Metrics == "" {
		bad("metrics", "missing: -pprof serves its profiles there")
	}

	if s.IntrospectionClient != "" && s.IssuerURL == "" {
		bad("introspection-client", "needs -issuer-url, whose metadata gives the introspection endpoint")
	}
	if s.IntrospectionSecret != "" && s.IntrospectionClient == "" {
		bad("introspection-secret", "is for -introspection-client")
	}
	switch {
	case s.IssuerURL != "" && (s.Keys != "" || s.JWKS != "" || len(s.Issuers) > 0):
		bad("issuer-url", "gives the keys and the issuer: leave out -keys, -jwks and -issuer")
	case s.IssuerURL != "":
		if u, err := url.Parse(s.IssuerURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("issuer-url", "%q is not an http or https URL", s.IssuerURL)
		}
	case s.Keys == "" && s.JWKS == "":
		bad("keys", "missing: set -keys FILE, -jwks URL or -issuer-url URL, the keys that verify tokens")
	case s.Keys != "" && s.JWKS != "":
		bad("jwks", "give -keys or -jwks, not both")
	case s.JWKS != "":
		if u, err := url.Parse(s.JWKS); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("jwks", "%q is not an http or https URL", s.JWKS)
		}
	}
	for _, l := range []struct {
		name string
		vs   stringList
	}{{"issuer", s.Issuers}, {"audience", s.Audiences}, {"scope", s.Scopes}, {"domain", s.Domains}} {
		for _, v := range l.vs {
			if !printableASCII(v) {
				bad(l.name, "%q has spaces or control characters", v)
			}
		}
	}

	switch {
	case len(s.Audiences) == 0 && len(s.Scopes) == 0 && !s.InsecureAnyAudience:
		bad("audience", "missing: set -audience or -scope, so that tokens issued for other applications (ID tokens among them) are refused; -insecure-any-audience accepts them all")
	case s.InsecureAnyAudience && (len(s.Audiences) > 0 || len(s.Scopes) > 0):
		bad("insecure-any-audience", "contradicts -audience and -scope")
	}
	for _, l := range []struct {
		name string
		v    float64
	}{{"max-connections", float64(s.MaxConnections)}, {"max-connections-per-source", float64(s.MaxConnectionsPerSource)},
		{"idle-timeout", float64(s.IdleTimeout)}, {"message-timeout", float64(s.MessageTimeout)},
		{"max-message-size", float64(s.MaxMessageSize)}, {"udp-source-rate", s.UDPSourceRate}, {"udp-max-per-window", float64(s.UDPMaxPerWindow)},
		{"udp-receive-buffer", float64(s.UDPReceiveBuffer)}, {"shutdown-timeout", float64(s.ShutdownTimeout)}} {
		if l.v < 0 {
			bad(l.name, "%v: must be 0 (the default) or more; a bound cannot be turned off", l.v)
		}
	}
	if s.UDPKeptAnswers < -1 {
		bad("udp-kept-answers", "%d: 0 (the default), -1 (none) or a number of bytes", s.UDPKeptAnswers)
	}
	if s.TokenCache < -1 {
		bad("token-cache", "%d: 0 (the default), -1 (none) or a number of tokens", s.TokenCache)
	}
	if s.MaxMessageSize > 65535 {
		bad("max-message-size", "%d: the SIP stack takes no message over 65535 bytes", s.MaxMessageSize)
	}
	if s.MaxTokenLifetime <= 0 {
		bad("max-token-lifetime", "%d: must be positive", s.MaxTokenLifetime)
	}
	if s.MaxBindings <= 0 {
		bad("max-bindings", "%d: must be positive", s.MaxBindings)
	}
	if s.MaxDeviceBindings <= 0 {
		bad("max-device-bindings", "%d: must be positive", s.MaxDeviceBindings)
	}
	if s.Devices == "" {
		bad("devices", "missing: the JSON file of the devices allowed to register")
	}
	s.checkStore(bad)
	if s.NodeName == "" {
		bad("node-name", "missing (the host name could not be read)")
	} else if !printableASCII(s.NodeName) || strings.ContainsAny(s.NodeName, `"\`) {
		bad("node-name", "%q: want printable characters without spaces or quotes, e.g. UCM2-PUB", s.NodeName)
	}
	switch {
	case s.MinExpires <= 0:
		bad("min-expires", "%d: must be positive", s.MinExpires)
	case s.MaxExpires <= 0:
		bad("max-expires", "%d: must be positive", s.MaxExpires)
	case s.MaxExpires < s.MinExpires:
		bad("max-expires", "%d is under -min-expires %d", s.MaxExpires, s.MinExpires)
	}
	if s.RFC8898 {
		ch := bearer.Challenge{Realm: s.Realm, AuthzServer: s.AuthzServer}
		if err := ch.Validate(); err != nil {
			var pe *bearer.ParamError
			if errors.As(err, &pe) && pe.Param == "authz_server" {
				bad("authz-server", "%q: want an https URL", s.AuthzServer)
			} else {
				bad("realm", "%v", err)
			}
		}
		if s.Realm == "" {
			bad("realm", "missing: RFC 8898 challenges carry a realm")
		}
	} else {
		if s.AuthzServer != "" {
			bad("authz-server", "only in RFC 8898 challenges: add -rfc8898")
		}
		if s.Realm != bearer.CiscoRealm {
			bad("realm", "%q: Unified CM's challenge always has realm %q; other realms need -rfc8898", s.Realm, bearer.CiscoRealm)
		}
	}
	if s.Rate < 0 {
		bad("rate", "%v: must be 0 (no limit) or more", s.Rate)
	}
	if s.RateBurst < 0 {
		bad("rate-burst", "%d: must be 0 (twice -rate) or more", s.RateBurst)
	}
	if _, err := parseLevel(s.LogLevel); err != nil {
		bad("log-level", "%v", err)
	}
	if s.ReloadInterval <= 0 {
		bad("reload-interval", "%d: must be positive", s.ReloadInterval)
	}
	return errors.Join(errs...)
}

// limits are the bounds of the SIP sockets.
func (s *settings) limits() siplimit.Limits {
	return siplimit.Limits{
		MaxConns: s.MaxConnections, MaxConnsPerSource: s.MaxConnectionsPerSource,
		IdleTimeout: s.IdleTimeout.duration(), MessageTimeout: s.MessageTimeout.duration(),
		MaxMessageSize: s.MaxMessageSize, SourceRate: s.UDPSourceRate, MaxPerWindow: s.UDPMaxPerWindow,
	}
}

// checkAddr checks a listen address and returns its port.
func checkAddr(addr string) (int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		return 0, fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, p)
	}
	if strings.ContainsAny(host, " /") {
		return 0, fmt.Errorf("%q: bad host %q", addr, host)
	}
	return port, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// checkStore checks -store, its TLS files, the places kept in it and the
// cluster actions.
func (s *settings) checkStore(bad func(name, format string, args ...any)) {
	if s.Store != "memory" {
		if c, err := redisstore.NewClient(s.Store, nil); err != nil {
			bad("store", "%v (or memory, the default)", err)
		} else {
			_ = c.Close()
		}
	}
	for _, shared := range []struct{ name, v string }{{"edge-table", s.EdgeTable}, {"devices", s.Devices}} {
		if shared.v == inRedis && s.Store == "memory" {
			bad(shared.name, "redis: needs -store redis://..., the Redis it is kept in")
		}
	}
	if s.clusterAction() && s.Store == "memory" {
		bad("store", "memory: -import-devices, -sip-oauth-mode and -revoke-user act on a Redis -store")
	}
	switch s.SIPOAuthMode {
	case "", "enable", "disable":
	default:
		bad("sip-oauth-mode", "%q: want enable or disable", s.SIPOAuthMode)
	}
	if (s.StoreCert == "") != (s.StoreKey == "") {
		bad("store-cert", "-store-cert and -store-key go together")
	}
	if (s.StoreCA != "" || s.StoreCert != "") && !strings.HasPrefix(s.Store, "rediss") {
		bad("store-ca", "-store-ca, -store-cert and -store-key are for a rediss:// -store")
	}
}
