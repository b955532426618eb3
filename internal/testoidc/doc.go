// Package testoidc runs oidc-provider, the certified OpenID Connect
// provider for Node.js (npm package oidc-provider), on a loopback port for
// a test, so that the SDK is proven against an authorization server it
// did not write. The package is looked for in the directory that
// SIPOAUTH_OIDC_PROVIDER_DIR names (npm install --prefix DIR
// oidc-provider@9, as .ci/run does); a test that needs it is skipped when
// it or node is missing, and fails instead when SIPOAUTH_INTEGRATION=1.
package testoidc
