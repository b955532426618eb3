package signin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/sipoauth/sdk/client"
)

// Store keeps a signed-in user's tokens, so that the next start resumes
// the session without the user (Provider.Resume). Implementations must be
// safe for concurrent use. The tokens are secrets: keep them where the
// operating system protects them (a keychain), not in a plain file.
type Store interface {
	// Load returns the tokens saved last, or nil and no error when there
	// are none.
	Load(ctx context.Context) (*oauth2.Token, error)
	// Save replaces the saved tokens. It is called after each sign-in and
	// each renewal: servers that rotate refresh tokens make the previous
	// refresh token useless.
	Save(ctx context.Context, t *oauth2.Token) error
	// Delete forgets the tokens; it is called by SignOut.
	Delete(ctx context.Context) error
}

// MemoryStore is a Store in memory: the session lasts as long as the
// process. Its zero value is ready to use.
type MemoryStore struct {
	mu  sync.Mutex
	tok *oauth2.Token
}

// Load implements Store.
func (m *MemoryStore) Load(context.Context) (*oauth2.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return nil, nil
	}
	t := *m.tok
	return &t, nil
}

// Save implements Store.
func (m *MemoryStore) Save(_ context.Context, t *oauth2.Token) error {
	c := *t
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tok = &c
	return nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tok = nil
	return nil
}

// Session is a signed-in user's tokens. It is a client.TokenSource: it
// returns the access token while it is valid and renews it with the
// refresh token when it is due (Config.EarlyExpiry before its expiry). It
// is a client.Invalidator: a token the registrar refused is never given
// again, the next call renews it. It is safe for concurrent use; one
// renewal runs at a time, and the callers waiting for it share its
// outcome, success or error.
//
// The ID token a server gives, in OAuth2Token().Extra("id_token"), is not
// validated by the package.
type Session struct {
	p *Provider

	// sem is a one-slot lock on the token endpoint that a caller waiting
	// for it can abandon when its context ends.
	sem chan struct{}

	mu        sync.Mutex // guards the fields below, held briefly
	tok       *oauth2.Token
	renewAt   time.Time // zero: no expiry
	invalid   bool      // the registrar refused tok's access token
	refused   string    // the access token the registrar refused last
	signedOut bool
	ended     error     // ErrSignInRequired: renewing needs the user
	unsaved   bool      // the Store failed to save tok
	saveAt    time.Time // when to try saving tok again
	saveFails int       // the Store's failures in a row
	gen       uint64    // renewals done
	last      result    // the outcome of the last renewal
}

// result is a renewal's outcome.
type result struct {
	tok *client.Token
	err error
}

// saveRetry is how long a Store that failed twice in a row is left alone
// before the session tries to save in it again.
const saveRetry = 30 * time.Second

func (p *Provider) newSession(t *oauth2.Token, received time.Time) *Session {
	s := &Session{p: p, sem: make(chan struct{}, 1)}
	s.setLocked(t, received)
	return s
}

// Resume returns the session the Store holds, without the user; an
// expired access token is renewed at the first call to Token. It returns
// ErrSignInRequired when the Store holds none.
func (p *Provider) Resume(ctx context.Context) (*Session, error) {
	t, err := p.cfg.Store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("signin: loading the session: %w", err)
	}
	if t == nil || (t.AccessToken == "" && t.RefreshToken == "") {
		return nil, fmt.Errorf("%w: no session saved", ErrSignInRequired)
	}
	return p.NewSession(t)
}

// NewSession returns a session of tokens the product already holds, such
// as a refresh token handed over by another application: an access token
// is obtained at the first call to Token when t has none. It is saved in
// the Store at the first renewal.
func (p *Provider) NewSession(t *oauth2.Token) (*Session, error) {
	if t == nil || (t.AccessToken == "" && t.RefreshToken == "") {
		return nil, fmt.Errorf("%w: no token", ErrSignInRequired)
	}
	c := *t
	s := &Session{p: p, sem: make(chan struct{}, 1)}
	s.setLocked(&c, time.Time{})
	return s, nil
}

