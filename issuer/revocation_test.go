package issuer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// Without a Revocation of the caller's, the issuer keeps its own, and a
// revocation of a user reaches that user's refresh tokens whatever the
// case of the name, as a validator's would.
func TestDefaultRevocations(t *testing.T) {
	iss := mustNew(t, Config{SigningKeyPEM: sharedRSAPEM(t), Users: map[string]string{"Alice": "wonderland"}, Clients: map[string]string{"jabber": "s3cret"}})
	h := &testServer{iss: iss, srv: httptest.NewServer(iss.Handler()), client: &http.Client{Timeout: 5 * time.Second}}
	t.Cleanup(h.srv.Close)
	_, refresh := h.password(t, "Alice", "wonderland", "jabber", "s3cret")
	if r := h.post(t, "/revoke", url.Values{"user": {"ALICE"}}, "jabber", "s3cret"); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	r := h.post(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, "jabber", "s3cret")
	if r.status != 400 || r.json["error"] != "invalid_grant" {
		t.Fatalf("refresh after the user's revocation: %d %s", r.status, r.body)
	}
}

func TestMemoryRevocations(t *testing.T) {
	ctx := context.Background()
	var m memoryRevocations
	if revoked, err := m.Revoked(ctx, "t1", "bob", t0); revoked || err != nil {
		t.Fatalf("empty store: %v, %v", revoked, err)
	}
	m.RevokeToken("t1", time.Time{})
	m.RevokeUser("BOB", t0)
	m.RevokeUser("bob", t0.Add(-time.Hour)) // earlier: changes nothing
	for _, tc := range []struct {
		id, user string
		iat      time.Time
		want     bool
	}{
		{"t1", "carol", t0, true},
		{"t2", "bob", t0.Add(-time.Second), true},
		{"t2", "Bob", t0.Add(-time.Second), true},
		{"t2", "bob", t0, false},
		{"t2", "bob", time.Time{}, true},
		{"t2", "bobby", t0.Add(-time.Second), false},
		{"", "carol", time.Time{}, false},
	} {
		if got, _ := m.Revoked(ctx, tc.id, tc.user, tc.iat); got != tc.want {
			t.Errorf("Revoked(%q, %q, %v) = %v, want %v", tc.id, tc.user, tc.iat, got, tc.want)
		}
	}
}
