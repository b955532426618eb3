package issuer

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzTokenEndpoint posts arbitrary bodies to the token and revocation
// endpoints: the form, client authentication, scope and refresh token
// readers never panic and answer only with the statuses they document.
func FuzzTokenEndpoint(f *testing.F) {
	iss, err := New(Config{
		SigningKeyPEM: sharedRSAPEM(f),
		Users:         map[string]string{"alice": "wonderland"},
		Clients:       map[string]string{"jabber": "s3cret"},
		Now:           fixedNow,
	})
	if err != nil {
		f.Fatal(err)
	}
	refresh, err := iss.MintRefresh("alice", "jabber")
	if err != nil {
		f.Fatal(err)
	}
	access, _ := iss.Mint(TokenRequest{User: "alice"})
	for _, seed := range []string{
		"grant_type=password&username=alice&password=wonderland&scope=sip:register&device=CSFALICE",
		"grant_type=client_credentials&client_id=jabber&client_secret=s3cret",
		"grant_type=refresh_token&client_id=jabber&client_secret=s3cret&refresh_token=" + refresh,
		"grant_type=refresh_token&client_id=jabber&client_secret=s3cret&refresh_token=" + access,
		"grant_type=password&username=alice&password=x&scope=a%20%20b",
		"grant_type=password&grant_type=password",
		"client_id=jabber&client_secret=s3cret&user=alice",
		"client_id=jabber&client_secret=s3cret&token=" + refresh,
		"client_id=jabber&client_secret=s3cret&token=x.y.z",
		"%zz=1",
		"",
	} {
		f.Add("/token", seed)
		f.Add("/revoke", seed)
	}
	h := iss.Handler()
	f.Fuzz(func(t *testing.T, path, body string) {
		if path != "/token" && path != "/revoke" {
			return
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("%s %q: status %d", path, body, rec.Code)
		}
	})
}
