// Package signin signs a soft client's user in at an OAuth 2.0 or OpenID
// Connect authorization server (Keycloak, Entra ID, Okta, Ory Hydra,
// oidc-provider, ...) and keeps the access token a registrar needs fresh.
// It is built on golang.org/x/oauth2.
//
// New finds the server's endpoints from its issuer URL (OpenID Connect
// Discovery or RFC 8414). A user then signs in in one of two ways:
//
//   - BrowserLogin: the authorization code grant with PKCE and a loopback
//     redirect URI (RFC 8252), through the system browser, as desktop soft
//     clients such as Jabber do;
//   - DeviceLogin: the device authorization grant (RFC 8628), for phones
//     and programs without a browser: the user opens a URL on another
//     device and types a code.
//
// Either gives a Session. A Session is a client.TokenSource and a
// client.Invalidator: give it to client.Config.Tokens. It renews the access
// token with the refresh token before it expires. When a registrar refuses
// a token with error="invalid_token", it renews the token at once. SignOut
// revokes the tokens (RFC 7009) and forgets them once they are revoked.
//
// Tokens are kept in memory only, unless the product gives a Store (its
// operating system's keychain, for instance). Resume then picks a session
// up again at the next start, without the user.
package signin
