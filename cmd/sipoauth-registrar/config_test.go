package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/sipoauth"
)

// required are the settings without which no registrar starts, given as
// flags, but the audience (or scope) that withAudience adds.
var required = []string{"-cert", "n.pem", "-key", "n.key", "-trust", "ca.pem", "-edge-table", "t.json", "-keys", "k.pem", "-devices", "d.json"}

func withAudience(args ...string) []string {
	return append(append(copyArgs(required), "-audience", "sip"), args...)
}

func TestLoadConfigFlags(t *testing.T) {
	s, err := loadConfig(append(copyArgs(required),
		"-oauth", "10.0.0.1:5090", "-edge", "10.0.0.1:5091", "-legacy", "10.0.0.1:5060",
		"-issuer", "https://a.example.com,https://b.example.com", "-issuer", "https://c.example.com",
		"-audience", "sip", "-store", "redis://127.0.0.1:6379/2", "-node-name", "UCM2-PUB",
		"-max-expires", "5m", "-min-expires", "30", "-rfc8898", "-realm", "atlanta.example.com",
		"-authz-server", "https://as.example.com/", "-rate", "2.5", "-metrics", "127.0.0.1:9090",
		"-log-level", "debug", "-decryption-key", "dk.json", "-reload-interval", "1m",
		"-table-api", "0.0.0.0:8443", "-table-user", "expc", "-table-password", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	want := settings{
		OAuth: "10.0.0.1:5090", Edge: "10.0.0.1:5091", Legacy: "10.0.0.1:5060",
		Cert: "n.pem", Key: "n.key", Trust: "ca.pem", EdgeTable: "t.json",
		TableAPI: "0.0.0.0:8443", TableUser: "expc", TablePassword: "pw",
		Keys: "k.pem", DecryptionKey: "dk.json",
		Issuers:   stringList{"https://a.example.com", "https://b.example.com", "https://c.example.com"},
		Audiences: stringList{"sip"},
		Devices:   "d.json", Store: "redis://127.0.0.1:6379/2", NodeName: "UCM2-PUB",
		MaxExpires: 300, MinExpires: 30, MaxBindings: 10, MaxDeviceBindings: 3, MaxTokenLifetime: 86400, DigestRealm: "ccmsipline", RFC8898: true, Realm: "atlanta.example.com",
		AuthzServer: "https://as.example.com/", Rate: 2.5, Metrics: "127.0.0.1:9090",
		LogLevel: "debug", ReloadInterval: 60,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("settings\n got %+v\nwant %+v", s, want)
	}

	// Defaults.
	s, err = loadConfig(withAudience())
	if err != nil {
		t.Fatal(err)
	}
	if s.OAuth != "0.0.0.0:5090" || s.Edge != "0.0.0.0:5091" || s.Legacy != "" || s.Store != "memory" ||
		s.MaxExpires != 120 || s.MinExpires != 60 || s.Realm != "ccmsipline" || s.RFC8898 || s.LogLevel != "info" {
		t.Fatalf("defaults: %+v", s)
	}
}

func copyArgs(s []string) []string { return append([]string(nil), s...) }

func TestLoadConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "registrar.json")
	writeFile(t, conf, `{
		"oauth": "127.0.0.1:15090", "edge": "", "legacy": "127.0.0.1:15060",
		"cert": "node.pem", "key": "/etc/sipoauth/node.key",
		"keys": "authz.pem", "devices": "devices.json",
		"issuer": "https://cucm.example.com", "audience": ["sip", "jabber"],
		"store": "memory", "node-name": "UCM2-SUB1",
		"max-expires": "3m", "min-expires": 45, "rate": 10, "rate-burst": 3,
		"metrics": "127.0.0.1:19090", "log-level": "warn", "reload-interval": 2
	}`)
	s, err := loadConfig([]string{"-config", conf})
	if err != nil {
		t.Fatal(err)
	}
	want := settings{
		OAuth: "127.0.0.1:15090", Legacy: "127.0.0.1:15060",
		Cert: filepath.Join(dir, "node.pem"), Key: "/etc/sipoauth/node.key",
		Keys: filepath.Join(dir, "authz.pem"), Devices: filepath.Join(dir, "devices.json"),
		Issuers: stringList{"https://cucm.example.com"}, Audiences: stringList{"sip", "jabber"},
		Store: "memory", NodeName: "UCM2-SUB1", MaxExpires: 180, MinExpires: 45, MaxBindings: 10, MaxDeviceBindings: 3, MaxTokenLifetime: 86400, DigestRealm: "ccmsipline", Rate: 10, RateBurst: 3,
		Realm: "ccmsipline", Metrics: "127.0.0.1:19090", LogLevel: "warn", ReloadInterval: 2,
		config: conf,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("settings\n got %+v\nwant %+v", s, want)
	}

	// Flags override the file, wherever they stand; a list flag replaces
	// the file's list; paths given as flags stay as given.
	s, err = loadConfig([]string{"-oauth", "127.0.0.1:25090", "-config", conf, "-issuer", "https://other.example.com",
		"-devices", "mine.json", "-max-expires", "60", "-rate", "0"})
	if err != nil {
		t.Fatal(err)
	}
	want.OAuth, want.Issuers, want.Devices, want.MaxExpires, want.Rate = "127.0.0.1:25090", stringList{"https://other.example.com"}, "mine.json", 60, 0
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("with flags\n got %+v\nwant %+v", s, want)
	}

	// "redis" is a place, not a file beside the configuration.
	shared := filepath.Join(dir, "cluster.json")
	writeFile(t, shared, `{"edge-table": "redis", "devices": "redis", "store": "redis://10.0.0.5:6379/0",
		"audience": "sip", "keys": "authz.pem", "store-ca": "redis-ca.pem", "shutdown-timeout": "30s", "oauth": "", "edge": "", "plaintext-for-load-tests": "127.0.0.1:0"}`)
	if _, err := loadConfig([]string{"-config", shared}); err == nil || !strings.Contains(err.Error(), "are for a rediss:// -store") {
		t.Fatalf("-store-ca with redis://: %v", err)
	}
	writeFile(t, shared, `{"edge-table": "redis", "devices": "redis", "store": "rediss://10.0.0.5:6379/0",
		"audience": "sip", "keys": "authz.pem", "store-ca": "redis-ca.pem", "shutdown-timeout": "30s", "oauth": "", "edge": "", "plaintext-for-load-tests": "127.0.0.1:0"}`)
	if s, err = loadConfig([]string{"-config", shared}); err != nil {
		t.Fatal(err)
	}
	if s.EdgeTable != "redis" || s.Devices != "redis" || s.StoreCA != filepath.Join(dir, "redis-ca.pem") || s.shutdownTimeout() != 30*time.Second {
		t.Errorf("edge-table %q, devices %q, store-ca %q, shutdown %v", s.EdgeTable, s.Devices, s.StoreCA, s.shutdownTimeout())
	}
}

