// Package layers states the module's package layers, the ones README's
// Architecture section draws, as data, so that a test can hold every
// import to them: a package imports only packages of lower layers (and
// internal helpers), and the packages that must work with any SIP stack,
// or without optional backends, do not link them.
package layers
