// Package testca mints certificate authorities and certificates in memory
// for tests: a CA, intermediates, and leaves for the node (serverAuth)
// and the edge proxy (clientAuth), with the faults certificate checks
// must find available as options.
package testca
