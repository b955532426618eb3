//go:build !js

package certcheck

import (
	"bytes"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/sipoauth/sdk/internal/testca"
)

// TestParsePEMTrust: a trust store's bundle may hold more certificates
// than a pasted chain; every other rule of ParsePEM holds.
func TestParsePEMTrust(t *testing.T) {
	ca := testca.New(t, "Bundle CA")
	var bundle bytes.Buffer
	for range MaxPEMCertificates + 6 {
		pem.Encode(&bundle, &pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	}
	certs, err := ParsePEMTrust(bundle.Bytes())
	if err != nil || len(certs) != MaxPEMCertificates+6 {
		t.Fatalf("ParsePEMTrust: %d certificates, %v", len(certs), err)
	}
	if _, err := ParsePEM(bundle.Bytes()); !errors.Is(err, ErrTooManyCertificates) {
		t.Fatalf("ParsePEM of the same bundle: %v", err)
	}
	bundle.WriteString("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	var pe *PEMError
	if _, err := ParsePEMTrust(bundle.Bytes()); !errors.As(err, &pe) || pe.Err != ErrNotCertificate || pe.Block != MaxPEMCertificates+7 {
		t.Fatalf("a key in the bundle: %v", err)
	}
	if _, err := ParsePEMTrust([]byte("no PEM here")); !errors.Is(err, ErrNoPEM) {
		t.Fatalf("no block: %v", err)
	}
}
