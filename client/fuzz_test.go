package client_test

import (
	"os"
	"testing"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/client"
)

// FuzzParseTokenResponse: any answer gives a usable token or an error,
// never a panic, and a token that is returned can be sent in a header.
func FuzzParseTokenResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}`))
	f.Add(200, "application/json;charset=UTF-8", []byte(`{"access_token":"abc","expires_in":"60"}`))
	f.Add(400, "application/json", []byte(`{"error":"invalid_grant","error_description":"expired"}`))
	f.Add(200, "", []byte(`{"access_token":"a b"}`))
	f.Add(200, "text/html", []byte(`<html>`))
	f.Add(200, "application/json", []byte(`{"access_token":"abc","expires_in":1e400}`))
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		r, err := client.ParseTokenResponse(status, ctype, body)
		if err != nil {
			if r != nil {
				t.Fatal("response with an error")
			}
			return
		}
		if status != 200 || r.AccessToken == "" || r.ExpiresIn < 0 {
			t.Fatalf("accepted %+v for status %d", r, status)
		}
		if err := (bearer.Credentials{Token: r.AccessToken}).Validate(); err != nil {
			t.Fatalf("token %q cannot be sent: %v", r.AccessToken, err)
		}
		if tk := r.Token(time.Unix(0, 0)); r.ExpiresIn > 0 && !tk.Expiry.After(time.Unix(0, 0)) {
			t.Fatalf("expiry %v", tk.Expiry)
		}
	})
}

// FuzzParseStackTimers: no panic, values in range.
func FuzzParseStackTimers(f *testing.F) {
	if b, err := os.ReadFile("../cnfxml/testdata/CSFrado.cnf.xml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`<device><sipProfile><sipStack><timerRegisterDelta>5</timerRegisterDelta></sipStack></sipProfile></device>`))
	f.Add([]byte(`<device><sipProfile><sipStack><timerRegisterDelta>5`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tm := client.ParseStackTimers(b)
		if tm.RegisterDelta < 0 || tm.RegisterDelta > 86400 || tm.RegisterExpires < 0 || tm.RegisterExpires > 86400 {
			t.Fatalf("timers %+v", tm)
		}
	})
}
