// Package keyforms writes one signing key and one cluster key in every
// form package keyfile reads, as test fixtures: the programs' tests run
// their own key readers over the same files, so that a file one program
// accepts, all of them accept. Standard library only.
package keyforms
