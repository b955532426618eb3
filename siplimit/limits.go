package siplimit

import (
	"log/slog"
	"time"

	"github.com/sipoauth/sdk/internal/defaults"
)

// Limits are the bounds a Listener or a PacketConn enforces. The zero value
// means the defaults listed on each field (and, with the reasons, in the
// package documentation); a negative value turns a bound off where its
// field says so. Effective returns the limits with the defaults filled in.
type Limits struct {
	// HandshakeTimeout bounds a TLS handshake, from the TCP accept to its
	// end (TLS listeners only). Default 10 s; it cannot be turned off.
	HandshakeTimeout time.Duration
	// IdleTimeout closes a stream connection on which no byte arrived for
	// this long between messages; CRLF keep-alives count as bytes. Default
	// 5 min; negative: none.
	IdleTimeout time.Duration
	// MessageTimeout closes a stream connection whose message, once its
	// first byte has arrived, is not complete within this time. Default
	// 20 s; negative: none.
	MessageTimeout time.Duration
	// WriteTimeout bounds each write on a stream connection; a peer that
	// does not read its answers within it is closed. Default 10 s;
	// negative: none.
	WriteTimeout time.Duration
	// MaxConns caps the stream connections a listener holds open,
	// handshakes in progress included. Default: a quarter of the process's
	// open-file limit (RLIMIT_NOFILE), at most 4096; negative: no cap.
	MaxConns int
	// MaxConnsPerSource caps the stream connections from one IP address.
	// Default: 512, but no more than half of MaxConns; negative: no cap.
	MaxConnsPerSource int
	// MaxMessageSize caps a SIP message, start line, headers and body
	// (on UDP: a datagram). Default 32 KiB; at most 65535, sipgo's own
	// limit.
	MaxMessageSize int
	// SourceRate is the requests per second each source IP address may
	// send over UDP on average, in bursts of up to SourceBurst. Default
	// 50/s, bursts of 200; a negative SourceRate: no per-source limit.
	SourceRate  float64
	SourceBurst int
	// MaxSources caps the UDP source addresses remembered for their rate;
	// idle ones are forgotten. Default 65,536.
	MaxSources int
	// Window and MaxPerWindow cap the UDP requests passed to the SIP stack
	// in any Window, so that the server transactions it keeps alive (for
	// Timer J, 64×T1 = 32 s, after the answer) stay bounded. Default
	// 16,384 per 32 s; a negative MaxPerWindow: no cap.
	Window       time.Duration
	MaxPerWindow int
	// KnownFor is how long a UDP source stays known after this socket sent
	// it a 2xx answer to a REGISTER. A quarter of MaxPerWindow is kept for
	// known sources, so that registered phones keep registering while
	// others flood the port. Default 10 min; negative: no reserve.
	KnownFor time.Duration
	// AcceptResponses passes SIP responses received over UDP to the SIP
	// stack. A registrar's listening socket expects none: by default they
	// are dropped.
	AcceptResponses bool
}

// The defaults of Limits' fields (MaxConns and MaxConnsPerSource also
// depend on the open-file limit); the package documentation says why each
// is what it is.
const (
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultMessageTimeout    = 20 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultMaxConns          = 4096
	DefaultMaxConnsPerSource = 512
	DefaultMaxMessageSize    = 32 << 10
	DefaultSourceRate        = 50
	DefaultSourceBurst       = 200
	DefaultMaxSources        = 1 << 16
	DefaultWindow            = 32 * time.Second
	DefaultMaxPerWindow      = 16384
	DefaultKnownFor          = 10 * time.Minute

	// sipgoMaxMessage is sipgo's ParseMaxMessageLength: a larger message
	// is refused by sipgo whatever the limits say.
	sipgoMaxMessage = 65535
)

// Effective returns l with every zero field set to its default and
// MaxMessageSize brought within 65535. MaxConns's default depends on the
// process's open-file limit at the time of the call.
func (l Limits) Effective() Limits {
	dur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	l.HandshakeTimeout = defaults.Positive(l.HandshakeTimeout, DefaultHandshakeTimeout) // a handshake is always bounded
	dur(&l.IdleTimeout, DefaultIdleTimeout)
	dur(&l.MessageTimeout, DefaultMessageTimeout)
	dur(&l.WriteTimeout, DefaultWriteTimeout)
	l.Window = defaults.Positive(l.Window, DefaultWindow)
	dur(&l.KnownFor, DefaultKnownFor)
	if l.MaxConns == 0 {
		l.MaxConns = DefaultMaxConns
		if n := openFileLimit(); n > 0 {
			l.MaxConns = max(1, min(DefaultMaxConns, n/4))
		}
	}
	if l.MaxConnsPerSource == 0 {
		l.MaxConnsPerSource = DefaultMaxConnsPerSource
		if l.MaxConns > 0 {
			l.MaxConnsPerSource = max(1, min(DefaultMaxConnsPerSource, l.MaxConns/2))
		}
	}
	l.MaxMessageSize = min(defaults.Positive(l.MaxMessageSize, DefaultMaxMessageSize), sipgoMaxMessage)
	if l.SourceRate == 0 {
		l.SourceRate = DefaultSourceRate
	}
	l.SourceBurst = defaults.Positive(l.SourceBurst, DefaultSourceBurst)
	l.MaxSources = defaults.Positive(l.MaxSources, DefaultMaxSources)
	if l.MaxPerWindow == 0 {
		l.MaxPerWindow = DefaultMaxPerWindow
	}
	return l
}

// Option adjusts a Listener or a PacketConn.
type Option interface{ apply(*options) }

type options struct {
	log *slog.Logger
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithLogger sets where the wrappers log: accept errors waited out and
// connections refused over a cap (warnings, at most one a few seconds per
// kind), UDP drops (a summary every ten seconds while they last), and each
// connection closed by a bound (debug). Without it they log nothing.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) { o.log = l })
}

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}