// signedIn makes the session of a sign-in's tokens and saves it.
func (p *Provider) signedIn(ctx context.Context, t *oauth2.Token, received time.Time) (*Session, error) {
	if err := check(t); err != nil {
		return nil, err
	}
	s := p.newSession(t, received)
	s.save(ctx, t)
	return s, nil
}

// setLocked keeps t and computes when it is due for renewal. received is
// when the server sent it; zero when unknown (a saved token), in which
// case the early expiry is not shortened for short-lived tokens.
func (s *Session) setLocked(t *oauth2.Token, received time.Time) {
	if t.RefreshToken == "" && s.tok != nil {
		// A server may renew without sending a new refresh token: the
		// old one stays good (RFC 6749 §6).
		t.RefreshToken = s.tok.RefreshToken
	}
	s.tok, s.invalid, s.ended = t, false, nil
	if t.Expiry.IsZero() {
		s.renewAt = time.Time{}
		return
	}
	early := s.p.cfg.EarlyExpiry
	if life := t.Expiry.Sub(received); !received.IsZero() && life > 0 && early > life/2 {
		early = life / 2
	}
	s.renewAt = t.Expiry.Add(-early)
}

// save saves t in the Store. A failure is logged once for a run of
// failures, and the save of the session's token tried again at the next
// call to Token, then not more than once every saveRetry: the token is
// good in memory, and the caller is not failed for it.
func (s *Session) save(ctx context.Context, t *oauth2.Token) {
	err := s.p.cfg.Store.Save(ctx, t)
	s.mu.Lock()
	if s.tok == t {
		s.unsaved = err != nil
	}
	first := false
	if err == nil {
		s.saveFails = 0
	} else {
		s.saveFails++
		first = s.saveFails == 1
		s.saveAt = time.Time{}
		if !first {
			s.saveAt = s.p.cfg.Now().Add(saveRetry)
		}
	}
	s.mu.Unlock()
	if first {
		s.p.cfg.Logger.Warn("signin: the store did not save the tokens; trying again later", "err", err)
	}
}

// Token implements client.TokenSource: the access token, renewed first
// when it is due or the registrar refused it. When the renewal fails but
// the access token was not refused and has not expired yet, the failure
// is logged and the access token returned. It returns ErrSignInRequired
// when the renewal needs the user (and from then on without asking the
// server again), and ErrSignedOut after SignOut.
func (s *Session) Token(ctx context.Context) (*client.Token, error) {
	t, gen, err := s.current()
	if t != nil || err != nil {
		return t, err
	}
	return s.renewOnce(ctx, gen, false)
}

// Refresh renews the access token now, whatever its expiry.
func (s *Session) Refresh(ctx context.Context) (*client.Token, error) {
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()
	return s.renewOnce(ctx, gen, true)
}

