//go:build js

package certcheck

import "time"

// Options say what a certificate is checked against. Builds for js have
// no trust store, and no Roots or Intermediates: they do not verify
// chains.
type Options struct {
	// Role selects the extended key usage required and the wording of the
	// fixes.
	Role Role
	// Host is the name (DNS or IP) the certificate must match, by the rules
	// of Cert.PeerNames and Names.MatchesHost; not checked when empty.
	Host string
	// Now is the time validity is checked at; time.Now() when zero.
	Now time.Time
	// ExpiryWarning is how long before NotAfter cert-expiring is reported:
	// DefaultExpiryWarning when zero, never when negative.
	ExpiryWarning time.Duration
	// CommonName says when the subject CN counts as a name for Host.
	CommonName CommonNamePolicy
}

// parseCertDER leaves crypto/x509 out of builds for js: with the key and
// signature code its initialization keeps alive, it would add more than
// a megabyte to the browser's binary.
func parseCertDER(der []byte) (*Cert, error) { return parseLite(der) }

// withIntermediates has nothing to do in builds for js, which do not
// verify chains.
func withIntermediates(opts Options, _ []*Cert) Options { return opts }

// ownSignature never verifies in builds for js: signature verification
// is left out to keep the browser's binary small, and isSelfSigned
// compares key IDs instead.
func ownSignature(*Cert) (ok, verified bool) { return false, false }

// chain does nothing in builds for js, which have no trust store.
func (c *checker) chain() {}
