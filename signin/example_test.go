package signin_test

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/signin"
)

// A soft client resumes the session it saved at the last start: no user
// is needed while the refresh token is good.
func ExampleProvider_Resume() {
	ctx := context.Background()
	store := new(signin.MemoryStore) // a product keeps it in its keychain
	store.Save(ctx, &oauth2.Token{AccessToken: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", RefreshToken: "r-1",
		TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)})

	p, err := signin.New(ctx, signin.Config{
		Endpoints: signin.Endpoints{TokenURL: "https://login.example.com/oauth2/token"},
		ClientID:  "sip-softphone", Store: store,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := p.Resume(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := s.Token(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.AccessToken)
	// Output: eyJhbGciOiJSUzI1NiJ9.e30.c2ln
}

// A headless phone signs its user in with the device grant and registers
// with the session's tokens. (Not run: it needs an authorization server
// and a user.)
func ExampleProvider_DeviceLogin() {
	ctx := context.Background()
	p, err := signin.New(ctx, signin.Config{
		Issuer:   "https://login.example.com/realms/voice",
		ClientID: "sip-softphone",
		Scopes:   []string{"openid", "offline_access", "sip:register"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := p.DeviceLogin(ctx, func(dc signin.DeviceCode) error {
		fmt.Printf("Open %s and enter the code %s\n", dc.VerificationURI, dc.UserCode)
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.SignOut(ctx)
	c, err := client.New(client.Config{DeviceName: "CSFrado", ConfigURL: "http://10.10.10.1:6970/", Tokens: s})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Run(ctx)
}

// A desktop client signs its user in through the system browser.
// (Not run: it needs a browser and a user.)
func ExampleProvider_BrowserLogin() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := signin.New(ctx, signin.Config{
		Issuer:   "https://login.example.com/realms/voice",
		ClientID: "sip-softphone",
		Scopes:   []string{"openid", "offline_access", "sip:register"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := p.BrowserLogin(ctx, func(authURL string) error {
		// A product opens authURL in the system browser (xdg-open, open,
		// rundll32 url.dll,FileProtocolHandler).
		fmt.Println("Sign in at", authURL)
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = s // client.Config.Tokens
}