// renewOnce renews the tokens, unless a renewal ended while the caller
// waited for its turn since it saw renewal gen: it returns that renewal's
// outcome then. The renewal goes on when ctx ends, bounded by
// Config.Timeout, so that the tokens the server sent are kept; only the
// caller stops waiting for it.
func (s *Session) renewOnce(ctx context.Context, gen uint64, force bool) (*client.Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gen != gen {
		r := s.last
		s.mu.Unlock()
		s.unlock()
		return r.tok, r.err
	}
	s.mu.Unlock()
	if !force {
		if t, _, err := s.current(); t != nil || err != nil {
			s.unlock()
			return t, err
		}
	}
	done := make(chan result, 1)
	rctx := context.WithoutCancel(ctx)
	go func() {
		defer s.unlock()
		t, err := s.renew(rctx, force)
		s.mu.Lock()
		s.gen++
		s.last = result{t, err}
		s.mu.Unlock()
		done <- result{t, err}
	}()
	select {
	case r := <-done:
		return r.tok, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Invalidate implements client.Invalidator: the registrar refused
// accessToken (error="invalid_token"), so the next call to Token renews it
// even though it has not expired, and a renewal that gives it again
// fails. The Store is given the tokens without it, unless a renewal is
// running (which saves its own); Config.Timeout bounds the save.
func (s *Session) Invalidate(accessToken string) {
	s.mu.Lock()
	if accessToken == "" || s.tok == nil || s.tok.AccessToken != accessToken {
		s.mu.Unlock()
		return
	}
	s.invalid, s.refused = true, accessToken
	s.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
	default:
		return
	}
	defer s.unlock()
	s.mu.Lock()
	if s.signedOut || s.tok == nil || s.tok.AccessToken != accessToken {
		s.mu.Unlock()
		return
	}
	t := *s.tok
	s.mu.Unlock()
	t.AccessToken = ""
	ctx, cancel := context.WithTimeout(context.Background(), s.p.cfg.Timeout)
	defer cancel()
	s.save(ctx, &t)
}

// OAuth2Token returns a copy of the session's tokens (with the ID token,
// when the server gave one, in its Extra("id_token"), not validated), or
// nil when there are none. After a SignOut that failed, it returns the
// tokens the server has not revoked; nil after one that succeeded.
func (s *Session) OAuth2Token() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil
	}
	t := *s.tok
	return &t
}

func (s *Session) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Session) unlock() { <-s.sem }

// current returns the access token if it needs no renewal, or the error
// of a session that has ended; nil and nil otherwise. gen is the number
// of renewals done.
func (s *Session) current() (t *client.Token, gen uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.p.cfg.Now()
	switch {
	case s.signedOut:
		return nil, s.gen, ErrSignedOut
	case s.ended != nil:
		if s.usableLocked(now) {
			return toClient(s.tok), s.gen, nil
		}
		return nil, s.gen, s.ended
	case s.tok == nil || s.tok.AccessToken == "" || s.invalid:
		return nil, s.gen, nil
	case s.unsaved && !now.Before(s.saveAt):
		return nil, s.gen, nil
	case !s.renewAt.IsZero() && !now.Before(s.renewAt):
		return nil, s.gen, nil
	}
	return toClient(s.tok), s.gen, nil
}

// usableLocked tells whether the access token was not refused and has not
// expired.
func (s *Session) usableLocked(now time.Time) bool {
	return s.tok != nil && s.tok.AccessToken != "" && !s.invalid && (s.tok.Expiry.IsZero() || now.Before(s.tok.Expiry))
}