// Each bad setting gives an error that names it.
func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		return p
	}
	cases := []struct {
		name string
		args []string
		want []string // substrings of the error, the setting's name first
	}{
		{"oauth not host:port", []string{"-oauth", "5090"}, []string{`-oauth: "5090" is not host:port: missing port in address`}},
		{"oauth bad port", []string{"-oauth", "0.0.0.0:70000"}, []string{"-oauth:", "port \"70000\""}},
		{"edge same port as oauth", []string{"-edge", "127.0.0.1:5090"}, []string{"-edge: port 5090 is already the port of -oauth"}},
		{"legacy same port as edge", []string{"-legacy", ":5091"}, []string{"-legacy: port 5091 is already the port of -edge"}},
		{"plaintext bad", []string{"-plaintext-for-load-tests", "x"}, []string{"-plaintext-for-load-tests:"}},
		{"no oauth listener", []string{"-oauth", "", "-edge", ""}, []string{"-oauth: no OAuth listener"}},
		{"no cert", []string{"-cert", "", "-key", ""}, []string{"-cert: missing"}},
		{"cert without key", []string{"-key", ""}, []string{"-key: missing"}},
		{"edge without trust", []string{"-trust", ""}, []string{"-trust: missing"}},
		{"edge without table", []string{"-edge-table", ""}, []string{"-edge-table: missing"}},
		{"table api without user", []string{"-table-api", ":8443", "-table-password", "pw"}, []string{"-table-user: missing"}},
		{"table api without password", []string{"-table-api", ":8443", "-table-user", "u"}, []string{"-table-password: missing"}},
		{"table user without api", []string{"-table-user", "u"}, []string{"-table-api: missing"}},
		{"pprof without metrics", []string{"-pprof"}, []string{"-metrics: missing: -pprof"}},
		{"token cache below -1", []string{"-token-cache", "-2"}, []string{"-token-cache: -2:"}},
		{"kept UDP answers below -1", []string{"-udp-kept-answers", "-2"}, []string{"-udp-kept-answers: -2:"}},
		{"table api bad", []string{"-table-api", "nope", "-table-user", "u", "-table-password", "p"}, []string{"-table-api:"}},
		{"no keys", []string{"-keys", ""}, []string{"-keys: missing"}},
		{"keys and jwks", []string{"-jwks", "https://cucm.example.com/jwks"}, []string{"-jwks: give -keys or -jwks, not both"}},
		{"jwks not a URL", []string{"-keys", "", "-jwks", "ftp://x"}, []string{"-jwks:", "not an http or https URL"}},
		{"issuer with space", []string{"-issuer", "a b"}, []string{`-issuer: "a b"`}},
		{"audience with control", []string{"-audience", "a\tb"}, []string{"-audience:"}},
		{"no devices", []string{"-devices", ""}, []string{"-devices: missing"}},
		{"bad store", []string{"-store", "mysql://db"}, []string{`-store: redisstore: mysql://db: want redis://, rediss://, redis+cluster:// or rediss+cluster:// (or memory, the default)`}},
		{"edge table in Redis without Redis", []string{"-edge-table", "redis"}, []string{`-edge-table: redis: needs -store redis://..., the Redis it is kept in`}},
		{"devices in Redis without Redis", []string{"-devices", "redis"}, []string{`-devices: redis: needs -store redis://...`}},
		{"Redis TLS files without TLS", []string{"-store", "redis://127.0.0.1:6379", "-store-ca", "ca.pem"}, []string{`-store-ca: -store-ca, -store-cert and -store-key are for a rediss:// -store`}},
		{"negative shutdown timeout", []string{"-shutdown-timeout", "-1"}, []string{`-shutdown-timeout`}},
		{"bad redis URL", []string{"-store", "redis://host:port:x/abc"}, []string{"-store:"}},
		{"bad node name", []string{"-node-name", `UCM "2"`}, []string{"-node-name:"}},
		{"empty node name", []string{"-node-name", ""}, []string{"-node-name: missing"}},
		{"min expires zero", []string{"-min-expires", "0"}, []string{"-min-expires: 0: must be positive"}},
		{"max under min", []string{"-max-expires", "30"}, []string{"-max-expires: 30 is under -min-expires 60"}},
		{"expires not a number", []string{"-max-expires", "soon"}, []string{"-max-expires", `"soon" is neither a number of seconds`}},
		{"authz server without rfc8898", []string{"-authz-server", "https://as.example.com"}, []string{"-authz-server: only in RFC 8898 challenges"}},
		{"realm without rfc8898", []string{"-realm", "other"}, []string{"-realm:", "need -rfc8898"}},
		{"authz server not https", []string{"-rfc8898", "-authz-server", "http://as.example.com"}, []string{`-authz-server: "http://as.example.com": want an https URL`}},
		{"rfc8898 without realm", []string{"-rfc8898", "-realm", ""}, []string{"-realm: missing"}},
		{"negative rate", []string{"-rate", "-1"}, []string{"-rate: -1: must be 0"}},
		{"negative burst", []string{"-rate-burst", "-1"}, []string{"-rate-burst:"}},
		{"rate not a number", []string{"-rate", "fast"}, []string{"-rate", "invalid value"}},
		{"bad log level", []string{"-log-level", "loud"}, []string{`-log-level: "loud": want debug, info, warn or error`}},
		{"metrics bad", []string{"-metrics", "9090"}, []string{"-metrics:"}},
		{"legacy-unauthenticated alone", []string{"-legacy-unauthenticated"}, []string{"-legacy-unauthenticated: has no effect without -legacy"}},
		{"reload interval", []string{"-reload-interval", "0"}, []string{"-reload-interval:"}},
		{"any audience and an audience", []string{"-insecure-any-audience"}, []string{"-insecure-any-audience: contradicts"}},
		{"scope with space", []string{"-scope", "a b"}, []string{`-scope: "a b"`}},
		{"domain with control", []string{"-domain", "a\tb"}, []string{"-domain:"}},
		{"max bindings zero", []string{"-max-bindings", "0"}, []string{"-max-bindings: 0: must be positive"}},
		{"max device bindings zero", []string{"-max-device-bindings", "0"}, []string{"-max-device-bindings: 0: must be positive"}},
		{"negative max connections", []string{"-max-connections", "-1"}, []string{"-max-connections: -1: must be 0"}},
		{"message size over sipgo's", []string{"-max-message-size", "70000"}, []string{"-max-message-size: 70000"}},
		{"digest realm with a quote", []string{"-digest-realm", `a"b`}, []string{"-digest-realm:"}},
		{"max token lifetime zero", []string{"-max-token-lifetime", "0"}, []string{"-max-token-lifetime: 0: must be positive"}},
		{"unknown flag", []string{"-colour", "blue"}, []string{"flag provided but not defined: -colour"}},
		{"stray argument", []string{"serve"}, []string{`unexpected argument "serve"`}},
		{"missing config file", []string{"-config", filepath.Join(dir, "absent.json")}, []string{"-config:", "absent.json"}},
		{"config not JSON", []string{"-config", file("bad.json", "oauth: 1")}, []string{"-config:", "not a JSON object"}},
		{"config unknown setting", []string{"-config", file("unknown.json", `{"oauth_port": 5090}`)}, []string{`-config:`, `unknown setting "oauth_port"`}},
		{"config wrong type", []string{"-config", file("type.json", `{"rate": "fast"}`)}, []string{"-rate: in ", "want a JSON float64, not string"}},
		{"config bad seconds", []string{"-config", file("secs.json", `{"max-expires": true}`)}, []string{"-max-expires: in ", "number of seconds"}},
		{"config bad list", []string{"-config", file("list.json", `{"issuer": 3}`)}, []string{"-issuer: in ", "a string or an array"}},
		{"config trailing data", []string{"-config", file("trail.json", `{} {}`)}, []string{"-config:", "unexpected data"}},
		{"config bad value", []string{"-config", file("value.json", `{"store": "mysql://db"}`)}, []string{"-store:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(withAudience(tc.args...))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	// Without an audience or a scope, ID tokens and tokens meant for other
	// applications would register: refused unless said explicitly.
	if _, err := loadConfig(copyArgs(required)); err == nil || !strings.Contains(err.Error(), "-audience: missing: set -audience or -scope") {
		t.Errorf("no audience nor scope: %v", err)
	}
	if s, err := loadConfig(append(copyArgs(required), "-scope", "sip:register")); err != nil || !reflect.DeepEqual(s.Scopes, stringList{"sip:register"}) {
		t.Errorf("a scope instead: %+v, %v", s.Scopes, err)
	}
	if s, err := loadConfig(append(copyArgs(required), "-insecure-any-audience")); err != nil || !s.InsecureAnyAudience {
		t.Errorf("-insecure-any-audience: %v", err)
	}

	// Every problem is reported at once, one line each.
	_, err := loadConfig([]string{"-oauth", "x", "-rate", "-2"})
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, name := range []string{"-oauth:", "-cert:", "-trust:", "-edge-table:", "-keys:", "-devices:", "-rate:"} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, name)
		}
		if !found {
			t.Errorf("no line for %s in\n%s", name, err)
		}
	}
	var se *settingError
	if !errors.As(err, &se) {
		t.Errorf("%T is not a settingError", err)
	}

	if _, err := loadConfig([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTokenCacheSize: by default the validator remembers two tokens per
// device, at least sipoauth's default; a setting is taken as it is.
func TestTokenCacheSize(t *testing.T) {
	for _, tc := range []struct{ setting, devices, want int }{
		{0, 0, sipoauth.DefaultCacheSize},
		{0, 3, sipoauth.DefaultCacheSize},
		{0, 5000, sipoauth.DefaultCacheSize},
		{0, 20000, 40000},
		{500, 20000, 500},
		{-1, 20000, -1},
	} {
		if got := tokenCacheSize(tc.setting, tc.devices); got != tc.want {
			t.Errorf("tokenCacheSize(%d, %d) = %d, want %d", tc.setting, tc.devices, got, tc.want)
		}
	}
}
