// Package chans reads the channels the module closes to signal that
// something has ended (a connection, a listener): whether one is closed,
// asked without waiting. Standard library only.
package chans
