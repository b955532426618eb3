// Package certcheck checks the certificates of a SIP OAuth deployment:
// the node's server ("Tomcat") certificate, presented on ports 5090 and
// 5091, and an edge proxy's (Expressway-C's) certificate, presented as the
// TLS client on port 5091. CheckCert, CheckPEMCerts and CheckCerts (PEM
// or DER, ParseCerts) return diag
// findings with stable codes (cert-expired, rsa-key-too-small,
// missing-client-auth-eku, name-mismatch, incomplete-chain, ...), each with
// the fix in Unified CM's or Expressway's terms. Cert.PeerNames (and
// PeerNames) and Names.MatchesHost are the RFC 6125 name rules the checks
// and the edge-proxy table share.
//
// The checks run on Cert, a description of a certificate with the fields
// they read. Outside builds for js, NewCert makes one from an
// *x509.Certificate, and Check, CheckPEM, ParsePEM, Parse, PeerNames and
// PublicKeyInfo take or return *x509.Certificate.
//
// The package imports neither crypto/tls nor net/http and, in builds for
// js, not crypto/x509 either, so that the browser inspector, built with
// GOOS=js GOARCH=wasm, carries it without crypto/x509 and the key and
// signature code its initialization keeps alive. Builds for js have only
// the Cert API: ParseCert is a small DER reader instead of
// x509.ParseCertificate, Options has no Roots, so chains are not
// verified, and a leaf is self-signed when its issuer name is its subject
// name and its authority key ID is absent or equal to its subject key ID.
// Without Roots (a browser has no trust store), both builds return the
// same findings for a certificate, unless it names itself as its issuer
// and carries key IDs that contradict its signature.
package certcheck
