// Package diag holds the finding type that every checker of the SDK
// returns: the configuration validator, the certificate checks, the token
// and log inspectors. The library, the command line and the browser page
// show the same findings, with the same stable codes.
//
// It also words the causes of troubleshooting scenario 1, the registrar's
// 403 "SIP OAuth Registration port Mismatch" (PortMismatchCauses), so that
// the client and the inspectors explain it in the same words.
package diag
