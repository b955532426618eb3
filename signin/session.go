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
// renewal runs at a time, and the callers waiting for it share it.
type Session struct {
	p *Provider

	// sem is a one-slot lock on the token endpoint that a caller waiting
	// for it can abandon when its context ends.
	sem chan struct{}

	mu        sync.Mutex // guards the fields below, held briefly
	tok       *oauth2.Token
	renewAt   time.Time // zero: no expiry
	invalid   bool      // the registrar refused tok
	signedOut bool
	unsaved   bool // the Store failed to save tok
}

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
	s.tok, s.invalid = t, false
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

// save saves t in the Store. A failure is logged and the save tried again
// at the next call to Token: the token is good in memory, and the caller
// is not failed for it.
func (s *Session) save(ctx context.Context, t *oauth2.Token) {
	err := s.p.cfg.Store.Save(ctx, t)
	s.mu.Lock()
	s.unsaved = err != nil && s.tok == t
	s.mu.Unlock()
	if err != nil {
		s.p.cfg.Logger.Warn("signin: the store did not save the tokens; trying again at the next use", "err", err)
	}
}

// Token implements client.TokenSource: the access token, renewed first
// when it is due or the registrar refused it. It returns
// ErrSignInRequired when the renewal needs the user, and ErrSignedOut
// after SignOut.
func (s *Session) Token(ctx context.Context) (*client.Token, error) {
	if t, err := s.current(); t != nil || err != nil {
		return t, err
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	// Another caller may have renewed it while this one waited.
	if t, err := s.current(); t != nil || err != nil {
		return t, err
	}
	return s.renew(ctx)
}

// Refresh renews the access token now, whatever its expiry.
func (s *Session) Refresh(ctx context.Context) (*client.Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	return s.renew(ctx)
}

// Invalidate implements client.Invalidator: the registrar refused
// accessToken (error="invalid_token"), so the next call to Token renews it
// even though it has not expired.
func (s *Session) Invalidate(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == accessToken {
		s.invalid = true
	}
}

// OAuth2Token returns a copy of the session's tokens (with the ID token,
// when the server gave one, in its Extra("id_token")), or nil after
// SignOut.
func (s *Session) OAuth2Token() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signedOut || s.tok == nil {
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
// of a session that has ended; nil and nil otherwise.
func (s *Session) current() (*client.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.signedOut:
		return nil, ErrSignedOut
	case s.tok == nil || s.tok.AccessToken == "" || s.invalid || s.unsaved:
		return nil, nil
	case !s.renewAt.IsZero() && !s.p.cfg.Now().Before(s.renewAt):
		return nil, nil
	}
	return toClient(s.tok), nil
}

func toClient(t *oauth2.Token) *client.Token {
	return &client.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// renew gets a new access token with the refresh token; the caller holds
// sem. A token that only failed to be saved is saved again instead.
func (s *Session) renew(ctx context.Context) (*client.Token, error) {
	s.mu.Lock()
	if s.signedOut {
		s.mu.Unlock()
		return nil, ErrSignedOut
	}
	old := s.tok
	retrySave := s.unsaved && !s.invalid && (s.renewAt.IsZero() || s.p.cfg.Now().Before(s.renewAt))
	s.mu.Unlock()
	if retrySave {
		s.save(ctx, old)
		return toClient(old), nil
	}
	if old == nil || old.RefreshToken == "" {
		return nil, fmt.Errorf("%w: no refresh token", ErrSignInRequired)
	}
	ctx, cancel := context.WithTimeout(ctx, s.p.cfg.Timeout)
	defer cancel()
	received := s.p.cfg.Now()
	// A token without an access token makes golang.org/x/oauth2 use the
	// refresh grant at once.
	t, err := s.p.conf.TokenSource(s.p.ctx(ctx), &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	if err != nil {
		return nil, retrieveError("renewing the access token", err)
	}
	if err := check(t); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.signedOut {
		s.mu.Unlock()
		return nil, ErrSignedOut
	}
	s.setLocked(t, received)
	s.mu.Unlock()
	s.save(ctx, t)
	return toClient(t), nil
}

// SignOut ends the session: Token returns ErrSignedOut from now on, the
// Store forgets the tokens, and the server is asked to revoke them (RFC
// 7009): the refresh token first, which at most servers ends every token
// of the sign-in, then the access token. A server that cannot revoke an
// access token (a JWT, which stays valid until it expires) answers
// unsupported_token_type; that is not an error. When the server cannot be
// reached, SignOut returns the error and keeps the tokens the server has
// not revoked, so that calling it again tries again.
func (s *Session) SignOut(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	s.mu.Lock()
	s.signedOut = true
	t := s.tok
	s.mu.Unlock()
	var errs []error
	if err := s.p.cfg.Store.Delete(ctx); err != nil {
		errs = append(errs, fmt.Errorf("signin: deleting the saved session: %w", err))
	}
	if t == nil {
		return errors.Join(errs...)
	}
	if s.p.ep.RevocationURL == "" {
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
		if err := s.p.revoke(ctx, left.AccessToken, "access_token"); err != nil && !errors.Is(err, errNotRevocable) {
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
	return errors.Join(errs...)
}
