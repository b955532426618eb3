// Package sipserve answers SIP requests over UDP, TCP and TLS without a
// transaction per request, as a registrar needs: a REGISTER is answered
// at once with a final response, so there is nothing for a server
// transaction to do but absorb retransmissions. The Server parses each
// message into sipgo's *sip.Request (as sipgo's parser would, with fewer
// allocations: package internal/sipmsg), hands it to a Handler, by the
// goroutine that read it or by a worker, and writes the answer on the
// socket or connection the request came on.
//
// Over UDP it keeps the answers it sent, within a bound on their memory
// and for Timer J at most (RFC 3261 §17.2.2): a retransmitted request
// gets the same bytes again without running the Handler, and one that
// arrives while its request is still being handled is dropped. That is
// what a sipgo server transaction does, without keeping a transaction,
// its timers and its goroutine for 32 s per request. When the bound is
// reached the oldest answers go first, as a stateless server (Kamailio's
// sl) keeps none at all, and a retransmission whose answer has gone is
// handled again: the registrar answers a retransmitted REGISTER from its
// bindings (registrar.Apply). Server.Keep lets a handler keep only the
// answers worth the room (SuccessfulRegister: the 2xx, which a registrar
// gives again at the cost of a handling).
//
// Workers are made as needed, up to Server.Workers, and the next job goes
// to the worker that finished last: at a low rate a few warm workers do
// all the work. A stream connection is read by a goroutine of its own
// with package sipstream's reader (bounded header section and body), its
// pings answered; a request that arrived alone is handled by that
// goroutine, with no hand-over, and requests that arrive together go to
// the workers, handled concurrently and answered as they finish. Put package siplimit's listener or packet
// connection in front for the limits on connections, sizes, idle time
// and UDP sources.
//
// Each stream connection is a Flow (Peer.Flow): the way back to its peer.
// Flow.Request sends a request on it and returns the answer the reader
// matches to it by its Via branch, so that a registrar reaches a client
// over the connection the client opened.
//
// Methods routes by method and answers the rest as RFC 3261 asks (405
// with Allow, 481 to a CANCEL, nothing to an ACK). The registrar's
// *Registrar is a Handler for REGISTER.
package sipserve
