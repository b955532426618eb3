// Package diag holds the finding type that every checker of the SDK
// returns: the configuration validator, the certificate checks, the token
// and log inspectors. The library, the command line and the browser page
// show the same findings, with the same stable codes.
package diag
