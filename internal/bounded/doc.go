// Package bounded reads files and streams whose size is not to be
// trusted (a devices list, a trust store, a key file, an edge-proxy table,
// a served configuration file) up to a bound, and no further: one byte
// past the bound is read to tell a file of exactly the bound from a larger
// one, rather than trusting Stat, which says nothing useful for pipes and
// special files. Standard library only.
package bounded
