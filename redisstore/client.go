package redisstore

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewClient returns a client for the Redis deployment that rawURL names,
// with ContextTimeoutEnabled set (so that a Redis that hangs fails a
// REGISTER within its deadline):
//
//	redis://[user:password@]host:port[/db]        one server; rediss:// for TLS
//	redis://[user:password@]host:port[/db]?master_name=mymaster[&addr=host:port...]
//	                                              Sentinel: host:port and each addr are
//	                                              sentinels, which name the master; the
//	                                              user and password are the sentinels'
//	                                              and the master's, unless username= and
//	                                              password= give the master's apart
//	redis+cluster://[user:password@]host:port[?addr=host:port...]
//	                                              Redis Cluster, from these seed nodes;
//	                                              rediss+cluster:// for TLS
//
// The user and password are those of a Redis ACL user (or the password
// alone, for requirepass). A command dials a Redis that refuses the
// connection twice, not go-redis's five times. Other query parameters are go-redis's options
// (redis.ParseURL, ParseFailoverURL, ParseClusterURL: dial_timeout=3s,
// pool_size=20, ...). tlsConfig, if not nil, is used for rediss: a CA
// of its own, a client certificate (Redis asks for one by default).
func NewClient(rawURL string, tlsConfig *tls.Config) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", Redact(rawURL), err)
	}
	var c redis.UniversalClient
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "redis+cluster" || scheme == "rediss+cluster":
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return nil, fmt.Errorf("redisstore: %s: Redis Cluster has database 0 only", Redact(rawURL))
		}
		if u.Query().Has("master_name") {
			return nil, fmt.Errorf("redisstore: %s: master_name is for Sentinel, not Redis Cluster", Redact(rawURL))
		}
		u.Scheme = strings.TrimSuffix(scheme, "+cluster")
		u.Path = ""
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", Redact(rawURL), err)
		}
		o.ContextTimeoutEnabled = true
		o.DialerRetries = dialerRetries(o.DialerRetries)
		o.TLSConfig = withTLS(o.TLSConfig, tlsConfig)
		c = redis.NewClusterClient(o)
	case scheme != "redis" && scheme != "rediss":
		return nil, fmt.Errorf("redisstore: %s: want redis://, rediss://, redis+cluster:// or rediss+cluster://", Redact(rawURL))
	case u.Query().Has("master_name") && u.Query().Get("master_name") == "":
		return nil, fmt.Errorf("redisstore: %s: master_name is empty: name the master the sentinels watch", Redact(rawURL))
	case u.Query().Has("master_name"):
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", Redact(rawURL), err)
		}
		if o.Username == "" && o.Password == "" {
			o.Username, o.Password = o.SentinelUsername, o.SentinelPassword
		}
		o.ContextTimeoutEnabled = true
		o.DialerRetries = dialerRetries(o.DialerRetries)
		o.TLSConfig = withTLS(o.TLSConfig, tlsConfig)
		c = redis.NewFailoverClient(o)
	case u.Query().Has("addr"):
		return nil, fmt.Errorf("redisstore: %s: addr= lists more servers, for Sentinel (with master_name=) or Redis Cluster (redis+cluster://)", Redact(rawURL))
	default:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", Redact(rawURL), err)
		}
		o.ContextTimeoutEnabled = true
		o.DialerRetries = dialerRetries(o.DialerRetries)
		o.TLSConfig = withTLS(o.TLSConfig, tlsConfig)
		c = redis.NewClient(o)
	}
	return c, nil
}

// dialerRetries is how many times a command dials a Redis that refuses
// the connection: go-redis's default (5, with backoff) holds each command
// for seconds during an outage, and the node's own monitor and retries
// take care of it; 2 unless the URL says (dialer_retries=).
func dialerRetries(fromURL int) int {
	if fromURL > 0 {
		return fromURL
	}
	return 2
}

// withTLS is the TLS configuration of a client: the URL's (rediss), with
// the caller's in its place when given; none for redis://.
func withTLS(fromURL, given *tls.Config) *tls.Config {
	if fromURL == nil || given == nil {
		return fromURL
	}
	c := given.Clone()
	if c.ServerName == "" {
		c.ServerName = fromURL.ServerName
	}
	if fromURL.InsecureSkipVerify {
		c.InsecureSkipVerify = true
	}
	return c
}

// Redact returns a Redis URL with its passwords (the user's, and the
// password= and sentinel_password= parameters) replaced by "xxxxx", for
// logs and errors.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a Redis URL that does not parse)"
	}
	q := u.Query()
	for _, k := range []string{"password", "sentinel_password"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
		}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
