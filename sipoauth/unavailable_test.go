package sipoauth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// flakyRevocation is a Revocation whose store can be down.
type flakyRevocation struct{ down atomic.Pointer[error] }

func (r *flakyRevocation) Revoked(context.Context, string, string, time.Time) (bool, error) {
	if err := r.down.Load(); err != nil {
		return false, *err
	}
	return false, nil
}

// flakyKeys is a KeySource over StaticKeys whose server can be down, or
// slow: then it waits for the context.
type flakyKeys struct {
	keys *StaticKeys
	down atomic.Pointer[error]
	slow atomic.Bool
}

func (k *flakyKeys) VerificationKey(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	if k.slow.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if err := k.down.Load(); err != nil {
		return nil, *err
	}
	return k.keys.VerificationKey(ctx, kid, alg)
}

// TestUnavailable: a token that cannot be checked because a service is
// down is not refused as a bad token: the error is ErrUnavailable with the
// cause, ErrorCode has no challenge for it, and it is not remembered.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	testKeys(t)
	connRefused := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	secret := []byte("a-lab-secret-of-32-bytes-or-more!")
	cases := []struct {
		name  string
		warm  bool // validated once before the outage, so in the cache
		token string
		// down breaks the service and returns the context to validate
		// with; up repairs it.
		down  func(t *testing.T, k *flakyKeys, r *flakyRevocation, owner *atomic.Pointer[error]) context.Context
		up    func(k *flakyKeys, r *flakyRevocation, owner *atomic.Pointer[error])
		cause error
	}{
		{
			name: "revocation store down", token: rs256(t, claims()),
			down: func(_ *testing.T, _ *flakyKeys, r *flakyRevocation, _ *atomic.Pointer[error]) context.Context {
				r.down.Store(&connRefused)
				return context.Background()
			},
			up:    func(_ *flakyKeys, r *flakyRevocation, _ *atomic.Pointer[error]) { r.down.Store(nil) },
			cause: connRefused,
		},
		{
			name: "revocation store down, token in the cache", warm: true, token: rs256(t, claims()),
			down: func(_ *testing.T, _ *flakyKeys, r *flakyRevocation, _ *atomic.Pointer[error]) context.Context {
				r.down.Store(&connRefused)
				return context.Background()
			},
			up:    func(_ *flakyKeys, r *flakyRevocation, _ *atomic.Pointer[error]) { r.down.Store(nil) },
			cause: connRefused,
		},
		{
			name: "key server down", token: rs256(t, claims()),
			down: func(_ *testing.T, k *flakyKeys, _ *flakyRevocation, _ *atomic.Pointer[error]) context.Context {
				k.down.Store(&connRefused)
				return context.Background()
			},
			up:    func(k *flakyKeys, _ *flakyRevocation, _ *atomic.Pointer[error]) { k.down.Store(nil) },
			cause: connRefused,
		},
		{
			// A source that cannot say whether its keys changed is asked on
			// every cache hit too.
			name: "key server down, token in the cache", warm: true, token: rs256(t, claims()),
			down: func(_ *testing.T, k *flakyKeys, _ *flakyRevocation, _ *atomic.Pointer[error]) context.Context {
				k.down.Store(&connRefused)
				return context.Background()
			},
			up:    func(k *flakyKeys, _ *flakyRevocation, _ *atomic.Pointer[error]) { k.down.Store(nil) },
			cause: connRefused,
		},
		{
			name: "key server down, HMAC token", token: sign(t, jwt.SigningMethodHS256, secret, map[string]any{"kid": "lab"}, claims()),
			down: func(_ *testing.T, k *flakyKeys, _ *flakyRevocation, _ *atomic.Pointer[error]) context.Context {
				k.down.Store(&connRefused)
				return context.Background()
			},
			up:    func(k *flakyKeys, _ *flakyRevocation, _ *atomic.Pointer[error]) { k.down.Store(nil) },
			cause: connRefused,
		},
		{
			name: "key server slower than the context", token: rs256(t, claims()),
			down: func(t *testing.T, k *flakyKeys, _ *flakyRevocation, _ *atomic.Pointer[error]) context.Context {
				k.slow.Store(true)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			up:    func(k *flakyKeys, _ *flakyRevocation, _ *atomic.Pointer[error]) { k.slow.Store(false) },
			cause: context.DeadlineExceeded,
		},
		{
			name: "device owner store down", token: rs256(t, claims()),
			down: func(_ *testing.T, _ *flakyKeys, _ *flakyRevocation, owner *atomic.Pointer[error]) context.Context {
				err := fmt.Errorf("%w: devices: %w", ErrUnavailable, connRefused)
				owner.Store(&err)
				return context.Background()
			},
			up:    func(_ *flakyKeys, _ *flakyRevocation, owner *atomic.Pointer[error]) { owner.Store(nil) },
			cause: connRefused,
		},
		{
			name: "device owner lookup canceled", token: rs256(t, claims()),
			down: func(_ *testing.T, _ *flakyKeys, _ *flakyRevocation, owner *atomic.Pointer[error]) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				err := context.Canceled
				owner.Store(&err)
				return ctx
			},
			up:    func(_ *flakyKeys, _ *flakyRevocation, owner *atomic.Pointer[error]) { owner.Store(nil) },
			cause: context.Canceled,
		},
	}
	for _, tc := range cases {
		// In a bubble, the slow key server's timeout passes at once.
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				static, _ := NewStaticKeys(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey})
				keys := &flakyKeys{keys: static}
				rev := &flakyRevocation{}
				var owner atomic.Pointer[error]
				hmac, _ := NewSymmetricKeys(map[string][]byte{"lab": secret})
				v := newValidator(t, func(c *Config) {
					c.Keys, c.HMAC, c.Revocation, c.CacheSize = keys, hmac, rev, 64
					c.Binding = &Binding{DeviceOwner: func(context.Context, string) (string, error) {
						if err := owner.Load(); err != nil {
							return "", *err
						}
						return "rado", nil
					}}
				})
				req := Request{Device: "CSFrado", FromUser: "rado"}
				if tc.warm {
					if _, err := v.ValidateRequest(context.Background(), tc.token, req); err != nil {
						t.Fatalf("before the outage: %v", err)
					}
				}
				ctx := tc.down(t, keys, rev, &owner)
				_, err := v.ValidateRequest(ctx, tc.token, req)
				if !errors.Is(err, ErrUnavailable) || !errors.Is(err, tc.cause) {
					t.Fatalf("error %v, want ErrUnavailable and %v", err, tc.cause)
				}
				if !strings.Contains(err.Error(), tc.cause.Error()) {
					t.Fatalf("error %q does not say %q", err, tc.cause)
				}
				for _, reason := range tokenErrors {
					if errors.Is(err, reason) {
						t.Fatalf("error %v is also %v", err, reason)
					}
				}
				if code := ErrorCode(err); code != "" {
					t.Fatalf("ErrorCode = %q, want none", code)
				}
				// Nothing of the outage is remembered: once the service is
				// back, the token passes at once.
				tc.up(keys, rev, &owner)
				if _, err := v.ValidateRequest(context.Background(), tc.token, req); err != nil {
					t.Fatalf("after the outage: %v", err)
				}
			})
		})
	}
}

// TestUnavailableAndRefused: a key source's own refusals stay refusals.
func TestUnavailableAndRefused(t *testing.T) {
	t.Parallel()
	testKeys(t)
	static, _ := NewStaticKeys(map[string]crypto.PublicKey{"k1": &rsaKey.PublicKey})
	v := newValidator(t, func(c *Config) { c.Keys = &flakyKeys{keys: static} })
	for _, tc := range []struct {
		name  string
		token string
		err   error
	}{
		{"unknown kid", sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "nope"}, claims()), ErrUnknownKey},
		{"key of another type", sign(t, jwt.SigningMethodES256, ecKey256, map[string]any{"kid": "k1"}, claims()), ErrAlgorithm},
	} {
		if _, err := v.Validate(context.Background(), tc.token); !errors.Is(err, tc.err) || errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}
