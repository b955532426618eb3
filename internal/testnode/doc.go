// Package testnode starts a Unified CM-like node on 127.0.0.1 for the
// tests of the soft-client programs: the registrar's OAuth port over TLS,
// the issuer's token endpoint over HTTPS with the node's certificate, and
// the configuration server of port 6970's role serving CSFrado.cnf.xml.
// StartFor starts one that takes the tokens of another authorization
// server instead, found from its issuer URL.
package testnode
