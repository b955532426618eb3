// Package deadline gives a request a context with a deadline whose timer
// is made only when something waits on it. context.WithTimeout starts a
// timer for every request and stops it after, which was a twentieth of a
// registrar's CPU at load; most REGISTERs never wait on their context (a
// memory store, a token already validated), and they now cost a clock
// read instead.
package deadline
