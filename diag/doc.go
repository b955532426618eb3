// Package diag holds the finding type that every checker of the SDK
// returns: the configuration validator, the certificate checks, the token
// and log inspectors. The library, the command line and the browser page
// show the same findings, with the same stable codes.
//
// It also words the troubleshooting scenarios, so that every package
// explains them with the same codes, messages and fixes: the causes of
// scenario 1, the registrar's 403 "SIP OAuth Registration port Mismatch"
// (PortMismatchCauses), given by the client and the inspectors; the failed
// TLS handshakes of scenarios 2 and 3 (TLSUnknownCA, TLSAlert, ...), given
// by mtlstrust.Diagnose for an error and by the inspectors for its text;
// and the Warning texts of an edge proxy's 503 for them (EdgeWarningText),
// which the inspectors read back (EdgeWarning). It imports only the
// standard library.
package diag