func toClient(t *oauth2.Token) *client.Token {
	return &client.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// renew gets a new access token with the refresh token; the caller holds
// sem, and ctx has no cancellation of the caller's. A token that only
// failed to be saved is saved again instead.
func (s *Session) renew(ctx context.Context, force bool) (*client.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, s.p.cfg.Timeout)
	defer cancel()
	s.mu.Lock()
	if s.signedOut {
		s.mu.Unlock()
		return nil, ErrSignedOut
	}
	if s.ended != nil {
		s.mu.Unlock()
		return nil, s.ended
	}
	old := s.tok
	received := s.p.cfg.Now()
	retrySave := s.unsaved && s.usableLocked(received) && (s.renewAt.IsZero() || received.Before(s.renewAt))
	s.mu.Unlock()
	if retrySave {
		s.save(ctx, old)
		return toClient(old), nil
	}
	if old == nil || old.RefreshToken == "" {
		return s.failed(fmt.Errorf("%w: no refresh token", ErrSignInRequired), force)
	}
	// A token without an access token makes golang.org/x/oauth2 use the
	// refresh grant at once.
	t, err := s.p.conf.TokenSource(s.p.ctx(ctx), &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	if err != nil {
		return s.failed(retrieveError("renewing the access token", err), force)
	}
	s.mu.Lock()
	bad := check(t)
	if bad == nil && t.AccessToken == s.refused {
		bad = fmt.Errorf("%w: the server gave again the access token the registrar refused", ErrBadToken)
	}
	if bad != nil {
		// Keep the refresh token the server sent: it may have spent the
		// previous one. The access token stays the previous one.
		kept := *s.tok
		if t.RefreshToken != "" {
			kept.RefreshToken = t.RefreshToken
		}
		s.tok = &kept
		saved := kept
		if !s.usableLocked(received) {
			saved.AccessToken = ""
		}
		s.mu.Unlock()
		s.save(ctx, &saved)
		return s.failed(bad, force)
	}
	s.setLocked(t, received)
	signedOut := s.signedOut
	s.mu.Unlock()
	s.save(ctx, t)
	if signedOut {
		// SignOut revokes the new tokens.
		return nil, ErrSignedOut
	}
	return toClient(t), nil
}

// failed returns a renewal's err, or, for Token (not forced), the access
// token when it is still good, err being logged. ErrSignInRequired is
// kept, for the next calls.
func (s *Session) failed(err error, force bool) (*client.Token, error) {
	s.mu.Lock()
	if errors.Is(err, ErrSignInRequired) {
		s.ended = err
	}
	if s.signedOut {
		s.mu.Unlock()
		return nil, ErrSignedOut
	}
	if force || !s.usableLocked(s.p.cfg.Now()) {
		s.mu.Unlock()
		return nil, err
	}
	t := toClient(s.tok)
	s.mu.Unlock()
	s.p.cfg.Logger.Warn("signin: renewing the access token failed; using it until it expires", "expiry", t.Expiry, "err", err)
	return t, nil
}

// SignOut ends the session: Token returns ErrSignedOut from now on, even
// when a renewal is running, and the server is asked to revoke the tokens
// (RFC 7009): the refresh token first, which at most servers ends every
// token of the sign-in, then the access token. A server that cannot
// revoke an access token (a JWT, which stays valid until it expires)
// answers unsupported_token_type; that is not an error. The Store forgets
// the tokens once they are revoked. When the server cannot be reached, or
// cannot revoke the refresh token (ErrNotRevocable), SignOut returns the
// error and keeps the tokens the server has not revoked, in the Store and
// in OAuth2Token, so that calling it again, or after a restart, tries
// again. Without a revocation endpoint, it returns ErrUnsupported and the
// Store forgets the tokens, which stay valid until they expire.
func (s *Session) SignOut(ctx context.Context) error {
	s.mu.Lock()
	s.signedOut = true
	s.mu.Unlock()
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	s.mu.Lock()
	t := s.tok
	s.mu.Unlock()
	var errs []error
	forget := func() {
		if err := s.p.cfg.Store.Delete(ctx); err != nil {
			errs = append(errs, fmt.Errorf("signin: deleting the saved session: %w", err))
		}
	}
	if t == nil {
		forget()
		return errors.Join(errs...)
	}
	if s.p.ep.RevocationURL == "" {
		forget()
		errs = append(errs, fmt.Errorf("%w: no revocation endpoint; the tokens stay valid until they expire", ErrUnsupported))
		return errors.Join(errs...)
	}
	left := *t
	if left.RefreshToken != "" {
		if err := s.p.revoke(ctx, left.RefreshToken, "refresh_token"); err != nil {
			errs = append(errs, err)
		} else {
			left.RefreshToken = ""
		}
	}
	if left.AccessToken != "" {
		if err := s.p.revoke(ctx, left.AccessToken, "access_token"); err != nil && !errors.Is(err, ErrNotRevocable) {
			errs = append(errs, err)
		} else {
			left.AccessToken = ""
		}
	}
	s.mu.Lock()
	if left.AccessToken == "" && left.RefreshToken == "" {
		s.tok = nil
	} else {
		s.tok = &left
	}
	s.mu.Unlock()
	if left.AccessToken == "" && left.RefreshToken == "" {
		forget()
	} else if err := s.p.cfg.Store.Save(ctx, &left); err != nil {
		errs = append(errs, fmt.Errorf("signin: saving the tokens left: %w", err))
	}
	return errors.Join(errs...)
}
