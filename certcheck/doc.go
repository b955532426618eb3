// Package certcheck checks the certificates of a SIP OAuth deployment:
// the node's server ("Tomcat") certificate, presented on ports 5090 and
// 5091, and an edge proxy's (Expressway-C's) certificate, presented as the
// TLS client on port 5091. Check and CheckPEM return diag findings with
// stable codes (cert-expired, rsa-key-too-small, missing-client-auth-eku,
// name-mismatch, incomplete-chain, ...), each with the fix in Unified CM's
// or Expressway's terms. PeerNames and Names.MatchesHost are the RFC 6125
// name rules the checks and the edge-proxy table share.
//
// The package imports neither crypto/tls nor net/http, so that the
// browser inspector, built with GOOS=js GOARCH=wasm, can carry it. In
// builds for js, Parse is a small DER reader instead of
// x509.ParseCertificate, and the checks that need signature verification
// change: the chain to a trust store is not verified (a non-nil
// Options.Roots gives the info finding chain-not-checked), and a leaf is
// self-signed when its issuer name is its subject name and its authority
// key ID is absent or equal to its subject key ID. Without Roots (a
// browser has no trust store), both builds return the same findings for
// a certificate, unless it names itself as its issuer and carries key IDs
// that contradict its signature.
package certcheck
