// Package logs routes the log lines of the programs' dependencies through
// the program's own slog logger, at a sensible level: the SIP stack's
// (sipgo's) through [SIPStack], which logs a connection closed by its peer
// at Debug rather than as an error, and go-redis's unstructured lines
// through [Redis], at Warn.
//
// It imports neither sipgo nor go-redis: [SIPStack] wraps a [slog.Handler]
// for sip.SetDefaultLogger, and [Redis] has the method go-redis's
// redis.SetLogger asks for.
package logs
